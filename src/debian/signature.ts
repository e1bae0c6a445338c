// Owns OpenPGP verification of clearsigned InRelease files against a keyring, with apt's
// rule: accept when at least one signature made by a key in the keyring is valid. openpgp's
// verify() does not throw for unknown keys, so the rule is applied here, signature by
// signature. Only the signed text is returned: nothing outside the signature is trusted.
import { StrataError } from '../errors.js';

export interface Keyring {
  /** Where the keys came from, for messages. */
  sources: string[];
  /** Raw key material: binary keyrings and armored blocks, as read. */
  blobs: Uint8Array[];
}

export interface VerifiedText {
  /** The signed text, dash-unescaped. */
  text: string;
  /** Primary-key fingerprints (upper-case hex) of the keys whose signatures verified. */
  signedBy: string[];
  /** Issuer key IDs of every signature seen. */
  keyIdsSeen: string[];
}

type OpenPGP = typeof import('openpgp');
let openpgpModule: Promise<OpenPGP> | undefined;
const loadOpenpgp = () => (openpgpModule ??= import('openpgp'));

function isArmored(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.subarray(0, 64)).toString('latin1');
  return head.includes('-----BEGIN PGP');
}

async function readKeys(openpgp: OpenPGP, keyring: Keyring) {
  const keys = [];
  for (let i = 0; i < keyring.blobs.length; i++) {
    const blob = keyring.blobs[i]!;
    try {
      if (isArmored(blob)) keys.push(...(await openpgp.readKeys({ armoredKeys: Buffer.from(blob).toString('utf8') })));
      else keys.push(...(await openpgp.readKeys({ binaryKeys: blob })));
    } catch (e) {
      throw new StrataError('KEYRING_INVALID', `${keyring.sources[i] ?? 'keyring'}: not an OpenPGP keyring (${(e as Error).message})`, {
        cause: e,
        hint: 'point source.keyring (or the apt source\'s Signed-By) at a .gpg or .asc file of public keys',
      });
    }
  }
  if (keys.length === 0) {
    throw new StrataError('KEYRING_INVALID', `${keyring.sources.join(', ') || 'keyring'}: holds no public key`);
  }
  return keys;
}

export async function verifyClearsigned(armored: string, keyring: Keyring, what: string): Promise<VerifiedText> {
  const openpgp = await loadOpenpgp();
  let message;
  try {
    message = await openpgp.readCleartextMessage({ cleartextMessage: armored });
  } catch (e) {
    throw new StrataError('RELEASE_INVALID', `${what}: not a clearsigned OpenPGP message (${(e as Error).message})`, {
      cause: e,
      hint: 'the server did not return an InRelease file; check the mirror URL and suite name',
    });
  }
  const keys = await readKeys(openpgp, keyring);
  const result = await openpgp.verify({ message, verificationKeys: keys, expectSigned: false });
  const keyIdsSeen: string[] = [];
  const signedBy = new Set<string>();
  const failures: string[] = [];
  for (const sig of result.signatures) {
    const keyId = sig.keyID.toHex().toUpperCase();
    keyIdsSeen.push(keyId);
    const key = keys.find((k) => k.getKeys(sig.keyID).length > 0);
    if (key === undefined) continue;
    try {
      await sig.verified;
      signedBy.add(key.getFingerprint().toUpperCase());
    } catch (e) {
      failures.push(`${keyId}: ${(e as Error).message}`);
    }
  }
  if (signedBy.size > 0) {
    return { text: message.getText(), signedBy: [...signedBy].sort(), keyIdsSeen };
  }
  if (failures.length > 0) {
    throw new StrataError('SIGNATURE_INVALID', `${what}: no valid signature; ${failures.join('; ')}`, {
      detail: { keyIdsSeen, failures },
      hint: 'the file was altered or damaged in transit; do not use this mirror until it serves a correctly signed file',
    });
  }
  throw new StrataError(
    'SIGNATURE_UNKNOWN_KEY',
    `${what}: signed only by key${keyIdsSeen.length === 1 ? '' : 's'} ${keyIdsSeen.join(', ') || '(none)'}, none of which is in ${keyring.sources.join(', ')}`,
    {
      detail: { keyIdsSeen, keyring: keyring.sources },
      hint: 'use the archive\'s keyring (source.keyring in the spec, or Signed-By in the apt source); for Debian, install debian-archive-keyring',
    },
  );
}
