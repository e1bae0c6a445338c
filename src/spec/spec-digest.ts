// Owns the identity of a spec's text, which a lock records and environments are keyed by.
// Kept apart from the YAML parser so that reading it costs no parser load (`strata shell`'s
// warm start computes it on every run).
import { sha256Hex } from '../digest/sha256.js';

/** sha256 of the spec text with CRLF and CR line endings normalised to LF. */
export function specTextSha256(text: string): string {
  return sha256Hex(text.replace(/\r\n?/g, '\n'));
}
