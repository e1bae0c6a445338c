// Owns the command-line options every registry command shares (--insecure, --ca-cert,
// --username, --password-stdin) and turning them into the registry client's options. The
// password is read from stdin only, so it never appears in a process list or shell history.
import { StrataError } from '../errors.js';
import type { RemoteOptions } from '../image/remote/index.js';
import type { OptionDef, ParsedArgs } from './command.js';

export const REMOTE_OPTIONS: OptionDef[] = [
  { name: 'insecure', type: 'boolean', description: 'plain HTTP, for a registry on a loopback address (127.0.0.1, ::1, localhost)' },
  { name: 'ca-cert', type: 'string', multiple: true, value: 'FILE', description: 'trust this CA certificate (PEM) besides the system\'s (repeatable)' },
  { name: 'username', type: 'string', value: 'USER', description: 'log in as USER (with --password-stdin); default: the credentials of docker/podman login' },
  { name: 'password-stdin', type: 'boolean', description: 'read the password (or token) for --username from standard input' },
];

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export async function remoteOptionsFromArgs(args: ParsedArgs): Promise<RemoteOptions> {
  const o: RemoteOptions = {};
  if (args.options.insecure === true) o.insecure = true;
  const ca = args.options['ca-cert'] as string[] | undefined;
  if (ca !== undefined) o.caCerts = ca;
  const user = args.options.username as string | undefined;
  const fromStdin = args.options['password-stdin'] === true;
  if (user !== undefined || fromStdin) {
    if (user === undefined || !fromStdin) throw new StrataError('USAGE', '--username and --password-stdin go together', { hint: 'echo "$TOKEN" | strata push … --username USER --password-stdin' });
    const password = await readStdin();
    if (password === '') throw new StrataError('USAGE', '--password-stdin: standard input is empty');
    o.username = user;
    o.password = password;
  }
  return o;
}
