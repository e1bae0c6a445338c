// Owns `strata why`: why a package is in (or was left out of) a spec's locked closure.
import { StrataError } from '../../errors.js';
import { why } from '../../debian/why.js';
import { closestNames } from '../../util/closest-name.js';
import { JSON_OPTION, LOCKFILE_OPTION, type Command } from '../command.js';
import { loadSpecAndLock } from '../context.js';

export const whyCommand: Command = {
  name: 'why',
  summary: 'Show the dependency paths from the requested packages to PKG, or why PKG was left out.',
  description: 'Reads only the lockfile: no network. Paths are listed shortest first.',
  positionals: [
    { name: 'SPEC', required: true, description: 'the spec file' },
    { name: 'PKG', required: true, description: 'a package name' },
  ],
  options: [
    { name: 'arch', type: 'string', value: 'ARCH', description: 'the architecture to look in (default: the first of the spec)' },
    LOCKFILE_OPTION,
    JSON_OPTION,
  ],
  examples: ['strata why examples/redis.yaml libssl3', 'strata why examples/redis.yaml adduser'],
  async run(args, out) {
    const [specPath, name] = args.positionals as [string, string];
    const { lock } = await loadSpecAndLock(args, specPath);
    const arch = typeof args.options.arch === 'string' ? args.options.arch : lock.inputs.architectures[0]!;
    const closure = lock.architectures[arch];
    if (closure === undefined) {
      throw new StrataError('USAGE', `why: the lock has no ${arch} closure (it has ${Object.keys(lock.architectures).join(', ')})`);
    }
    const answer = why(closure, name);
    if (answer.status === 'absent') {
      const near = closestNames(name, [...closure.packages.map((p) => p.name), ...closure.excluded.map((x) => x.name)], 5);
      throw new StrataError('PACKAGE_UNKNOWN', `${name} is not in the ${arch} closure of ${specPath}${near.length > 0 ? `; did you mean ${near.join(', ')}?` : ''}`, {
        detail: { package: name, architecture: arch, suggestions: near },
      });
    }
    if (out.json) {
      out.data({ architecture: arch, ...answer });
      return 0;
    }
    if (answer.status === 'excluded') {
      out.line(`${out.bold(name)} was left out of the ${arch} closure: ${answer.reason}`);
      out.line(`  named by: ${answer.neededBy.join(', ')}`);
    } else {
      out.line(`${out.bold(name)} ${answer.version} (${answer.suite}) is in the ${arch} closure${answer.requested ? ', requested by the spec' : ''}`);
      if (answer.neededBy.length > 0) out.line(`  needed directly by: ${answer.neededBy.join(', ')}`);
    }
    for (const p of answer.paths) out.line(`  ${p.join(' → ')}`);
    return 0;
  },
};
