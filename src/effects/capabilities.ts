// Owns file capabilities: turning setcap(8)'s text form (`cap_net_raw+ep`) into the
// `security.capability` extended attribute (struct vfs_cap_data, revision 2, little endian),
// the bytes the kernel reads and tar carries as SCHILY.xattr.security.capability.

const CAPS = [
  'chown', 'dac_override', 'dac_read_search', 'fowner', 'fsetid', 'kill', 'setgid', 'setuid', 'setpcap', 'linux_immutable',
  'net_bind_service', 'net_broadcast', 'net_admin', 'net_raw', 'ipc_lock', 'ipc_owner', 'sys_module', 'sys_rawio', 'sys_chroot',
  'sys_ptrace', 'sys_pacct', 'sys_admin', 'sys_boot', 'sys_nice', 'sys_resource', 'sys_time', 'sys_tty_config', 'mknod', 'lease',
  'audit_write', 'audit_control', 'setfcap', 'mac_override', 'mac_admin', 'syslog', 'wake_alarm', 'block_suspend', 'audit_read',
  'perfmon', 'bpf', 'checkpoint_restore',
];

const VFS_CAP_REVISION_2 = 0x02000000;
const VFS_CAP_FLAGS_EFFECTIVE = 0x000001;

/** Encodes a capability text; undefined when it cannot be read. */
export function encodeCapabilities(text: string): Buffer | undefined {
  let permitted = 0n;
  let inheritable = 0n;
  let effective = false;
  for (const clause of text.trim().split(/\s+/)) {
    const m = /^([a-z_,]*?)([=+-])([eip]*)$/i.exec(clause);
    if (m === null) return undefined;
    const names = m[1]!.split(',').filter((n) => n !== '');
    let bits = 0n;
    if (names.length === 0 || (names.length === 1 && names[0]!.toLowerCase() === 'all')) {
      for (let i = 0; i < CAPS.length; i++) bits |= 1n << BigInt(i);
    } else {
      for (const n of names) {
        const i = CAPS.indexOf(n.toLowerCase().replace(/^cap_/, ''));
        if (i < 0) return undefined;
        bits |= 1n << BigInt(i);
      }
    }
    const flags = m[3]!.toLowerCase();
    const op = m[2]!;
    if (op === '=') {
      permitted &= ~bits;
      inheritable &= ~bits;
    }
    const apply = (set: bigint) => (op === '-' ? set & ~bits : set | bits);
    if (flags.includes('p')) permitted = apply(permitted);
    if (flags.includes('i')) inheritable = apply(inheritable);
    if (flags.includes('e')) effective = op !== '-';
  }
  const b = Buffer.alloc(20);
  b.writeUInt32LE(VFS_CAP_REVISION_2 | (effective ? VFS_CAP_FLAGS_EFFECTIVE : 0), 0);
  b.writeUInt32LE(Number(permitted & 0xffffffffn), 4);
  b.writeUInt32LE(Number(inheritable & 0xffffffffn), 8);
  b.writeUInt32LE(Number((permitted >> 32n) & 0xffffffffn), 12);
  b.writeUInt32LE(Number((inheritable >> 32n) & 0xffffffffn), 16);
  return b;
}
