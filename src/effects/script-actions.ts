// Owns reading maintainer scripts statically (nothing is ever executed): each command line
// of a preinst/postinst is classified as an action that an effect replaces (system users,
// alternatives, stat overrides, file capabilities), an action that does not apply to an
// image (services, triggers, debconf), shell structure, or unhandled — which `strata audit`
// reports and the build warns about (debian.md: nothing is skipped silently).

export type ScriptAction =
  | { kind: 'system-user'; name: string; group?: string; createGroup: boolean; home?: string; shell?: string; line: number; text: string }
  | { kind: 'system-group'; name: string; line: number; text: string }
  | { kind: 'alternative'; link: string; name: string; path: string; priority: number; slaves: Array<{ link: string; name: string; path: string }>; line: number; text: string }
  | { kind: 'stat-override'; user: string; group: string; mode: number; path: string; line: number; text: string }
  | { kind: 'capability'; caps: string; path: string; line: number; text: string }
  | { kind: 'not-applicable'; why: string; line: number; text: string }
  | { kind: 'unhandled'; why: string; line: number; text: string };

/** Commands whose effect does not exist in an image, with the reason. */
const NOT_APPLICABLE: Record<string, string> = {
  'deb-systemd-helper': 'service enablement: containers run one process, not an init system',
  'deb-systemd-invoke': 'service start/stop: nothing runs at build time',
  'invoke-rc.d': 'service start/stop: nothing runs at build time',
  'update-rc.d': 'SysV runlevel links: containers do not boot',
  systemctl: 'systemd: containers do not boot',
  'systemd-tmpfiles': 'runtime directories are created by the service or declared under paths:',
  'systemd-sysusers': 'system users come from the accounts effect',
  ldconfig: 'the loader searches the standard multiarch directories itself (debian.md, ld.so.cache)',
  'update-ca-certificates': 'the CA bundle is written by the ca-certificates effect',
  'dpkg-maintscript-helper': 'conffile moves between versions: an image is installed once',
  'dpkg-trigger': 'triggers: their work is done by the effects catalogue',
  'update-mime-database': 'desktop integration',
  'update-desktop-database': 'desktop integration',
  'gtk-update-icon-cache': 'desktop integration',
  'update-icon-caches': 'desktop integration',
  'install-info': 'info pages are dropped or left unindexed',
  'update-menus': 'desktop integration',
  'py3compile': 'byte-compiled .pyc files are caches; Python writes them when needed',
  'py3clean': 'byte-compiled .pyc files are caches',
  pycompile: 'byte-compiled .pyc files are caches',
  pyclean: 'byte-compiled .pyc files are caches',
  'update-initramfs': 'containers do not boot',
  'update-grub': 'containers do not boot',
  'dpkg-divert': 'diversions between packages: strata reports path conflicts instead',
  ucf: 'configuration merging: an image is installed once with the packaged files',
  ucfr: 'configuration merging: an image is installed once with the packaged files',
  'db_get': 'debconf question', 'db_set': 'debconf question', 'db_input': 'debconf question', 'db_go': 'debconf question',
  'db_purge': 'debconf question', 'db_stop': 'debconf question', 'db_version': 'debconf question', 'db_fset': 'debconf question',
  'db_fget': 'debconf question', 'db_subst': 'debconf question', 'db_reset': 'debconf question', 'db_register': 'debconf question',
  'db_unregister': 'debconf question', 'db_metaget': 'debconf question', 'db_title': 'debconf question', 'db_capb': 'debconf question',
  'db_beginblock': 'debconf question', 'db_endblock': 'debconf question', 'db_x_loadtemplatefile': 'debconf question',
};

/**
 * Commands that only test, query or compute: they change nothing in the file system, so an
 * image does not need their effect (their output may steer the script, which the audit's
 * line-by-line view then shows through the commands that do act).
 */
const NO_EFFECT = new Set([
  'set', 'exit', 'return', 'true', 'false', ':', 'if', 'then', 'else', 'elif', 'fi', 'case', 'esac', 'for', 'while', 'until', 'do', 'done',
  'in', 'local', 'shift', 'echo', 'printf', 'test', '[', '[[', ']', ']]', 'export', 'unset', 'readonly', 'break', 'continue', '{', '}', 'trap',
  'command', 'which', 'type', 'wait', 'cat', 'grep', 'egrep', 'fgrep', 'sed', 'awk', 'cut', 'head', 'tail', 'basename', 'dirname', 'getent',
  'id', 'dpkg', 'dpkg-query', 'dpkg-architecture', 'sleep', 'logger', 'uname', 'ischroot', 'readlink', 'realpath', 'tr', 'read', 'sort',
  'uniq', 'wc', 'ls', 'stat', 'expr', 'seq', 'env', 'pwd', 'hostname', 'whoami', 'date', 'cmp', 'diff', 'md5sum', 'sha256sum', 'eval',
  'getopts', 'umask', 'cd', 'exec', 'tty', 'nproc', 'od', 'xargs', 'find', 'pidof', 'ps', 'kill', 'pgrep', 'mountpoint', 'systemd-detect-virt',
  'running-in-container', 'dpkg-divert', 'lsb_release', 'mktemp',
]);

