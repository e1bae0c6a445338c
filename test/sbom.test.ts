// SBOMs and provenance of an image built from the hermetic test archive: `strata build --sbom`
// writes SPDX 2.3, CycloneDX 1.6 and an in-toto/SLSA v1 statement beside the layout and lists
// them in the layout as artifacts whose subject is the image; CycloneDX validates against
// its official JSON schema (shipped by @cyclonedx/cyclonedx-library), SPDX against the
// specification's rules (test/sbom-spdx-reference.test.ts runs SPDX's own validator too);
// licences come from the DEP-5 copyright files; a second build under another clock, time zone and cache gives the
// same bytes. Then the image is read the way Syft and Trivy read Debian images.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { readTar } from '../src/archive/tar-reader.js';
import { parseDeb822 } from '../src/debian/deb822.js';
import { readOciLayout } from '../src/image/layout-read.js';
import { runCli } from './helpers/cli.js';
import { runOk } from './helpers/examples.js';
import { tempDir } from './helpers/temp.js';
import { buildFixtureImage, type FixtureImage } from './helpers/fixture-image.js';

const require = createRequire(import.meta.url);
const cleanups: Array<() => unknown> = [];
const suite = { after: (fn: () => unknown) => cleanups.push(fn) };
let image: FixtureImage;
let work: string;
type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

