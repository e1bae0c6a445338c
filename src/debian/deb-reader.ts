// Owns reading a .deb (deb(5)) as a stream, without unpacking anything to disk: the
// `debian-binary` version, the control archive (control stanza, md5sums, conffiles and
// maintainer scripts, kept as text for the effects catalogue and the audit), then the data
// archive's entries one by one. Members may be compressed with xz, zstd, gzip or nothing.
import { StrataError } from '../errors.js';
import { readAr, type ArMember } from '../archive/ar.js';
import { compressionOfName, decompress } from '../archive/decompress.js';
import { readTar, type TarItem } from '../archive/tar-reader.js';
import { parseDeb822, type Stanza } from './deb822.js';

import { CONTROL_SCRIPTS, type ControlScript } from './control-scripts.js';

export { CONTROL_SCRIPTS, type ControlScript };

export interface DebControl {
  /** The control stanza as written in the package. */
  text: string;
  fields: Stanza;
  /** `md5  relative/path` lines, as dpkg ships them. */
  md5sums: string;
  conffiles: string[];
  scripts: Partial<Record<ControlScript, string>>;
}

export interface OpenedDeb {
  control: DebControl;
  /** The data archive's entries; consume once. */
  data: AsyncGenerator<TarItem>;
}

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(c);
  return Buffer.concat(parts);
}

function memberCompression(member: ArMember, what: string) {
  const c = compressionOfName(member.name);
  if (c === undefined) throw new StrataError('DEB_INVALID', `${what}: unsupported member compression ${member.name}`);
  return c;
}

async function readControl(member: ArMember, what: string): Promise<DebControl> {
  return readControlMember(member.name, member.body, what);
}

/**
 * Reads a control archive from the bytes of its ar member `name` (`control.tar`, compressed
 * or not), or, with `decompressed`, from the tar itself.
 */
export async function readControlMember(name: string, body: AsyncIterable<Uint8Array>, what: string, decompressed = false): Promise<DebControl> {
  const member = { name, size: 0, body: body as AsyncIterable<Buffer> };
  const files = new Map<string, string>();
  const compression = decompressed ? 'none' : memberCompression(member, what);
  for await (const { entry, body } of readTar(decompress(member.body, compression, `${what} ${member.name}`), `${what} ${member.name}`)) {
    const name = entry.path.replace(/^\.\//, '');
    if (entry.type !== 'file' || name.includes('/')) continue;
    files.set(name, (await collect(body)).toString('utf8'));
  }
  const text = files.get('control');
  if (text === undefined) throw new StrataError('DEB_INVALID', `${what}: control archive has no control file`);
  const stanzas = parseDeb822(text, { source: `${what} control`, errorCode: 'DEB_INVALID' });
  if (stanzas.length !== 1) throw new StrataError('DEB_INVALID', `${what}: control file has ${stanzas.length} stanzas`);
  const scripts: DebControl['scripts'] = {};
  for (const s of CONTROL_SCRIPTS) {
    const body = files.get(s);
    if (body !== undefined) scripts[s] = body;
  }
  return {
    text: text.endsWith('\n') ? text : `${text}\n`,
    fields: stanzas[0]!,
    md5sums: files.get('md5sums') ?? '',
    conffiles: (files.get('conffiles') ?? '').split('\n').map((l) => l.trim()).filter((l) => l !== ''),
    scripts,
  };
}

export async function openDeb(source: AsyncIterable<Uint8Array>, what: string): Promise<OpenedDeb> {
  const members = readAr(source, what);
  const first = await members.next();
  if (first.done === true || first.value.name !== 'debian-binary') {
    await members.return(undefined);
    throw new StrataError('DEB_INVALID', `${what}: the first member is not debian-binary`);
  }
  const version = (await collect(first.value.body)).toString('latin1');
  if (!version.startsWith('2.')) {
    await members.return(undefined);
    throw new StrataError('DEB_INVALID', `${what}: unsupported .deb format ${JSON.stringify(version.trim())}`);
  }
  let control: DebControl | undefined;
  let dataMember: ArMember | undefined;
  for (;;) {
    const next = await members.next();
    if (next.done === true) break;
    const m = next.value;
    if (m.name.startsWith('control.tar')) control = await readControl(m, what);
    else if (m.name.startsWith('data.tar')) {
      dataMember = m;
      break;
    } else if (!m.name.startsWith('_')) {
      // Unknown members before data are allowed by deb(5) only when they start with "_".
      await members.return(undefined);
      throw new StrataError('DEB_INVALID', `${what}: unexpected member ${m.name}`);
    }
  }
  if (control === undefined || dataMember === undefined) {
    await members.return(undefined);
    throw new StrataError('DEB_INVALID', `${what}: missing ${control === undefined ? 'control.tar' : 'data.tar'} member`);
  }
  const member = dataMember;
  const data = (async function* () {
    try {
      yield* readTar(decompress(member.body, memberCompression(member, what), `${what} ${member.name}`), `${what} ${member.name}`);
    } finally {
      await members.return(undefined);
    }
  })();
  return { control, data };
}