/** Commands that change the file system: their effect is missing from the image unless declared. */
const MODIFIES = new Set([
  'mkdir', 'chown', 'chmod', 'chgrp', 'ln', 'rm', 'rmdir', 'mv', 'cp', 'touch', 'install', 'mknod', 'mkfifo', 'tee', 'truncate', 'dd',
  'tar', 'ed', 'usermod', 'groupmod', 'gpasswd', 'passwd', 'chpasswd', 'chsh', 'chfn', 'deluser', 'delgroup', 'userdel', 'groupdel',
  'update-ca-certificates-java', 'c_rehash', 'openssl', 'ssh-keygen', 'make-ssl-cert', 'locale-gen', 'update-locale', 'mount', 'umount',
]);

/** Splits one logical line into words, honouring simple quotes; `$…` stays in the word. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
      continue;
    }
    if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
      continue;
    }
    if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    cur += c;
    inWord = true;
  }
  if (inWord) words.push(cur);
  return words;
}

function unbalancedQuotes(text: string): boolean {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === undefined && c === '\\') {
      i++;
      continue;
    }
    if (quote === undefined && c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) break;
    if (c === "'" || c === '"') {
      if (quote === undefined) quote = c;
      else if (quote === c) quote = undefined;
    }
  }
  return quote !== undefined;
}

/**
 * Logical lines: comments removed, backslash continuations and multi-line quoted strings
 * joined, case labels dropped, then split at ; && || | (outside quotes).
 */
function logicalLines(script: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  const raw = script.split('\n');
  for (let i = 0; i < raw.length; i++) {
    const start = i + 1;
    let text = raw[i]!;
    for (;;) {
      if (text.endsWith('\\') && i + 1 < raw.length) text = `${text.slice(0, -1)} ${raw[++i]}`;
      else if (unbalancedQuotes(text) && i + 1 < raw.length) text = `${text}\n${raw[++i]}`;
      else break;
    }
    if (i === 0 && text.startsWith('#!')) continue;
    let stripped = text.replace(/(^|\s)#[^'"]*$/, '').trim();
    // A case label such as `configure)` or `Y*|y*)`.
    stripped = stripped.replace(/^\(?[\w*.?"'$\[\]{}|-]+\)(?=\s|;;|$)/, '').trim();
    if (stripped === '') continue;
    for (const part of splitOutsideQuotes(stripped)) {
      const p = part.trim().replace(/^(?:if|then|else|elif|do|while|until|!)\s+/, '').trim();
      if (p !== '') out.push({ line: start, text: p });
    }
  }
  return out;
}

function splitOutsideQuotes(text: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== undefined) {
      cur += c;
      if (c === quote) quote = undefined;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      quote = c;
      cur += c;
      continue;
    }
    if (c === '(') depth++;
    if (c === ')') depth = Math.max(0, depth - 1);
    if (depth === 0 && (c === ';' || c === '|' || (c === '&' && text[i + 1] === '&'))) {
      parts.push(cur);
      cur = '';
      if ((c === '|' && text[i + 1] === '|') || c === '&' || (c === ';' && text[i + 1] === ';')) i++;
      continue;
    }
    cur += c;
  }
  parts.push(cur);
  return parts;
}

/** Replaces $NAME and ${NAME} of variables the script set to a literal value earlier. */
function substitute(text: string, vars: Map<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, a: string | undefined, b: string | undefined) => vars.get((a ?? b)!) ?? m);
}

function option(words: string[], ...names: string[]): string | undefined {
  for (let i = 0; i < words.length; i++) {
    for (const n of names) {
      if (words[i] === n) return words[i + 1];
      if (words[i]!.startsWith(`${n}=`)) return words[i]!.slice(n.length + 1);
    }
  }
  return undefined;
}

const TAKES_VALUE_ADDUSER = new Set(['--home', '--shell', '--ingroup', '--gecos', '--uid', '--gid', '--comment', '--firstuid', '--lastuid', '--conf', '--add-extra-groups', '--extrausers']);
const TAKES_VALUE_USERADD = new Set(['-d', '--home-dir', '-s', '--shell', '-g', '--gid', '-G', '--groups', '-c', '--comment', '-u', '--uid', '-K', '--key', '-k', '--skel', '-b', '--base-dir', '-e', '--expiredate', '-f', '--inactive', '-p', '--password', '-R', '--root']);