before(async () => {
  work = await tempDir(suite, 'strata-sbom-');
  image = await buildFixtureImage(work);
  cleanups.push(() => image.server.close());
  const r = await runCli(['build', image.spec, '-o', image.layout, '--cache-dir', image.cacheDir, '--sbom', '--json']);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

const readJson = async (name: string): Promise<Doc> => JSON.parse(await readFile(join(work, name), 'utf8')) as Doc;

function cyclonedxValidator() {
  const dir = join(require.resolve('@cyclonedx/cyclonedx-library/package.json'), '..', 'res', 'schema');
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  (addFormatsModule as unknown as (a: Ajv) => void)(ajv);
  return (async () => {
    // bom-1.6 refers to its neighbours by these file names.
    for (const f of ['spdx.SNAPSHOT.schema.json', 'jsf-0.82.SNAPSHOT.schema.json']) {
      const schema = JSON.parse(await readFile(join(dir, f), 'utf8')) as { $id?: string };
      delete schema.$id;
      ajv.addSchema(schema, `http://cyclonedx.org/schema/${f}`);
    }
    return ajv.compile(JSON.parse(await readFile(join(dir, 'bom-1.6.SNAPSHOT.schema.json'), 'utf8')) as object);
  })();
}

test('CycloneDX 1.6: valid against the official schema; packages, hashes, PURLs, licences and dependencies', async () => {
  const bom = await readJson('fixapp.cdx.json');
  const validate = await cyclonedxValidator();
  assert.ok(validate(bom), JSON.stringify(validate.errors, null, 2));
  // The schema can fail: a broken document is refused (so the check above means something).
  assert.equal(validate({ ...bom, components: [{ ...bom.components[0], hashes: [{ alg: 'SHA-256', content: 'xyz' }] }] }), false);
  const lock = JSON.parse(await readFile(image.spec.replace(/\.yaml$/, '.lock.json'), 'utf8')) as Doc;
  const locked = lock.architectures.amd64.packages as Array<Doc>;
  assert.deepEqual(bom.components.map((c: Doc) => c.name), locked.map((p) => p.name).sort());
  for (const p of locked) {
    const c = bom.components.find((x: Doc) => x.name === p.name);
    assert.equal(c.version, p.version);
    assert.deepEqual(c.hashes, [{ alg: 'SHA-256', content: p.sha256 }]);
    assert.equal(c.purl, `pkg:deb/strata-test/${p.name}@${encodeURIComponent(p.version).replace(/%2B/g, '+')}?arch=${p.architecture}&distro=strata-test-1`);
    assert.ok(c.properties.some((x: Doc) => x.name === 'dev.strata:debian:source' && x.value === p.source));
    const deps = bom.dependencies.find((d: Doc) => d.ref === c.purl);
    assert.equal(deps.dependsOn.length, p.depends.length);
  }
  const lic = bom.components.find((c: Doc) => c.name === 'fixlicensed');
  assert.deepEqual(lic.licenses, [{ expression: 'GPL-2.0-or-later AND (MIT OR BSD-3-Clause) AND LicenseRef-Debian-Fix-Custom-1' }]);
  assert.equal(lic.purl, 'pkg:deb/strata-test/fixlicensed@1%3A2.0-3?arch=amd64&distro=strata-test-1');
  // libfixdoc1's doc directory is a symlink to fixlicensed's: it takes that copyright.
  assert.deepEqual(bom.components.find((c: Doc) => c.name === 'libfixdoc1').licenses, lic.licenses);
  assert.equal(bom.components.find((c: Doc) => c.name === 'base-files').licenses, undefined, 'a free-form copyright gives no licence');
  assert.equal(bom.metadata.component.type, 'container');
});

test('SPDX 2.3: the document rules, identifiers, relationships and licences', async () => {
  const doc = await readJson('fixapp.spdx.json');
  const layout = await readOciLayout(image.layout);
  assert.equal(doc.spdxVersion, 'SPDX-2.3');
  assert.equal(doc.dataLicense, 'CC0-1.0');
  assert.equal(doc.SPDXID, 'SPDXRef-DOCUMENT');
  assert.match(doc.documentNamespace, /^urn:uuid:[0-9a-f-]{36}$/);
  assert.match(doc.creationInfo.created, /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$/);
  const ids = new Set<string>(doc.packages.map((p: Doc) => p.SPDXID));
  assert.equal(ids.size, doc.packages.length, 'SPDXIDs are unique');
  for (const id of ids) assert.match(id, /^SPDXRef-[a-zA-Z0-9.-]+$/);
  for (const r of doc.relationships) {
    assert.ok(r.spdxElementId === 'SPDXRef-DOCUMENT' || ids.has(r.spdxElementId), r.spdxElementId);
    assert.ok(ids.has(r.relatedSpdxElement), r.relatedSpdxElement);
  }
  const container = doc.packages.find((p: Doc) => p.primaryPackagePurpose === 'CONTAINER');
  assert.equal(container.versionInfo, layout.root.digest);
  assert.deepEqual(doc.relationships[0], { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: container.SPDXID });
  const fl = doc.packages.find((p: Doc) => p.name === 'fixlicensed');
  assert.equal(fl.licenseDeclared, 'GPL-2.0-or-later AND (MIT OR BSD-3-Clause) AND LicenseRef-Debian-Fix-Custom-1');
  assert.ok(doc.relationships.some((r: Doc) => r.spdxElementId === fl.SPDXID && r.relationshipType === 'DEPENDS_ON' && r.relatedSpdxElement === 'SPDXRef-Package-libfixdoc1-amd64'));
  // Every LicenseRef is declared; every listed id is on the SPDX licence list (CycloneDX ships it).
  const refs = new Set<string>(doc.hasExtractedLicensingInfos.map((e: Doc) => e.licenseId));
  const spdxIds = new Set<string>((JSON.parse(await readFile(join(require.resolve('@cyclonedx/cyclonedx-library/package.json'), '..', 'res', 'schema', 'spdx.SNAPSHOT.schema.json'), 'utf8')) as Doc).enum);
  for (const p of doc.packages) {
    for (const id of String(p.licenseDeclared).split(/[ ()]+/).filter((x) => x !== '' && x !== 'AND' && x !== 'OR' && x !== 'NOASSERTION')) {
      assert.ok(id.startsWith('LicenseRef-') ? refs.has(id) : spdxIds.has(id), `${p.name}: ${id}`);
    }
  }
});

test('provenance: an in-toto statement with a SLSA v1 predicate naming the image, spec, lock and builder, without a clock', async () => {
  const st = await readJson('fixapp.provenance.json');
  const layout = await readOciLayout(image.layout);
  const lock = JSON.parse(await readFile(image.spec.replace(/\.yaml$/, '.lock.json'), 'utf8')) as Doc;
  assert.equal(st._type, 'https://in-toto.io/Statement/v1');
  assert.equal(st.predicateType, 'https://slsa.dev/provenance/v1');
  assert.deepEqual(st.subject, [{ name: 'fixapp', digest: { sha256: layout.root.digest.slice(7) } }]);
  assert.deepEqual(st.predicate.buildDefinition.externalParameters.spec, { name: 'fixapp.yaml', sha256: lock.spec.sha256 });
  assert.equal(st.predicate.runDetails.builder.id, 'urn:dev.strata:builder:cli');
  assert.match(st.predicate.runDetails.builder.version.strata, /^[0-9]+\.[0-9]+\.[0-9]+/);
  assert.ok(st.predicate.buildDefinition.resolvedDependencies.some((d: Doc) => d.name === 'lockfile fixapp.lock.json'));
  assert.ok(!/startedOn|finishedOn|invocationId/.test(JSON.stringify(st)));
});

test('the documents are artifacts in the layout (subject: the image), and a rebuild elsewhere gives the same bytes', async () => {
  const layout = await readOciLayout(image.layout);
  assert.equal(layout.referrers.length, 3);
  for (const r of layout.referrers) {
    const m = JSON.parse(await readFile(join(image.layout, 'blobs', 'sha256', r.digest.slice(7)), 'utf8')) as Doc;
    assert.equal(m.subject.digest, layout.root.digest);
    assert.equal(m.config.mediaType, 'application/vnd.oci.empty.v1+json');
  }
  // skopeo and umoci pick the tagged image out of a layout that also lists artifacts.
  // (oci-image-tool predates image-spec 1.1 artifacts and refuses such a layout.)
  const inspected = JSON.parse((await runOk('skopeo', ['inspect', `oci:${image.layout}:latest`])).stdout) as Doc;
  assert.equal(inspected.Digest, layout.root.digest);
  await runOk('umoci', ['unpack', '--rootless', '--image', `${image.layout}:latest`, join(await tempDir(suite, 'strata-umoci-'), 'bundle')]);
  const other = await tempDir(suite, 'strata-sbom-again-');
  const r = await runCli(['build', image.spec, '-o', join(other, 'fixapp.oci'), '--cache-dir', join(other, 'cache'), '--sbom', '--workers', '1'], { env: { TZ: 'Pacific/Kiritimati', LC_ALL: 'C' } });
  assert.equal(r.code, 0, r.stderr);
  for (const f of ['fixapp.spdx.json', 'fixapp.cdx.json', 'fixapp.provenance.json']) {
    assert.deepEqual(await readFile(join(other, f)), await readFile(join(work, f)), `${f} is reproducible`);
  }
  assert.deepEqual((await readdir(join(other, 'fixapp.oci', 'blobs', 'sha256'))).sort(), (await readdir(join(image.layout, 'blobs', 'sha256'))).sort());
});

/** The image's files after applying its layers in order (last writer wins), as scanners see them. */
async function flatten(dir: string): Promise<Map<string, { type: string; content: Buffer; linkname?: string }>> {
  const layout = await readOciLayout(dir);
  const manifest = JSON.parse(await readFile(join(dir, 'blobs', 'sha256', layout.root.digest.slice(7)), 'utf8')) as Doc;
  const files = new Map<string, { type: string; content: Buffer; linkname?: string }>();
  for (const l of manifest.layers as Array<Doc>) {
    const gz = Readable.from([await readFile(join(dir, 'blobs', 'sha256', String(l.digest).slice(7)))]).pipe(createGunzip());
    for await (const item of readTar(gz, l.digest as string)) {
      const chunks: Buffer[] = [];
      for await (const c of item.body) chunks.push(c);
      const e: { type: string; content: Buffer; linkname?: string } = { type: item.entry.type, content: Buffer.concat(chunks) };
      if (item.entry.linkname !== undefined) e.linkname = item.entry.linkname;
      files.set(item.entry.path.replace(/^\.\//, '').replace(/\/$/, ''), e);
    }
  }
  return files;
}

test('scanners: status.d and os-release are where Syft and Trivy look, and agree with the SBOM', async () => {
  const files = await flatten(image.layout);
  // Trivy (analyzer/pkg/dpkg) and Syft (dpkg cataloger, "distroless" layout) read every
  // var/lib/dpkg/status.d/<name> as a control stanza, and <name>.md5sums for its files.
  const statusFiles = [...files.keys()].filter((p) => /^var\/lib\/dpkg\/status\.d\/[^/]+$/.test(p) && !p.endsWith('.md5sums')).sort();
  const found = statusFiles.map((p) => {
    const [stanza] = parseDeb822(files.get(p)!.content.toString('utf8'), { source: p });
    return { name: stanza!.get('package'), version: stanza!.get('version'), architecture: stanza!.get('architecture'), source: stanza!.get('source') };
  });
  const bom = await readJson('fixapp.cdx.json');
  assert.deepEqual(found.map((f) => `${f.name}=${f.version}`), bom.components.map((c: Doc) => `${c.name}=${c.version}`));
  assert.equal(found.find((f) => f.name === 'fixlicensed')!.source, 'fixlicensed-src (2.0-3)');
  const sums = files.get('var/lib/dpkg/status.d/fixlicensed.md5sums')!.content.toString();
  assert.match(sums, /^[0-9a-f]{32} {2}usr\/bin\/fixlicensed$/m);
  // OS detection: Syft and Grype read /etc/os-release (falling back to /usr/lib/os-release),
  // Trivy's debian analyzer reads /etc/debian_version.
  const osRelease = files.get('etc/os-release')!;
  assert.equal(osRelease.type, 'symlink');
  const target = files.get(join('etc', osRelease.linkname!).replace(/^etc\/\.\.\//, ''))!;
  const fields = Object.fromEntries(target.content.toString().trim().split('\n').map((l) => l.split('=') as [string, string]).map(([k, v]) => [k, v.replace(/^"|"$/g, '')]));
  assert.equal(fields.ID, 'debian');
  assert.equal(fields.VERSION_ID, '12');
  assert.match(files.get('etc/debian_version')!.content.toString(), /^12\.[0-9]+\n$/);
});
