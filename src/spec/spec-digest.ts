// Owns the spec text's digest (recorded in lockfiles), apart from the parser so that it can
// be taken without loading the yaml library.
import { sha256Hex } from '../digest/sha256.js';

/** sha256 of the spec text with CRLF and CR line endings normalised to LF. */
export function specTextSha256(text: string): string {
  return sha256Hex(text.replace(/\r\n?/g, '\n'));
}
