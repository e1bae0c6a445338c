// The SPDX project's reference validator (spdx/tools-python, Debian's python3-spdx-tools) for
// the SBOM tests. SPDX publishes its 2.3 JSON schema only in its specification repository: no
// npm package and no Debian package carries it. tools-python does: it parses a JSON document
// into the SPDX 2.3 model (field names, types and enumerations) and then validates it against
// the specification (identifiers, references, licence expressions against the SPDX licence
// list, namespaces, creators, checksums), which is stricter than the schema.
//
// Debian ships python3-spdx-tools in unstable only, and its python3-beartype dependency is not
// in bookworm, so both come from the host's Debian mirror the way strata fetches anything:
// InRelease verified against the host's archive keyring, the binary-all index by its sha256,
// each .deb by the index's sha256. They are unpacked with dpkg-deb into the test cache and run
// with Debian's python3, whose bookworm packages supply the other dependencies (.ci/run
// installs them).
import { execFile, spawnSync } from 'node:child_process';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CacheDir } from '../../src/cache/cache-dir.js';
import { openSuite } from '../../src/debian/archive.js';
import { readHostAptSources } from '../../src/debian/apt-sources.js';
import { download } from '../../src/debian/download.js';

const execFileP = promisify(execFile);

/** Debian's interpreter: a python3 earlier on PATH (pyenv, a venv) lacks the Debian modules. */
export const DEBIAN_PYTHON = '/usr/bin/python3';

/** Bookworm packages the validator imports; .ci/run installs them. */
export const PYTHON_DEPENDENCIES = [
  'python3-click', 'python3-yaml', 'python3-xmltodict', 'python3-rdflib', 'python3-ply',
  'python3-semantic-version', 'python3-license-expression', 'python3-uritools',
];
const MODULES = ['click', 'yaml', 'xmltodict', 'rdflib', 'ply', 'semantic_version', 'license_expression', 'uritools'];

/** The suite that carries python3-spdx-tools and a python3-beartype that runs on bookworm's python. */
const SUITE = 'sid';
const PACKAGES = ['python3-spdx-tools', 'python3-beartype'];

/** What is missing on this host to run the validator, as the apt packages to install. */
export function missingValidatorDependencies(): string[] {
  const r = spawnSync(DEBIAN_PYTHON, ['-c', `import ${MODULES.join(', ')}`], { encoding: 'utf8' });
  if (r.error !== undefined) return ['python3', ...PYTHON_DEPENDENCIES];
  if (r.status !== 0) return PYTHON_DEPENDENCIES;
  const dpkg = spawnSync('dpkg-deb', ['--version']);
  return dpkg.error === undefined ? [] : ['dpkg'];
}

/**
 * Fetches and unpacks the validator into `cacheRoot`; returns the PYTHONPATH to run it with.
 * The unpacked tree is named by the .debs' sha256s and appears only once complete.
 */
export async function obtainSpdxValidator(cacheRoot: string): Promise<string> {
  const sources = await readHostAptSources();
  const debian = sources.find((s) => s.signedBy?.kind === 'files' && s.components.includes('main') && /^[a-z]+$/.test(s.suite));
  if (debian === undefined || debian.signedBy?.kind !== 'files') {
    throw new Error('the host has no apt source with a main component and a Signed-By keyring file to fetch the SPDX validator from');
  }
  const keyring = { sources: debian.signedBy.paths, blobs: await Promise.all(debian.signedBy.paths.map((p) => readFile(p))) };
  const cache = await CacheDir.open(cacheRoot);
  // Unstable's InRelease is valid for a week only; a mirror kept as a snapshot serves it after
  // that. The signature and every hash are still checked, which is all a test tool needs.
  const suite = await openSuite(
    { uri: debian.uri, suite: SUITE, components: ['main'], architectures: ['all'], keyring, checkValidUntil: false, now: Date.now() / 1000 },
    { cache },
  );
  const index = suite.indexes[0]!.index;
  const records = PACKAGES.map((name) => {
    const r = index.get(name).find((x) => x.architecture === 'all');
    if (r === undefined) throw new Error(`${SUITE} no longer has ${name}; update test/support/spdx-reference-validator.ts`);
    return r;
  });
  const tree = join(cacheRoot, 'spdx-validator', records.map((r) => r.sha256.slice(0, 16)).join('-'));
  const pythonPath = join(tree, 'usr', 'lib', 'python3', 'dist-packages');
  if (await stat(pythonPath).then(() => true, () => false)) return pythonPath;
  const scratch = `${tree}.partial-${process.pid}`;
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  for (const r of records) {
    const got = await download(cache, {
      url: `${debian.uri.replace(/\/+$/, '')}/${r.filename}`,
      what: `${r.name}_${r.version}_all.deb`,
      expectSha256: r.sha256,
      expectSize: r.size,
      mismatchCode: 'DEB_HASH_MISMATCH',
    });
    if (got === undefined) throw new Error(`${r.filename} is listed in ${SUITE} but missing on the mirror`);
    await execFileP('dpkg-deb', ['-x', got.path, scratch]);
  }
  await rename(scratch, tree).catch(async (e: NodeJS.ErrnoException) => {
    // Another process finished first: keep its tree.
    await rm(scratch, { recursive: true, force: true });
    if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
  });
  return pythonPath;
}

export interface ValidatorVerdict {
  valid: boolean;
  /** The validator's messages, one per problem. */
  messages: string[];
  /**
   * Field paths of the document (".packages[].checksums[].algorithm") that do not come back
   * when the reference tool parses the document and writes it out again: names the SPDX model
   * does not know, which its parser skips silently.
   */
  unknownFields: string[];
}

const RUNNER = `
import json, os, sys, tempfile
from spdx_tools.spdx.parser.error import SPDXParsingError
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
from spdx_tools.spdx.writer.write_anything import write_file

def paths(o, path, out):
    if isinstance(o, dict):
        for k, v in o.items():
            out.add(path + "." + k)
            paths(v, path + "." + k, out)
    elif isinstance(o, list):
        for v in o:
            paths(v, path + "[]", out)
    return out

try:
    document = parse_file(sys.argv[1])
except SPDXParsingError as e:
    print(json.dumps({"messages": ["parse: " + m for m in e.get_messages()], "unknownFields": []}))
    sys.exit(0)
messages = [m.validation_message for m in validate_full_spdx_document(document, "SPDX-2.3")]
with tempfile.TemporaryDirectory() as scratch:
    again = os.path.join(scratch, "again.spdx.json")
    write_file(document, again, validate=False)
    with open(sys.argv[1]) as f:
        ours = paths(json.load(f), "", set())
    with open(again) as f:
        theirs = paths(json.load(f), "", set())
print(json.dumps({"messages": messages, "unknownFields": sorted(ours - theirs)}))
`;

/** Parses and validates one SPDX JSON file as SPDX 2.3 with the reference validator. */
export async function validateSpdx(pythonPath: string, file: string): Promise<ValidatorVerdict> {
  const { stdout } = await execFileP(DEBIAN_PYTHON, ['-c', RUNNER, file], {
    env: { ...process.env, PYTHONPATH: pythonPath, PYTHONDONTWRITEBYTECODE: '1' },
    maxBuffer: 64 << 20,
  });
  const out = JSON.parse(stdout) as { messages: string[]; unknownFields: string[] };
  return { valid: out.messages.length === 0, messages: out.messages, unknownFields: out.unknownFields };
}
