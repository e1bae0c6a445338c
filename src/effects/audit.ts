// Owns `strata audit`: every maintainer-script action of the closure that no effect handles.
// Actions that an effect replaces or that do not apply to an image are listed separately, so
// the audit shows the whole picture and nothing is dropped silently.
import { CONTROL_SCRIPTS } from '../debian/control-scripts.js';
import { parseScript, type ScriptAction } from './script-actions.js';

export interface AuditFinding {
  package: string;
  script: string;
  line: number;
  text: string;
  status: 'handled' | 'not-applicable' | 'unhandled';
  /** The effect that replaces it, or why it does not apply or is not handled. */
  note: string;
}

const HANDLED_BY: Record<string, string> = {
  'system-user': 'accounts effect (fixed IDs in /etc/passwd)',
  'system-group': 'accounts effect (fixed IDs in /etc/group)',
  alternative: 'alternatives effect',
  'stat-override': 'file-overrides effect (owner and mode)',
  capability: 'file-overrides effect (security.capability)',
};

export function auditScripts(pkg: string, scripts: Partial<Record<string, string>>): AuditFinding[] {
  const out: AuditFinding[] = [];
  for (const script of CONTROL_SCRIPTS) {
    if (script === 'templates' || script === 'triggers') continue;
    const text = scripts[script];
    if (text === undefined) continue;
    // prerm/postrm only run on removal or upgrade, which an image never sees.
    const removal = script === 'prerm' || script === 'postrm';
    for (const a of parseScript(text) as ScriptAction[]) {
      const base = { package: pkg, script, line: a.line, text: a.text };
      if (removal) out.push({ ...base, status: 'not-applicable', note: `${script} runs on removal or upgrade only` });
      else if (a.kind === 'unhandled') out.push({ ...base, status: 'unhandled', note: a.why });
      else if (a.kind === 'not-applicable') out.push({ ...base, status: 'not-applicable', note: a.why });
      else out.push({ ...base, status: 'handled', note: HANDLED_BY[a.kind] ?? a.kind });
    }
  }
  return out;
}
