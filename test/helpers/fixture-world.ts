// The packages of the hermetic test archive: a small world that exercises every rule of
// the resolver (versions, alternatives, virtual packages, conflicts, exclusions) and, with
// real files, the image builder.
import { FIXTURE_MTIME, type FixturePackage } from './make-deb.js';

const elf = (tag: string) => Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.from(`strata fixture ${tag}\n`)]);

export const MAIN_PACKAGES: FixturePackage[] = [
  {
    name: 'libfix6',
    version: '2.1-1',
    multiArch: 'same',
    priority: 'required',
    section: 'libs',
    files: [
      { path: '/lib/x86_64-linux-gnu/libfix.so.6', content: elf('libfix 2.1') },
      { path: '/usr/share/doc/libfix6/copyright', content: 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nLicense: MIT\n' },
    ],
  },
  { name: 'libfix6', version: '1.0-1', multiArch: 'same', files: [{ path: '/lib/x86_64-linux-gnu/libfix.so.6', content: elf('libfix 1.0') }] },
  {
    name: 'fixapp',
    version: '1:3.0-2',
    source: 'fixapp-src (3.0-2)',
    preDepends: 'init-system-helpers (>= 1.54~)',
    depends: 'libfix6 (>= 2.0), fix-data | fix-data-alt, adduser',
    recommends: 'fix-extras',
    files: [
      { path: '/usr/bin/fixapp', content: elf('fixapp'), mode: 0o755 },
      { path: '/usr/share/doc/fixapp/copyright', content: 'fixapp copyright\n' },
      { path: '/usr/share/man/man1/fixapp.1.gz', content: 'man page' },
    ],
    scripts: { postinst: '#!/bin/sh\nset -e\nadduser --system --group --home /var/lib/fixapp fixapp\n' },
  },
  { name: 'fix-data', version: '1.0', architecture: 'all', files: [{ path: '/usr/share/fix/data.txt', content: 'data\n' }] },
  { name: 'fix-data-alt', version: '5.0', architecture: 'all', files: [{ path: '/usr/share/fix/data.txt', content: 'alt\n' }] },
  { name: 'fix-extras', version: '1.0', architecture: 'all', files: [{ path: '/usr/share/fix/extras.txt', content: 'extras\n' }] },
  { name: 'adduser', version: '3.134', architecture: 'all', files: [{ path: '/usr/sbin/adduser', content: '#!/usr/bin/perl\n', mode: 0o755 }] },
  { name: 'init-system-helpers', version: '1.65.2', architecture: 'all', files: [{ path: '/usr/bin/deb-systemd-helper', content: '#!/usr/bin/perl\n', mode: 0o755 }] },
  { name: 'fixmail-b', version: '1.0', provides: 'fix-mta', priority: 'optional', files: [{ path: '/usr/sbin/fixmail', content: 'b' }] },
  { name: 'fixmail-a', version: '1.0', provides: 'fix-mta', priority: 'optional', files: [{ path: '/usr/sbin/fixmail', content: 'a' }] },
  { name: 'fixmail-c', version: '1.0', provides: 'fix-mta', priority: 'extra', files: [{ path: '/usr/sbin/fixmail', content: 'c' }] },
  { name: 'fixmailer', version: '1.0', depends: 'fix-mta', files: [{ path: '/usr/bin/fixmailer', content: 'm' }] },
  { name: 'fixconf-a', version: '1.0', conflicts: 'fixconf-b', files: [{ path: '/etc/fixconf', content: 'a' }] },
  { name: 'fixconf-b', version: '1.0', files: [{ path: '/etc/fixconf', content: 'b' }] },
  { name: 'fixbroken', version: '1.0', depends: 'libfix6 (>= 9.0)', files: [] },
  { name: 'fixmissing', version: '1.0', depends: 'libnothere1', files: [] },
  { name: 'fixchain', version: '1.0', depends: 'fixbroken', files: [] },
  // Needs a version of libfix6 that only a conflicting alternative allows: exercises backtracking.
  { name: 'fixpick', version: '1.0', depends: 'fixpick-x | fixpick-y', files: [] },
  { name: 'fixpick-x', version: '1.0', depends: 'libfix6 (<< 2.0)', files: [] },
  { name: 'fixpick-y', version: '1.0', depends: 'libfix6 (>= 2.0)', files: [] },
  { name: 'fixpin', version: '1.0', depends: 'libfix6 (= 2.1-1)', files: [] },
  { name: 'fixzstd', version: '1.0', compression: 'zstd', files: [{ path: '/usr/share/fixzstd/z', content: 'zstd data\n' }] },
  { name: 'fixxz', version: '1.0', compression: 'xz', files: [{ path: '/usr/share/fixxz/x', content: 'xz data\n' }] },
];

export const UPDATES_PACKAGES: FixturePackage[] = [
  {
    name: 'libfix6',
    version: '2.1-1+deb1u1',
    multiArch: 'same',
    priority: 'required',
    section: 'libs',
    files: [{ path: '/lib/x86_64-linux-gnu/libfix.so.6', content: elf('libfix 2.1 security') }],
  },
];

// ---- The image world: what a real image build exercises (test/build-hermetic.test.ts) ----
// Packages shaped like the Debian ones whose maintainer scripts strata replaces with effects
// (base-passwd, libc-bin, ca-certificates, tzdata, alternatives, stat overrides, file
// capabilities, system users) and like the tricky files real packages ship (merged /usr,
// hard links, setuid, long and non-ASCII paths, documentation, device nodes, future mtimes).
// All gzip-compressed, so the archive's bytes depend on nothing of the host. The golden image
// is built from these (and fixapp, libfix6, fix-data above): changing one of them moves
// GOLDEN_DIGEST in test/build-hermetic.test.ts, so add a package rather than edit one.

export const PASSWD_MASTER = [
  'root:*:0:0:root:/root:/bin/bash',
  'daemon:*:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'bin:*:2:2:bin:/bin:/usr/sbin/nologin',
  'sys:*:3:3:sys:/dev:/usr/sbin/nologin',
  'sync:*:4:65534:sync:/bin:/bin/sync',
  'games:*:5:60:games:/usr/games:/usr/sbin/nologin',
  'man:*:6:12:man:/var/cache/man:/usr/sbin/nologin',
  'mail:*:8:8:mail:/var/mail:/usr/sbin/nologin',
  'www-data:*:33:33:www-data:/var/www:/usr/sbin/nologin',
  'nobody:*:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
  '',
].join('\n');

export const GROUP_MASTER = [
  'root:*:0:',
  'daemon:*:1:',
  'bin:*:2:',
  'sys:*:3:',
  'adm:*:4:',
  'tty:*:5:',
  'mail:*:8:',
  'man:*:12:',
  'www-data:*:33:',
  'shadow:*:42:',
  'utmp:*:43:',
  'staff:*:50:',
  'games:*:60:',
  'users:*:100:',
  'nogroup:*:65534:',
  '',
].join('\n');

export const NSSWITCH_TEMPLATE = '# fixture nsswitch.conf (libc-bin template)\npasswd: files\ngroup: files\nhosts: files dns\n';

/** PEM-looking certificates; names chosen so byte order differs from locale order. */
export const CERTS: Array<[string, string]> = [
  ['mozilla/B_Root.crt', '-----BEGIN CERTIFICATE-----\nQg==\n-----END CERTIFICATE-----\n'],
  ['mozilla/a_lower_Root.crt', '-----BEGIN CERTIFICATE-----\nYQ==\n-----END CERTIFICATE-----\n'],
  // No final newline: the bundle adds one, as update-ca-certificates does.
  ['mozilla/Fő_Tanúsítvány.crt', '-----BEGIN CERTIFICATE-----\nRg==\n-----END CERTIFICATE-----'],
  ['mozilla/A_Root.crt', '-----BEGIN CERTIFICATE-----\nQQ==\n-----END CERTIFICATE-----\n'],
];

/** The 114-byte TZif of Etc/UTC. */
export const TZIF_UTC = Buffer.from(
  'VFppZjIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQAAAAQAAAAAAABVVEMAVFppZjIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQAAAAQAAAAAAABVVEMAClVUQzAK',
  'base64',
);

/** A path longer than ustar's 100-byte name field: needs a pax `path` record. */
export const LONG_PATH = '/usr/share/fixfiles/a-directory-name-that-is-long-on-purpose/and-a-second-one-to-pass-the-ustar-limit/file-with-a-long-name.txt';
export const NON_ASCII_PATH = '/usr/share/fixfiles/café/naïve-ñ-日本.txt';
export const FUTURE_MTIME = 1893456000; // 2030-01-01T00:00:00Z: clamped to the build's epoch

const copyright = (name: string) => ({ path: `/usr/share/doc/${name}/copyright`, content: `${name} copyright\nLicense: MIT\n` });

export const IMAGE_PACKAGES: FixturePackage[] = [
  {
    name: 'fixbase-passwd',
    version: '3.6.1',
    priority: 'required',
    essential: true,
    files: [
      { path: '/usr/share/base-passwd/passwd.master', content: PASSWD_MASTER },
      { path: '/usr/share/base-passwd/group.master', content: GROUP_MASTER },
      { path: '/usr/sbin/update-passwd', content: elf('update-passwd'), mode: 0o755 },
      copyright('fixbase-passwd'),
      { path: '/usr/share/man/man8/update-passwd.8.gz', content: 'man page' },
      { path: '/usr/share/doc/fixbase-passwd/README', content: 'readme\n' },
    ],
  },
  {
    name: 'fixlibc-bin',
    version: '2.36-9',
    files: [
      { path: '/usr/share/libc-bin/nsswitch.conf', content: NSSWITCH_TEMPLATE },
      { path: '/usr/bin/getent', content: elf('getent'), mode: 0o755 },
      { path: '/usr/share/locale/de/LC_MESSAGES/libc.mo', content: 'locale data' },
      copyright('fixlibc-bin'),
    ],
    scripts: { postinst: '#!/bin/sh\nset -e\nif [ "$1" = configure ]; then\n  ldconfig\nfi\n' },
  },
  {
    name: 'fixca-certificates',
    version: '20230311',
    architecture: 'all',
    files: [
      ...CERTS.map(([p, c]) => ({ path: `/usr/share/ca-certificates/${p}`, content: c })),
      { path: '/usr/sbin/update-ca-certificates', content: '#!/bin/sh\n', mode: 0o755 },
      copyright('fixca-certificates'),
    ],
    scripts: { postinst: '#!/bin/sh\nset -e\nupdate-ca-certificates --fresh\n' },
  },
  {
    name: 'fixtzdata',
    version: '2024a-0+deb12u1',
    architecture: 'all',
    files: [
      { path: '/usr/share/zoneinfo/Etc/UTC', content: TZIF_UTC },
      { path: '/usr/share/zoneinfo/UTC', symlink: 'Etc/UTC' },
      { path: '/usr/share/zoneinfo/posix/Etc/UTC', content: TZIF_UTC },
      { path: '/usr/share/zoneinfo/right/Etc/UTC', content: TZIF_UTC },
      copyright('fixtzdata'),
    ],
  },
  {
    name: 'fixalt-a',
    version: '1.0',
    files: [
      { path: '/usr/bin/fixed.a', content: elf('fixed a'), mode: 0o755 },
      { path: '/usr/share/man/man1/fixed.a.1.gz', content: 'man a' },
    ],
    scripts: {
      postinst:
        '#!/bin/sh\nset -e\nupdate-alternatives --install /usr/bin/fixed fixed /usr/bin/fixed.a 20 \\\n  --slave /usr/share/man/man1/fixed.1.gz fixed.1.gz /usr/share/man/man1/fixed.a.1.gz\n',
    },
  },
  {
    name: 'fixalt-b',
    version: '1.0',
    files: [{ path: '/usr/bin/fixed.b', content: elf('fixed b'), mode: 0o755 }],
    scripts: { postinst: '#!/bin/sh\nset -e\nupdate-alternatives --install /usr/bin/fixed fixed /usr/bin/fixed.b 10\n' },
  },
  {
    name: 'fixsecret',
    version: '1.0',
    depends: 'fixbase-passwd',
    files: [{ path: '/usr/bin/fixsecret', content: elf('fixsecret'), mode: 0o755 }],
    scripts: {
      postinst:
        '#!/bin/sh\nset -e\nif [ "$1" = configure ]; then\n  if ! dpkg-statoverride --list /usr/bin/fixsecret >/dev/null; then\n    dpkg-statoverride --update --add root shadow 2755 /usr/bin/fixsecret\n  fi\nfi\n',
    },
  },
  {
    name: 'fixping',
    version: '1.0',
    files: [{ path: '/usr/bin/fixping', content: elf('fixping'), mode: 0o755 }],
    scripts: { postinst: '#!/bin/sh\nset -e\nif command -v setcap > /dev/null; then\n  setcap cap_net_raw+ep /usr/bin/fixping\nfi\n' },
  },
  {
    name: 'fixd',
    version: '1.0',
    depends: 'adduser, fixbase-passwd',
    files: [
      { path: '/usr/sbin/fixd', content: elf('fixd'), mode: 0o755 },
      { path: '/var/lib/fixd', directory: true },
    ],
    scripts: { postinst: '#!/bin/sh\nset -e\nadduser --system --group --home /var/lib/fixd fixd\n' },
  },
  {
    name: 'fixmerged',
    version: '1.0',
    files: [
      { path: '/bin/fixmerged', content: elf('fixmerged'), mode: 0o755 },
      { path: '/sbin/fixmerged-admin', content: elf('fixmerged-admin'), mode: 0o755 },
      { path: '/lib/x86_64-linux-gnu/libfixmerged.so.1', content: elf('libfixmerged') },
      { path: '/lib/x86_64-linux-gnu/libfixmerged.so', symlink: 'libfixmerged.so.1' },
      { path: '/lib64/ld-fixmerged.so.2', symlink: '/lib/x86_64-linux-gnu/libfixmerged.so.1' },
      { path: '/usr/bin/fixmerged-usr', content: elf('fixmerged-usr'), mode: 0o755 },
    ],
  },
  {
    name: 'fixfiles',
    version: '1.0',
    depends: 'fixbase-passwd',
    files: [
      { path: '/usr/bin/fixlink-a', content: 'linked\n', mode: 0o755 },
      { path: '/usr/bin/fixlink-b', hardlink: '/usr/bin/fixlink-a', mode: 0o755 },
      // A hard link whose first path is documentation, which slim drops: the link must keep the content.
      { path: '/usr/share/doc/fixfiles/NEWS', content: 'news\n' },
      { path: '/usr/share/fixfiles/NEWS', hardlink: '/usr/share/doc/fixfiles/NEWS' },
      { path: '/usr/bin/fixsuid', content: elf('fixsuid'), mode: 0o4755 },
      { path: LONG_PATH, content: 'long\n' },
      { path: '/usr/share/fixfiles/long-link', symlink: LONG_PATH },
      { path: NON_ASCII_PATH, content: 'unicode\n' },
      { path: '/usr/share/fixfiles/future.txt', content: 'from the future\n', mtime: FUTURE_MTIME },
      { path: '/usr/share/fixfiles/shadowed', content: 'secret\n', mode: 0o640, gid: 42 },
      { path: '/var/lib/fixfiles', directory: true, mode: 0o2770, gid: 42 },
      { path: '/dev/fixnull', special: 'char', mode: 0o666 },
      { path: '/usr/share/fixfiles/pipe', special: 'fifo', mode: 0o644 },
      copyright('fixfiles'),
      { path: '/usr/share/doc/fixfiles/changelog.Debian.gz', content: 'changes' },
      { path: '/usr/share/man/man1/fixsuid.1.gz', content: 'man' },
      { path: '/usr/share/man/de/man1/fixsuid.1.gz', content: 'man de' },
      { path: '/usr/share/locale/fr/LC_MESSAGES/fixfiles.mo', content: 'mo' },
      { path: '/usr/share/info/fixfiles.info.gz', content: 'info' },
      { path: '/usr/share/lintian/overrides/fixfiles', content: 'fixfiles: something\n' },
    ],
  },
  // Two packages shipping one path: fixclash-a Replaces fixclash-b (allowed; a wins even though
  // it sorts first), fixclash-c replaces nothing (a conflict with either).
  { name: 'fixclash-a', version: '1.0', replaces: 'fixclash-b', files: [{ path: '/usr/share/fixclash/same', content: 'from a\n' }] },
  { name: 'fixclash-b', version: '1.0', files: [{ path: '/usr/share/fixclash/same', content: 'from b\n' }, { path: '/usr/share/fixclash/only-b', content: 'b\n' }] },
  { name: 'fixclash-c', version: '1.0', files: [{ path: '/usr/share/fixclash/same', content: 'from c\n' }] },
  // A file owned by an ID no account declares.
  { name: 'fixowner', version: '1.0', files: [{ path: '/usr/share/fixowner/file', content: 'x\n', uid: 4242, gid: 4242 }] },
];

const raw = (path: string, content: string) => ({ entry: { path, type: 'file' as const, mode: 0o644, uid: 0, gid: 0, size: Buffer.byteLength(content), mtime: FIXTURE_MTIME }, content: Buffer.from(content) });
const rawDir = (path: string) => ({ entry: { path, type: 'directory' as const, mode: 0o755, uid: 0, gid: 0, size: 0, mtime: FIXTURE_MTIME } });

/** Hostile and broken packages: each must be refused by the build with DEB_INVALID. */
export const BAD_PACKAGES: FixturePackage[] = [
  { name: 'fixescape', version: '1.0', rawData: [rawDir('.'), rawDir('./usr'), raw('./usr/ok', 'ok\n'), raw('../x', 'escaped\n')] },
  { name: 'fixescape-abs', version: '1.0', rawData: [rawDir('.'), rawDir('./etc'), raw('/etc/../../x', 'escaped\n')] },
  {
    name: 'fixtruncated',
    version: '1.0',
    files: [{ path: '/usr/share/fixtruncated/big', content: Buffer.alloc(4096, 0x61) }],
    // Cut the tar inside the file's content; the gzip around it is valid.
    mangleData: (tar) => tar.subarray(0, 5 * 512 + 1000), // 4 directories and the file's header, then 1000 of 4096 bytes
  },
  {
    name: 'fixbadgzip',
    version: '1.0',
    files: [{ path: '/usr/share/fixbadgzip/noise', content: Buffer.from(Array.from({ length: 20000 }, (_, i) => (i * 7919) % 251)) }],
    // A valid tar in a gzip stream cut in half.
    mangleCompressedData: (gz) => gz.subarray(0, gz.length >> 1),
  },
];