function positional(words: string[], takesValue: Set<string>): string[] {
  const out: string[] = [];
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith('-')) {
      if (!w.includes('=') && takesValue.has(w)) i++;
      continue;
    }
    out.push(w);
  }
  return out;
}

const dynamic = (s: string | undefined) => s !== undefined && /[$`]/.test(s);

const parsed = new Map<string, ScriptAction[]>();

/** Parses a script (memoised: the accounts, overrides, alternatives and audit all read it). */
export function parseScript(script: string): ScriptAction[] {
  let actions = parsed.get(script);
  if (actions === undefined) {
    actions = parseScriptUncached(script);
    if (parsed.size > 10_000) parsed.clear();
    parsed.set(script, actions);
  }
  return actions;
}

function parseScriptUncached(script: string): ScriptAction[] {
  const actions: ScriptAction[] = [];
  const vars = new Map<string, string>();
  const functions = new Set<string>();
  for (const { line, text: original } of logicalLines(script)) {
    if (original.includes('#DEBHELPER#')) continue;
    const fn = /^(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\)/.exec(original);
    if (fn !== null) {
      functions.add(fn[1]!); // a function definition; its body's lines are read as they come
      continue;
    }
    const text = substitute(original, vars);
    const body = text.replace(/^[({!\s]+/, '');
    // An assignment, possibly from a command substitution, changes no file.
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(body) && (/[$`]\(|`/.test(body) || shellWords(body).every((w) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(w)))) {
      const words = shellWords(body);
      for (const w of words) {
        const eq = w.indexOf('=');
        const value = w.slice(eq + 1);
        if (words.length === 1 && !/[$`]/.test(value)) vars.set(w.slice(0, eq), value);
        else vars.delete(w.slice(0, eq));
      }
      continue;
    }
    let words = shellWords(body);
    while (words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!)) words = words.slice(1); // VAR=value cmd
    if (words.length === 0) continue;
    const cmd = words[0]!.replace(/^.*\//, '');
    // Output redirected into a file other than /dev/null is a write.
    const writes = /(^|[^0-9&])>>?\s*(?!\/dev\/null|&)[^\s&]/.test(body.replace(/"[^"]*"|'[^']*'/g, ''));
    if (cmd === '.' || cmd === 'source') {
      if (/debconf\/confmodule/.test(text)) actions.push({ kind: 'not-applicable', why: 'debconf', line, text });
      else actions.push({ kind: 'unhandled', why: 'sources another script', line, text });
      continue;
    }
    if (cmd.endsWith(')') || cmd === ';;' || cmd === '*)' || cmd.startsWith('#')) continue;
    if (NO_EFFECT.has(cmd) || /^[\]\[]+$/.test(cmd)) {
      if (writes) actions.push({ kind: 'unhandled', why: 'writes a file through a shell redirection', line, text });
      continue;
    }
    if (MODIFIES.has(cmd)) {
      actions.push({ kind: 'unhandled', why: `${cmd} changes the file system; declare the result under paths: if the image needs it`, line, text });
      continue;
    }
    const na = NOT_APPLICABLE[cmd];
    if (na !== undefined) {
      actions.push({ kind: 'not-applicable', why: na, line, text });
      continue;
    }
    switch (cmd) {
      case 'adduser':
      case 'addgroup': {
        const system = words.includes('--system');
        const args = positional(words, TAKES_VALUE_ADDUSER);
        if (!system) {
          actions.push({ kind: 'unhandled', why: `${cmd} without --system`, line, text });
          break;
        }
        if (cmd === 'addgroup' || words.includes('--group') && args.length === 0) {
          const name = args[args.length - 1];
          if (name === undefined || dynamic(name)) actions.push({ kind: 'unhandled', why: 'group name is computed at run time', line, text });
          else actions.push({ kind: 'system-group', name, line, text });
          break;
        }
        if (args.length === 2) {
          // adduser --system USER GROUP adds an existing user to a group.
          actions.push({ kind: 'unhandled', why: 'adds a user to a group', line, text });
          break;
        }
        const name = args[0];
        if (name === undefined || dynamic(name)) {
          actions.push({ kind: 'unhandled', why: 'user name is computed at run time', line, text });
          break;
        }
        const a: ScriptAction = { kind: 'system-user', name, createGroup: words.includes('--group'), line, text };
        const group = option(words, '--ingroup');
        const home = option(words, '--home');
        const shell = option(words, '--shell');
        if (group !== undefined && !dynamic(group)) a.group = group;
        if (home !== undefined && !dynamic(home)) a.home = home;
        if (shell !== undefined && !dynamic(shell)) a.shell = shell;
        actions.push(a);
        break;
      }
      case 'useradd': {
        if (!words.includes('-r') && !words.includes('--system')) {
          actions.push({ kind: 'unhandled', why: 'useradd without --system', line, text });
          break;
        }
        const name = positional(words, TAKES_VALUE_USERADD)[0];
        if (name === undefined || dynamic(name)) {
          actions.push({ kind: 'unhandled', why: 'user name is computed at run time', line, text });
          break;
        }
        const a: ScriptAction = { kind: 'system-user', name, createGroup: words.includes('-U') || words.includes('--user-group'), line, text };
        const group = option(words, '-g', '--gid');
        const home = option(words, '-d', '--home-dir');
        const shell = option(words, '-s', '--shell');
        if (group !== undefined && !dynamic(group)) a.group = group;
        if (home !== undefined && !dynamic(home)) a.home = home;
        if (shell !== undefined && !dynamic(shell)) a.shell = shell;
        actions.push(a);
        break;
      }
      case 'groupadd': {
        const name = positional(words, new Set(['-g', '--gid', '-K', '--key', '-p', '--password', '-R', '--root']))[0];
        if ((words.includes('-r') || words.includes('--system')) && name !== undefined && !dynamic(name)) actions.push({ kind: 'system-group', name, line, text });
        else actions.push({ kind: 'unhandled', why: 'groupadd of a non-system or computed group', line, text });
        break;
      }
      case 'update-alternatives': {
        const i = words.indexOf('--install');
        if (i < 0) {
          if (words.includes('--remove') || words.includes('--remove-all') || words.includes('--query') || words.includes('--display') || words.includes('--list')) {
            actions.push({ kind: 'not-applicable', why: 'alternatives removal or query', line, text });
          } else {
            actions.push({ kind: 'unhandled', why: 'update-alternatives without --install', line, text });
          }
          break;
        }
        const [link, name, path, prio] = words.slice(i + 1, i + 5);
        const priority = Number(prio);
        if ([link, name, path, prio].some((w) => w === undefined || dynamic(w)) || !Number.isInteger(priority)) {
          actions.push({ kind: 'unhandled', why: 'alternative with computed arguments', line, text });
          break;
        }
        const slaves: Array<{ link: string; name: string; path: string }> = [];
        let ok = true;
        for (let j = i + 5; j < words.length; j++) {
          if (words[j] === '--slave' || words[j] === '--follower') {
            const [sl, sn, sp] = words.slice(j + 1, j + 4);
            if ([sl, sn, sp].some((w) => w === undefined || dynamic(w))) ok = false;
            else slaves.push({ link: sl!, name: sn!, path: sp! });
            j += 3;
          }
        }
        if (!ok) actions.push({ kind: 'unhandled', why: 'alternative slave with computed arguments', line, text });
        else actions.push({ kind: 'alternative', link: link!, name: name!, path: path!, priority, slaves, line, text });
        break;
      }
      case 'dpkg-statoverride': {
        if (words.includes('--list') || words.includes('--remove')) {
          actions.push({ kind: 'not-applicable', why: 'stat override query or removal', line, text });
          break;
        }
        const i = words.indexOf('--add');
        const [user, group, modeText, path] = i < 0 ? [] : words.slice(i + 1, i + 5);
        if (i < 0 || [user, group, modeText, path].some((w) => w === undefined || dynamic(w)) || !/^[0-7]{3,4}$/.test(modeText!)) {
          actions.push({ kind: 'unhandled', why: 'stat override with computed arguments', line, text });
          break;
        }
        actions.push({ kind: 'stat-override', user: user!, group: group!, mode: parseInt(modeText!, 8), path: path!, line, text });
        break;
      }
      case 'setcap': {
        const args = words.slice(1).filter((w) => !w.startsWith('-'));
        if (args.length !== 2 || args.some(dynamic)) {
          actions.push({ kind: 'unhandled', why: 'setcap with computed arguments', line, text });
          break;
        }
        actions.push({ kind: 'capability', caps: args[0]!, path: args[1]!, line, text });
        break;
      }
      default:
        if (/^[$"'`(]/.test(cmd) || cmd === '') continue; // a computed command or a stray word of a multi-line construct
        if (functions.has(cmd)) actions.push({ kind: 'unhandled', why: `calls the script's function ${cmd}, whose body is listed on its own lines`, line, text });
        else actions.push({ kind: 'unhandled', why: `runs ${cmd}, whose effect strata cannot know statically`, line, text });
    }
  }
  return actions;
}
