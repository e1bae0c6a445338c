// The packages of the hermetic test archive: a small world that exercises every rule of
// the resolver (versions, alternatives, virtual packages, conflicts, exclusions) and, with
// real files, the image builder.
import type { FixturePackage } from './make-deb.js';

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
