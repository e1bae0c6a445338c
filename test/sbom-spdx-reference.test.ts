// strata's SPDX 2.3 documents checked by the SPDX project's own reference validator
// (spdx/tools-python; see test/support/spdx-reference-validator.ts for why and how it is
// fetched): the hermetic fixture image's document, with its DEP-5 licences and LicenseRefs,
// and the document of every example built from its committed lockfile against the real
// archive. Every field name must survive the tool's parse-and-write round trip (its parser
// skips names it does not know). Broken copies of a document are refused with the
// validator's reason, so a pass means something.
//
// Needs the host's Debian mirror (like the example tests), dpkg-deb and Debian's python3 with
// the modules listed in PYTHON_DEPENDENCIES. Without them the test is skipped, except under
// CI=true, where it fails so that a missing install step cannot hide.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { EXAMPLES_DIR, testCacheDir } from './helpers/examples.js';
import { buildFixtureImage, type FixtureImage } from './helpers/fixture-image.js';
import { tempDir } from './helpers/temp.js';
import { missingValidatorDependencies, obtainSpdxValidator, validateSpdx } from './support/spdx-reference-validator.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const missing = missingValidatorDependencies();
const skip = missing.length > 0 && process.env.CI !== 'true' ? `needs ${missing.join(' ')} (apt-get install -y ${missing.join(' ')})` : false;

describe('SPDX 2.3 documents pass the SPDX reference validator', { skip, timeout: 15 * 60_000 }, () => {
  const cleanups: Array<() => unknown> = [];
  const suite = { after: (fn: () => unknown) => cleanups.push(fn) };
  let pythonPath: string;
  let work: string;
  let image: FixtureImage;

  before(async () => {
    assert.deepEqual(missing, [], `missing: apt-get install -y ${missing.join(' ')}`);
    pythonPath = await obtainSpdxValidator(testCacheDir());
    work = await tempDir(suite, 'strata-spdx-');
    image = await buildFixtureImage(work);
    cleanups.push(() => image.server.close());
    const r = await runCli(['build', image.spec, '-o', image.layout, '--cache-dir', image.cacheDir, '--sbom']);
    assert.equal(r.code, 0, r.stderr);
  });

  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  test('the fixture image: valid, DEP-5 licences and LicenseRefs included', async () => {
    const file = join(work, 'fixapp.spdx.json');
    const doc = JSON.parse(await readFile(file, 'utf8')) as Doc;
    assert.ok(doc.packages.some((p: Doc) => /LicenseRef-/.test(p.licenseDeclared)), 'the document exercises LicenseRefs');
    const verdict = await validateSpdx(pythonPath, file);
    assert.deepEqual(verdict.messages, []);
    assert.deepEqual(verdict.unknownFields, [], 'every field name is one the SPDX 2.3 model knows');
  });

  test('a misspelt field name, which the parser skips, is caught by the round trip', async () => {
    const doc = JSON.parse(await readFile(join(work, 'fixapp.spdx.json'), 'utf8')) as Doc;
    doc.packages[1].licenceDeclared = doc.packages[1].licenseDeclared;
    const file = join(work, 'misspelt.spdx.json');
    await writeFile(file, JSON.stringify(doc));
    const verdict = await validateSpdx(pythonPath, file);
    assert.deepEqual(verdict.unknownFields, ['.packages[].licenceDeclared']);
  });

  const broken: Array<{ what: string; change: (d: Doc) => void; expect: RegExp }> = [
    { what: 'an identifier with a space', change: (d) => (d.packages[1].SPDXID = 'SPDXRef-has space'), expect: /spdx_id must only contain/ },
    {
      what: 'a relationship to an element that is not there',
      change: (d) => d.relationships.push({ spdxElementId: 'SPDXRef-Missing', relationshipType: 'DEPENDS_ON', relatedSpdxElement: 'SPDXRef-DOCUMENT' }),
      expect: /did not find the referenced spdx_id "SPDXRef-Missing"/,
    },
    { what: 'a LicenseRef that is not declared', change: (d) => (d.packages[1].licenseDeclared = 'LicenseRef-Undeclared'), expect: /LicenseRef-Undeclared/ },
    { what: 'a checksum that is not hex', change: (d) => (d.packages[1].checksums[0].checksumValue = 'xyz'), expect: /checksum|value/i },
    { what: 'an unknown relationship type', change: (d) => (d.relationships[0].relationshipType = 'LIVES_WITH'), expect: /parse: .*LIVES_WITH|relationship/i },
  ];
  for (const b of broken) {
    test(`a document with ${b.what} is refused`, async () => {
      const doc = JSON.parse(await readFile(join(work, 'fixapp.spdx.json'), 'utf8')) as Doc;
      b.change(doc);
      const file = join(work, `broken-${broken.indexOf(b)}.spdx.json`);
      await writeFile(file, JSON.stringify(doc));
      const verdict = await validateSpdx(pythonPath, file);
      assert.equal(verdict.valid, false, `${b.what} was accepted`);
      assert.ok(verdict.messages.some((m) => b.expect.test(m)), verdict.messages.join('\n'));
    });
  }

  test('every example, built from its lockfile against the real archive: valid', async () => {
    const specs = (await readdir(EXAMPLES_DIR)).filter((f) => f.endsWith('.yaml')).sort();
    assert.ok(specs.length >= 5, specs.join(' '));
    const checked: string[] = [];
    const dir = join(work, 'examples');
    await mkdir(dir);
    for (const spec of specs) {
      const name = spec.replace(/\.yaml$/, '');
      const r = await runCli(['build', join(EXAMPLES_DIR, spec), '-o', join(dir, name), '--cache-dir', testCacheDir(), '--sbom']);
      assert.equal(r.code, 0, `${spec}: ${r.stderr}`);
      // NAME.spdx.json beside the layout; NAME.ARCH.spdx.json per platform of a multi-arch image.
      const files = (await readdir(dir)).filter((f) => f.startsWith(`${name}.`) && f.endsWith('.spdx.json'));
      assert.ok(files.length >= 1, `${spec}: no SPDX document beside the layout`);
      for (const f of files) {
        const doc = JSON.parse(await readFile(join(dir, f), 'utf8')) as Doc;
        assert.ok(doc.packages.length >= 2, `${f}: ${doc.packages.length} packages (the image and what it holds)`);
        const verdict = await validateSpdx(pythonPath, join(dir, f));
        assert.deepEqual(verdict.messages, [], `${f}: the validator found problems`);
        assert.deepEqual(verdict.unknownFields, [], `${f}: fields the SPDX 2.3 model does not know`);
        checked.push(`${f} (${doc.packages.length} packages)`);
      }
    }
    console.log(`# the reference validator accepted ${checked.join(', ')}`);
  });
});
