// Owns /etc/passwd and /etc/group. Entries come from, in order of precedence:
//   1. the spec's accounts (uid and gid required);
//   2. base-passwd's masters (/usr/share/base-passwd/{passwd,group}.master), the static IDs
//      Debian assigns (root 0 … nogroup 65534); without base-passwd in the closure, the same
//      tables built into strata (debian-static-ids.ts), since packages own files by them;
//   3. the owners the packages' files name in their .debs, when the ID is in Debian's
//      static range (0–99, which base-passwd allocates globally) and neither the name nor the
//      ID is taken yet (a name base-passwd does not list, but an ID in its range);
//   4. system users and groups the packages' maintainer scripts would create (`adduser
//      --system`, `useradd -r`, `groupadd -r`) or that they declare in sysusers.d, with IDs
//      from a deterministic rule instead of install order: the candidate is
//      100 + fnv1a32(name) mod 900, probing upwards (wrapping within 100–999) past IDs already
//      taken, names taken in byte order. IDs thus depend only on the name unless two names
//      collide, and never on install order.
import { StrataError } from '../errors.js';
import type { Spec } from '../spec/spec.js';
import { parseScript } from './script-actions.js';
import { file, type EffectContext, type FileOwner, type GeneratedEntry } from './types.js';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export interface AccountOrigin {
  name: string;
  kind: 'user' | 'group';
  id: number;
  source: 'spec' | 'base-passwd' | 'default' | 'package' | 'system';
  /** For system accounts: the packages whose scripts or sysusers.d create it; for package
   * accounts, the packages whose files it owns. */
  createdBy?: string[];
}

export interface Accounts {
  users: PasswdEntry[];
  groups: GroupEntry[];
  origins: AccountOrigin[];
  entries: GeneratedEntry[];
  /** The packages the entries are made from: base-passwd's tables, and those whose accounts were added. */
  from: string[];
  uidOf(name: string): number | undefined;
  gidOf(name: string): number | undefined;
}

import { DEBIAN_GROUP_MASTER, DEBIAN_PASSWD_MASTER } from './debian-static-ids.js';

/** The highest ID of Debian's static range (base-passwd's, allocated globally). */
export const STATIC_ID_MAX = 99;

export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(text, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function parsePasswd(text: string): PasswdEntry[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => {
      const [name, , uid, gid, gecos, home, shell] = l.split(':');
      return { name: name!, uid: Number(uid), gid: Number(gid), gecos: gecos ?? '', home: home ?? '/', shell: shell ?? '/usr/sbin/nologin' };
    });
}

export function parseGroup(text: string): GroupEntry[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => {
      const [name, , gid, members] = l.split(':');
      return { name: name!, gid: Number(gid), members: (members ?? '').split(',').filter((m) => m !== '') };
    });
}

interface SystemRequest {
  kind: 'user' | 'group';
  name: string;
  group?: string;
  createGroup: boolean;
  home?: string;
  shell?: string;
  id?: number;
  packages: Set<string>;
}

/** Reads sysusers.d lines: `u name id "gecos" home shell`, `g name id`. */
function sysusers(text: string): Array<{ kind: 'user' | 'group'; name: string; id?: number; home?: string; shell?: string }> {
  const out: Array<{ kind: 'user' | 'group'; name: string; id?: number; home?: string; shell?: string }> = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const m = /^([ug])\s+(\S+)\s+(\S+)(?:\s+"[^"]*"|\s+\S+)?(?:\s+(\S+))?(?:\s+(\S+))?/.exec(t);
    if (m === null) continue;
    const rec: { kind: 'user' | 'group'; name: string; id?: number; home?: string; shell?: string } = { kind: m[1] === 'u' ? 'user' : 'group', name: m[2]! };
    if (/^[0-9]+$/.test(m[3]!)) rec.id = Number(m[3]);
    if (m[4] !== undefined && m[4] !== '-') rec.home = m[4];
    if (m[5] !== undefined && m[5] !== '-') rec.shell = m[5];
    out.push(rec);
  }
  return out;
}

function allocate(name: string, taken: Set<number>): number {
  let id = 100 + (fnv1a32(name) % 900);
  for (let i = 0; i < 900; i++) {
    if (!taken.has(id)) return id;
    id = id === 999 ? 100 : id + 1;
  }
  throw new StrataError('SPEC_INVALID', `no free system ID (100–999) left for ${name}`);
}

