import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combineLicenses, spdxExpressionOf, spdxLicenseId } from './license.js';
import { parseCopyrightLicenses } from '../debian/copyright.js';

test('Debian licence names map to SPDX ids; unknown ones to LicenseRef-Debian-…', () => {
  assert.equal(spdxLicenseId('GPL-2+').id, 'GPL-2.0-or-later');
  assert.equal(spdxLicenseId('LGPL-2.1').id, 'LGPL-2.1-only');
  assert.equal(spdxLicenseId('Expat').id, 'MIT');
  assert.equal(spdxLicenseId('BSD-3-clause').id, 'BSD-3-Clause');
  assert.deepEqual(spdxLicenseId('public-domain'), { id: 'LicenseRef-Debian-public-domain', known: false });
  assert.equal(spdxExpressionOf('GPL-2+ or Artistic').expression, 'GPL-2.0-or-later OR Artistic-1.0');
  assert.equal(spdxExpressionOf('GPL-2+ with OpenSSL exception').expression, 'LicenseRef-Debian-GPL-2-with-OpenSSL-exception');
  assert.equal(combineLicenses(['GPL-2+', 'Expat or BSD-3-clause', 'GPL-2+']).expression, 'GPL-2.0-or-later AND (MIT OR BSD-3-Clause)');
});

test('copyright files: DEP-5 Files paragraphs give licences; stand-alone licence texts and free-form files do not', () => {
  const dep5 = 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nCopyright: x\nLicense: GPL-2+\n\nFiles: a/*\nCopyright: y\nLicense: Zlib\n\nLicense: Zlib\n text\n';
  assert.deepEqual(parseCopyrightLicenses(dep5), { machineReadable: true, licenses: ['GPL-2+', 'Zlib'] });
  assert.deepEqual(parseCopyrightLicenses('This package was debianized by…\n'), { machineReadable: false, licenses: [] });
});
