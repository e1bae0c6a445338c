// Owns the shape of a CLI command and argument parsing (node:util parseArgs, strict), with
// generated --help. A wrong flag or a missing argument is a USAGE error (exit code 2) that
// says what was expected.
import { parseArgs } from 'node:util';
import { StrataError } from '../errors.js';
import type { Output } from './output.js';

export interface OptionDef {
  name: string;
  short?: string;
  type: 'boolean' | 'string';
  multiple?: boolean;
  value?: string;
  description: string;
}

export interface PositionalDef {
  name: string;
  required: boolean;
  variadic?: boolean;
  description: string;
}

export interface ParsedArgs {
  positionals: string[];
  options: Record<string, string | boolean | string[] | undefined>;
  /** With `passThrough`: the words after `--`, untouched (undefined when there is no `--`). */
  rest?: string[];
}

export interface Command {
  name: string;
  summary: string;
  description: string;
  positionals: PositionalDef[];
  options: OptionDef[];
  examples: string[];
  /** Everything after `--` is a command line of its own (COMMAND ARGS…), not parsed as options. */
  passThrough?: { name: string; description: string };
  run(args: ParsedArgs, out: Output): Promise<number>;
}

/** Options every command takes. */
export const COMMON_OPTIONS: OptionDef[] = [
  { name: 'help', short: 'h', type: 'boolean', description: 'show this help' },
];

export const CACHE_OPTION: OptionDef = {
  name: 'cache-dir',
  type: 'string',
  value: 'DIR',
  description: 'cache of verified downloads and parsed indexes (default: $STRATA_CACHE_DIR, $XDG_CACHE_HOME/strata or ~/.cache/strata)',
};
export const JSON_OPTION: OptionDef = { name: 'json', type: 'boolean', description: 'print machine-readable JSON on stdout' };
export const LOCKFILE_OPTION: OptionDef = { name: 'lockfile', type: 'string', value: 'FILE', description: 'the lockfile (default: NAME.lock.json beside NAME.yaml)' };

function usageLine(cmd: Command): string {
  const pos = cmd.positionals.map((p) => {
    const n = p.variadic ? `${p.name}...` : p.name;
    return p.required ? n : `[${n}]`;
  });
  const rest = cmd.passThrough ? ` [-- ${cmd.passThrough.name}]` : '';
  return `strata ${cmd.name} ${pos.join(' ')}${cmd.options.length > 0 ? ' [options]' : ''}${rest}`.replace(/\s+/g, ' ').trim();
}

export function formatHelp(cmd: Command): string {
  const lines = [`Usage: ${usageLine(cmd)}`, '', cmd.summary, ''];
  if (cmd.description) lines.push(cmd.description, '');
  if (cmd.positionals.length > 0) {
    lines.push('Arguments:');
    for (const p of cmd.positionals) lines.push(`  ${p.name.padEnd(24)} ${p.description}`);
    if (cmd.passThrough) lines.push(`  ${`-- ${cmd.passThrough.name}`.padEnd(24)} ${cmd.passThrough.description}`);
    lines.push('');
  }
  lines.push('Options:');
  for (const o of [...cmd.options, ...COMMON_OPTIONS]) {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    lines.push(`  ${flag.padEnd(24)} ${o.description}`);
  }
  if (cmd.examples.length > 0) {
    lines.push('', 'Examples:');
    for (const e of cmd.examples) lines.push(`  ${e}`);
  }
  if (cmd.passThrough) lines.push('', "Exit codes: the command's own (128 + N when signal N ended it); before it starts: 1 error, 2 usage error, 127 no such command in the environment.");
  else lines.push('', 'Exit codes: 0 ok, 1 error, 2 usage error, 3 not reproducible.');
  return `${lines.join('\n')}\n`;
}

export function parseCommandArgs(cmd: Command, argv: string[]): ParsedArgs {
  const options: Record<string, { type: 'boolean' | 'string'; short?: string; multiple?: boolean }> = {};
  for (const o of [...cmd.options, ...COMMON_OPTIONS]) {
    const def: { type: 'boolean' | 'string'; short?: string; multiple?: boolean } = { type: o.type };
    if (o.short !== undefined) def.short = o.short;
    if (o.multiple) def.multiple = true;
    options[o.name] = def;
  }
  let rest: string[] | undefined;
  if (cmd.passThrough) {
    const dd = argv.indexOf('--');
    if (dd >= 0) {
      rest = argv.slice(dd + 1);
      argv = argv.slice(0, dd);
    }
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new StrataError('USAGE', `${cmd.name}: ${msg}`, { hint: `run \`strata ${cmd.name} --help\`` });
  }
  const values = parsed.values as ParsedArgs['options'];
  const withRest = (a: ParsedArgs): ParsedArgs => (rest === undefined ? a : { ...a, rest });
  if (values.help === true) return withRest({ positionals: parsed.positionals, options: values });
  const required = cmd.positionals.filter((p) => p.required).length;
  const variadic = cmd.positionals.some((p) => p.variadic);
  if (parsed.positionals.length < required) {
    const missing = cmd.positionals[parsed.positionals.length]!;
    throw new StrataError('USAGE', `${cmd.name}: missing ${missing.name} (${missing.description})`, { hint: `usage: ${usageLine(cmd)}` });
  }
  if (!variadic && parsed.positionals.length > cmd.positionals.length) {
    throw new StrataError('USAGE', `${cmd.name}: unexpected argument ${JSON.stringify(parsed.positionals[cmd.positionals.length])}`, { hint: `usage: ${usageLine(cmd)}` });
  }
  return withRest({ positionals: parsed.positionals, options: values });
}