export function buildAccounts(ctx: EffectContext): Accounts {
  const spec: Spec = ctx.spec;
  const passwdFrom = ctx.packages.find((p) => p.extracted.has('usr/share/base-passwd/passwd.master'));
  const groupFrom = ctx.packages.find((p) => p.extracted.has('usr/share/base-passwd/group.master'));
  const masterPasswd = passwdFrom?.extracted.get('usr/share/base-passwd/passwd.master');
  const masterGroup = groupFrom?.extracted.get('usr/share/base-passwd/group.master');
  const baseSource = masterPasswd !== undefined ? 'base-passwd' : 'default';
  const users = parsePasswd(masterPasswd?.toString('utf8') ?? DEBIAN_PASSWD_MASTER);
  const groups = parseGroup(masterGroup?.toString('utf8') ?? DEBIAN_GROUP_MASTER);
  const origins: AccountOrigin[] = [
    ...groups.map((g) => ({ name: g.name, kind: 'group' as const, id: g.gid, source: baseSource as AccountOrigin['source'] })),
    ...users.map((u) => ({ name: u.name, kind: 'user' as const, id: u.uid, source: baseSource as AccountOrigin['source'] })),
  ];

  // 1. The spec's accounts: refuse a clash with the base set rather than silently override it.
  for (const g of spec.accounts.groups) {
    const byName = groups.find((x) => x.name === g.name);
    const byId = groups.find((x) => x.gid === g.gid);
    if (byName !== undefined && byName.gid !== g.gid) {
      throw new StrataError('SPEC_INVALID', `accounts.groups: ${g.name} already has gid ${byName.gid} (${baseSource}); use that gid or another name`);
    }
    if (byId !== undefined && byId.name !== g.name) {
      throw new StrataError('SPEC_INVALID', `accounts.groups: gid ${g.gid} of ${g.name} is already group ${byId.name} (${baseSource}); choose another gid`);
    }
    if (byName === undefined) {
      groups.push({ name: g.name, gid: g.gid, members: [] });
      origins.push({ name: g.name, kind: 'group', id: g.gid, source: 'spec' });
    }
  }
  for (const u of spec.accounts.users) {
    const byName = users.find((x) => x.name === u.name);
    const byId = users.find((x) => x.uid === u.uid);
    if (byName !== undefined && byName.uid !== u.uid) {
      throw new StrataError('SPEC_INVALID', `accounts.users: ${u.name} already has uid ${byName.uid} (${baseSource}); use that uid or another name`);
    }
    if (byId !== undefined && byId.name !== u.name) {
      throw new StrataError('SPEC_INVALID', `accounts.users: uid ${u.uid} of ${u.name} is already user ${byId.name} (${baseSource}); choose another uid`);
    }
    if (!groups.some((g) => g.gid === u.gid)) {
      throw new StrataError('SPEC_INVALID', `accounts.users: ${u.name}'s gid ${u.gid} is not a declared group; add it under accounts.groups`);
    }
    if (byName === undefined) {
      users.push({ name: u.name, uid: u.uid, gid: u.gid, gecos: u.name, home: u.home, shell: u.shell });
      origins.push({ name: u.name, kind: 'user', id: u.uid, source: 'spec' });
    }
  }

  // 3. Owners named by the packages' files, in Debian's static range.
  const named = new Map<string, { owner: FileOwner; packages: Set<string> }>();
  for (const p of ctx.packages) {
    for (const o of p.fileOwners ?? []) {
      if (o.id < 1 || o.id > STATIC_ID_MAX) continue;
      const key = `${o.kind}:${o.name}:${o.id}`;
      const n = named.get(key) ?? { owner: o, packages: new Set<string>() };
      n.packages.add(p.name);
      named.set(key, n);
    }
  }
  const byOwner = (a: FileOwner, b: FileOwner) => (a.kind !== b.kind ? (a.kind === 'group' ? -1 : 1) : a.id - b.id || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const { owner, packages } of [...named.values()].sort((a, b) => byOwner(a.owner, b.owner))) {
    const createdBy = [...packages].sort();
    if (owner.kind === 'group') {
      if (groups.some((g) => g.name === owner.name || g.gid === owner.id)) continue;
      groups.push({ name: owner.name, gid: owner.id, members: [] });
      origins.push({ name: owner.name, kind: 'group', id: owner.id, source: 'package', createdBy });
    } else {
      if (users.some((u) => u.name === owner.name || u.uid === owner.id)) continue;
      // Its group: the one of the same name when there is one, else nogroup.
      const gid = groups.find((g) => g.name === owner.name)?.gid ?? 65534;
      users.push({ name: owner.name, uid: owner.id, gid, gecos: owner.name, home: '/nonexistent', shell: '/usr/sbin/nologin' });
      origins.push({ name: owner.name, kind: 'user', id: owner.id, source: 'package', createdBy });
    }
  }

  // 4. System accounts the packages would create.
  const requests = new Map<string, SystemRequest>();
  const want = (kind: 'user' | 'group', name: string, pkg: string): SystemRequest => {
    const key = `${kind}:${name}`;
    let r = requests.get(key);
    if (r === undefined) requests.set(key, (r = { kind, name, createGroup: false, packages: new Set() }));
    r.packages.add(pkg);
    return r;
  };
  for (const p of ctx.packages) {
    for (const script of ['preinst', 'postinst'] as const) {
      const text = p.scripts[script];
      if (text === undefined) continue;
      for (const a of parseScript(text)) {
        if (a.kind === 'system-user') {
          const r = want('user', a.name, p.name);
          r.createGroup ||= a.createGroup;
          if (a.group !== undefined) r.group = a.group;
          if (a.home !== undefined) r.home ??= a.home;
          if (a.shell !== undefined) r.shell ??= a.shell;
          if (a.createGroup) want('group', a.name, p.name);
        } else if (a.kind === 'system-group') {
          want('group', a.name, p.name);
        }
      }
    }
    for (const [path, content] of p.extracted) {
      if (!path.startsWith('usr/lib/sysusers.d/')) continue;
      for (const s of sysusers(content.toString('utf8'))) {
        const r = want(s.kind, s.name, p.name);
        if (s.id !== undefined) r.id ??= s.id;
        if (s.home !== undefined) r.home ??= s.home;
        if (s.shell !== undefined) r.shell ??= s.shell;
        if (s.kind === 'user') {
          r.createGroup = true;
          want('group', s.name, p.name);
        }
      }
    }
  }
  const ordered = [...requests.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.kind < b.kind ? -1 : 1));
  const takenGids = new Set(groups.map((g) => g.gid));
  for (const r of ordered.filter((x) => x.kind === 'group')) {
    if (groups.some((g) => g.name === r.name)) continue;
    const gid = r.id !== undefined && !takenGids.has(r.id) ? r.id : allocate(r.name, takenGids);
    takenGids.add(gid);
    groups.push({ name: r.name, gid, members: [] });
    origins.push({ name: r.name, kind: 'group', id: gid, source: 'system', createdBy: [...r.packages].sort() });
  }
  const takenUids = new Set(users.map((u) => u.uid));
  for (const r of ordered.filter((x) => x.kind === 'user')) {
    if (users.some((u) => u.name === r.name)) continue;
    const own = groups.find((g) => g.name === (r.group ?? (r.createGroup ? r.name : 'nogroup')));
    const gid = own?.gid ?? 65534;
    const preferred = r.id ?? (own !== undefined && r.createGroup ? own.gid : undefined);
    const uid = preferred !== undefined && !takenUids.has(preferred) ? preferred : allocate(r.name, takenUids);
    takenUids.add(uid);
    users.push({ name: r.name, uid, gid, gecos: r.name, home: r.home ?? '/nonexistent', shell: r.shell ?? '/usr/sbin/nologin' });
    origins.push({ name: r.name, kind: 'user', id: uid, source: 'system', createdBy: [...r.packages].sort() });
  }

  const passwd = users.map((u) => `${u.name}:x:${u.uid}:${u.gid}:${u.gecos}:${u.home}:${u.shell}\n`).join('');
  const group = groups.map((g) => `${g.name}:x:${g.gid}:${g.members.join(',')}\n`).join('');
  return {
    users,
    groups,
    origins,
    entries: [file('etc/group', group), file('etc/passwd', passwd)],
    from: [...new Set([passwdFrom?.name, groupFrom?.name, ...origins.flatMap((o) => o.createdBy)].filter((n): n is string => n !== undefined))].sort(),
    uidOf: (name) => users.find((u) => u.name === name)?.uid ?? (/^[0-9]+$/.test(name) ? Number(name) : undefined),
    gidOf: (name) => groups.find((g) => g.name === name)?.gid ?? (/^[0-9]+$/.test(name) ? Number(name) : undefined),
  };
}
