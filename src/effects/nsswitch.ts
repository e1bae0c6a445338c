// Owns /etc/nsswitch.conf. libc-bin's postinst copies /usr/share/libc-bin/nsswitch.conf into
// place; without the file glibc (and Go) resolve DNS before /etc/hosts, so it is always
// written: the packaged template when the image has one, else Debian's default.
import { file, type EffectContext, type EffectResult } from './types.js';

export const DEFAULT_NSSWITCH = `# /etc/nsswitch.conf
#
# Example configuration of GNU Name Service Switch functionality.
# If you have the \`glibc-doc-reference' and \`info' packages installed, try:
# \`info libc "Name Service Switch"' for information about this file.

passwd:         files
group:          files
shadow:         files
gshadow:        files

hosts:          files dns
networks:       files

protocols:      db files
services:       db files
ethers:         db files
rpc:            db files

netgroup:       nis
`;

export function nsswitch(ctx: EffectContext): EffectResult {
  for (const p of ctx.packages) {
    const template = p.extracted.get('usr/share/libc-bin/nsswitch.conf');
    if (template !== undefined) return { entries: [file('etc/nsswitch.conf', template)], warnings: [], from: [p.name] };
  }
  return { entries: [file('etc/nsswitch.conf', DEFAULT_NSSWITCH)], warnings: [], from: [] };
}
