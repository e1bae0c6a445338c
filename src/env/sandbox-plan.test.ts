import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStrataError } from '../errors.js';
import { sandboxArgs, type NodeType, type TreeView } from './sandbox-plan.js';

type Node = { type: NodeType; target?: string };

/** A tree as data: path → node (directories list their children by the paths below them). */
function view(nodes: Record<string, Node>): TreeView {
  return {
    async lookup(path) {
      const parts = path.split('/').filter((p) => p !== '');
      for (let i = 1; i < parts.length; i++) {
        const a = `/${parts.slice(0, i).join('/')}`;
        if (nodes[a]?.type === 'symlink') return { type: 'missing', symlinkAt: a };
      }
      return nodes[path] ?? { type: 'missing' };
    },
    async children(dir) {
      const prefix = dir === '/' ? '/' : `${dir}/`;
      return Object.keys(nodes)
        .filter((p) => p.startsWith(prefix) && p !== dir && !p.slice(prefix.length).includes('/'))
        .map((p) => p.slice(prefix.length))
        .sort();
    },
  };
}

const TREE = view({
  '/bin': { type: 'symlink', target: 'usr/bin' },
  '/etc': { type: 'dir' },
  '/etc/passwd': { type: 'file' },
  '/home': { type: 'dir' },
  '/proc': { type: 'dir' },
  '/root': { type: 'dir' },
  '/run': { type: 'dir' },
  '/tmp': { type: 'dir' },
  '/usr': { type: 'dir' },
  '/usr/bin': { type: 'dir' },
  '/usr/share': { type: 'dir' },
  '/var': { type: 'dir' },
  '/var/tmp': { type: 'dir' },
  '/var/run': { type: 'symlink', target: '/run' },
});

const base = { root: '/cache/env', uid: 1000, gid: 1000, chdir: '/', network: 'host' as const, argv: ['sh'] };

/** The pairs of mount options in the arguments, as "flag target" strings. */
function mountsOf(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (['--ro-bind', '--bind', '--symlink', '--ro-bind-data'].includes(a)) out.push(`${a} ${args[i + 2]}`), (i += 2);
    else if (['--dir', '--tmpfs', '--proc', '--dev', '--remount-ro', '--chdir'].includes(a)) out.push(`${a} ${args[i + 1]}`), i++;
  }
  return out;
}

test('top-level entries are bound read-only into the tmpfs root, standard mounts follow, the root is made read-only last', async () => {
  const args = await sandboxArgs({ ...base, mounts: [] }, TREE);
  assert.deepEqual(args.slice(0, 5), ['--unshare-user', '--uid', '1000', '--gid', '1000']);
  assert.ok(!args.includes('--unshare-net'), 'network host shares the network');
  assert.deepEqual(mountsOf(args), [
    '--symlink /bin',
    '--ro-bind /etc',
    '--ro-bind /home',
    '--ro-bind /root',
    '--ro-bind /usr',
    '--ro-bind /var',
    '--proc /proc',
    '--dev /dev',
    '--tmpfs /tmp',
    '--tmpfs /run',
    '--tmpfs /var/tmp',
    '--remount-ro /',
    '--chdir /',
  ]);
  assert.equal(args[args.indexOf('--ro-bind') + 1], '/cache/env/etc');
});

test('a mount point the tree lacks explodes the directories above it; mounts go parents first', async () => {
  const args = await sandboxArgs(
    {
      ...base,
      network: 'none',
      chdir: '/root/project',
      mounts: [
        { kind: 'bind', source: '/host/project', target: '/root/project' },
        { kind: 'tmpfs', target: '/root' },
        { kind: 'bind', source: '/host/data', target: '/usr/share/data' },
        { kind: 'ro-bind-data', source: 4, target: '/etc/passwd' },
      ],
    },
    TREE,
  );
  assert.ok(args.includes('--unshare-net'));
  const m = mountsOf(args);
  assert.ok(m.includes('--dir /usr') && m.includes('--dir /usr/share') && m.includes('--ro-bind /usr/bin'), m.join('\n'));
  assert.ok(!m.includes('--ro-bind /usr'), '/usr is exploded, not bound whole');
  assert.ok(!m.includes('--ro-bind /root'), 'a mount target is not bound from the tree');
  assert.ok(m.indexOf('--tmpfs /root') < m.indexOf('--bind /root/project'), 'HOME before the directory inside it');
  assert.ok(m.indexOf('--ro-bind-data /etc/passwd') > m.indexOf('--ro-bind /etc'));
  assert.deepEqual(m.slice(-2), ['--remount-ro /', '--chdir /root/project']);
});

test('a mount point below a symlink of the tree is refused with what to do', async () => {
  await assert.rejects(sandboxArgs({ ...base, mounts: [{ kind: 'bind', source: '/x', target: '/var/run/x' }] }, TREE), (e: unknown) => isStrataError(e, 'USAGE') && /\/var\/run is a symlink/.test(e.message));
  await assert.rejects(sandboxArgs({ ...base, mounts: [{ kind: 'bind', source: '/x', target: '/etc/passwd/x' }] }, TREE), (e: unknown) => isStrataError(e, 'USAGE') && /\/etc\/passwd is a file/.test(e.message));
  await assert.rejects(sandboxArgs({ ...base, mounts: [{ kind: 'bind', source: '/x', target: '/' }] }, TREE), (e: unknown) => isStrataError(e, 'USAGE'));
});
