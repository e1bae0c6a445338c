// Owns `strata audit`: the maintainer-script actions of a closure that no effect replaces.
import { collectFacts } from '../../build/build.js';
import { auditScripts } from '../../effects/audit.js';
import { CACHE_OPTION, JSON_OPTION, LOCKFILE_OPTION, type Command } from '../command.js';
import { loadSpecAndLock, openCacheFromArgs } from '../context.js';

export const auditCommand: Command = {
  name: 'audit',
  summary: 'List every maintainer-script action of the closure that no effect handles.',
  description: 'strata runs no maintainer script. Each statically readable action is either replaced by an effect\n(accounts, alternatives, stat overrides, capabilities…), does not apply to an image (services,\ntriggers, debconf), or is unhandled: those are listed here, and the build warns about them.',
  positionals: [{ name: 'SPEC', required: true, description: 'the spec file' }],
  options: [
    { name: 'all', type: 'boolean', description: 'also list the actions that are handled or do not apply' },
    { name: 'arch', type: 'string', value: 'ARCH', description: 'the architecture (default: the first of the spec)' },
    LOCKFILE_OPTION,
    CACHE_OPTION,
    JSON_OPTION,
  ],
  examples: ['strata audit examples/redis.yaml', 'strata audit examples/redis.yaml --all --json'],
  async run(args, out) {
    const [specPath] = args.positionals as [string];
    const { loaded, lock } = await loadSpecAndLock(args, specPath);
    const cache = await openCacheFromArgs(args);
    const arch = (args.options.arch as string | undefined) ?? lock.inputs.architectures[0]!;
    const facts = await collectFacts(loaded, lock, arch, { cache, onProgress: (p) => out.progress(`${p.phase} ${p.done}/${p.total} ${p.name}`) });
    out.progressDone();
    const findings = facts.flatMap((f) => auditScripts(f.name, f.scripts)).filter((f) => args.options.all === true || f.status === 'unhandled');
    if (out.json) {
      out.data({ architecture: arch, findings });
      return 0;
    }
    if (findings.length === 0) {
      out.line(args.options.all === true ? 'no maintainer-script actions' : 'every maintainer-script action is handled or does not apply');
      return 0;
    }
    let last = '';
    for (const f of findings) {
      const head = `${f.package} ${f.script}`;
      if (head !== last) out.line(out.bold(head));
      last = head;
      out.line(`  ${String(f.line).padStart(4)}  ${f.status === 'unhandled' ? out.yellow('unhandled') : f.status}  ${f.text}`);
      out.line(`        ${out.dim(f.note)}`);
    }
    return 0;
  },
};
