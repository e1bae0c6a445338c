// Owns `strata plan`: the layer plan of a spec's image, with the reason for each grouping.
import { StrataError } from '../../errors.js';
import { planLayers, TINY_BYTES } from '../../layering/plan.js';
import { JSON_OPTION, LOCKFILE_OPTION, type Command } from '../command.js';
import { loadSpecAndLock } from '../context.js';
import { formatBytes } from '../output.js';

export const planCommand: Command = {
  name: 'plan',
  summary: 'Show how the image\'s packages are grouped into layers, in order, and why.',
  description: `Reads only the lockfile. Every package gets a layer of its own while the budget allows; over it,\npackages under ${TINY_BYTES / 1024} KiB that only one package needs are packed together first, then groups merge\nalong dominators (docs/layering.md). The base layout and the effects layer come first and last.`,
  positionals: [{ name: 'SPEC', required: true, description: 'the spec file' }],
  options: [{ name: 'arch', type: 'string', value: 'ARCH', description: 'the architecture (default: the first of the spec)' }, LOCKFILE_OPTION, JSON_OPTION],
  examples: ['strata plan examples/python.yaml', 'strata plan examples/redis.yaml --json'],
  async run(args, out) {
    const [specPath] = args.positionals as [string];
    const { loaded, lock } = await loadSpecAndLock(args, specPath);
    const arch = (args.options.arch as string | undefined) ?? lock.inputs.architectures[0]!;
    const closure = lock.architectures[arch];
    if (closure === undefined) throw new StrataError('USAGE', `plan: the lock has no ${arch} closure`);
    const plan = planLayers(
      closure.packages.map((p) => ({ name: p.name, size: p.size, depends: p.depends, source: p.source, requested: p.requested === true })),
      loaded.spec.layers.budget,
    );
    if (out.json) {
      out.data({ architecture: arch, budget: plan.budget, reserved: plan.reserved, layers: plan.layers });
      return 0;
    }
    out.line(`${arch}: ${plan.layers.length + plan.reserved} layers (budget ${plan.budget}): base layout, ${plan.layers.length} package layer${plan.layers.length === 1 ? '' : 's'}, effects`);
    plan.layers.forEach((l, i) => {
      out.line(`  ${String(i + 1).padStart(3)}  ${formatBytes(l.size).padStart(10)}  ${l.packages.join(' ')}`);
      out.line(`       ${out.dim(`popularity ${l.popularity}; ${l.reason}`)}`);
    });
    return 0;
  },
};
