#!/usr/bin/env node
// Owns the `strata` entry point: picks the command, parses its arguments, runs it, and maps
// any error to an exit code through the one table in output.ts.
import { StrataError } from '../errors.js';
import { STRATA_VERSION } from '../version.js';
import { formatHelp, parseCommandArgs, type Command } from './command.js';
import { createOutput, reportError } from './output.js';
import { lockCommand } from './commands/lock.js';
import { whyCommand } from './commands/why.js';
import { fetchCommand } from './commands/fetch.js';
import { vendorCommand } from './commands/vendor.js';
import { buildCommand } from './commands/build.js';
import { auditCommand } from './commands/audit.js';
import { planCommand } from './commands/plan.js';

export const COMMANDS: Command[] = [lockCommand, buildCommand, planCommand, whyCommand, auditCommand, fetchCommand, vendorCommand];

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    `strata ${STRATA_VERSION} — reproducible container images and environments from Debian packages`,
    '',
    'Usage: strata COMMAND [arguments] [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)} ${c.summary}`),
    '',
    'Run `strata COMMAND --help` for the arguments and options of a command.',
    'Exit codes: 0 ok, 1 error, 2 usage error, 3 not reproducible.',
    'Environment: NO_COLOR disables colour; STRATA_CACHE_DIR sets the cache.',
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const out = createOutput(json);
  try {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      const target = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
      process.stdout.write(target ? formatHelp(target) : topHelp());
      return name === undefined ? 2 : 0;
    }
    if (name === '--version' || name === '-V' || name === 'version') {
      process.stdout.write(`${STRATA_VERSION}\n`);
      return 0;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (command === undefined) {
      throw new StrataError('USAGE', `unknown command ${JSON.stringify(name)}`, {
        hint: `commands: ${COMMANDS.map((c) => c.name).join(', ')}; run \`strata --help\``,
      });
    }
    const args = parseCommandArgs(command, rest);
    if (args.options.help === true) {
      process.stdout.write(formatHelp(command));
      return 0;
    }
    return await command.run(args, out);
  } catch (e) {
    return reportError(e, out);
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
