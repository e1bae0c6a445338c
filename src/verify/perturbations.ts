// Owns the catalogue of perturbations `strata verify` rebuilds under (docs/verify.md), what
// each sets in the control build and in the perturbed one, and parsing `--vary`. This is
// data only: rebuild.ts applies a setting to a child process.
//
// Like reprotest, verify builds a control and one experiment that varies everything at once;
// only when they differ does it rebuild with each perturbation alone to find the culprit.
// "cache" is the exception: a warm rebuild reuses the control's cache after it finished.
import { StrataError } from '../errors.js';

export const PERTURBATIONS = ['tz', 'locale', 'umask', 'home', 'cwd', 'time', 'shuffle', 'workers', 'cache'] as const;
export type Perturbation = (typeof PERTURBATIONS)[number];

export const DESCRIPTIONS: Record<Perturbation, string> = {
  tz: 'time zone: TZ=UTC vs TZ=Pacific/Kiritimati (UTC+14)',
  locale: 'locale: LC_ALL=C.UTF-8 vs LC_ALL=tr_TR.UTF-8 (dotless i, other collation)',
  umask: 'umask: 022 vs 077',
  home: 'HOME: one directory vs another, deeper, with a space in its name',
  cwd: 'working directory: one vs another, deeper',
  time: 'clock: the real time vs ten years ahead (faketime when installed, else strata\'s clock override)',
  shuffle: 'directory listings: as the file system returns them vs shuffled (strata\'s readdir shuffle, and the spec\'s directory under disorderfs when installed)',
  workers: 'compression workers: 1 vs 4',
  cache: 'cache: cold (only the verified .debs) vs warm (the control\'s layers and facts reused)',
};

/** How one build of verify is set up. Paths are chosen by the caller (verify.ts). */
export interface BuildSetting {
  tz: string;
  locale: string;
  umask: string;
  /** Which of the work directory's homes and working directories to use. */
  home: 'control' | 'experiment';
  cwd: 'control' | 'experiment';
  /** Seconds added to the clock (0: the real clock). */
  clockOffset: number;
  shuffle: boolean;
  workers: number;
  /** 'cold': a fresh cache holding only the .debs; 'warm': the control's cache after it ran. */
  cache: 'cold' | 'warm';
}

export const TEN_YEARS = 10 * 365 * 24 * 3600;

export const CONTROL: BuildSetting = { tz: 'UTC', locale: 'C.UTF-8', umask: '022', home: 'control', cwd: 'control', clockOffset: 0, shuffle: false, workers: 1, cache: 'cold' };

const EXPERIMENT: BuildSetting = { tz: 'Pacific/Kiritimati', locale: 'tr_TR.UTF-8', umask: '077', home: 'experiment', cwd: 'experiment', clockOffset: TEN_YEARS, shuffle: true, workers: 4, cache: 'warm' };

const FIELD: Record<Perturbation, keyof BuildSetting> = { tz: 'tz', locale: 'locale', umask: 'umask', home: 'home', cwd: 'cwd', time: 'clockOffset', shuffle: 'shuffle', workers: 'workers', cache: 'cache' };

/** The control setting with the given perturbations applied. */
export function perturbed(vary: readonly Perturbation[]): BuildSetting {
  const s: BuildSetting = { ...CONTROL };
  for (const p of vary) (s as unknown as Record<string, unknown>)[FIELD[p]] = EXPERIMENT[FIELD[p]];
  return s;
}

/**
 * Parses --vary: a comma-separated list. Plain names choose exactly those; names with a
 * leading "-" remove them from the default (all), as reprotest's --vary does; "all" is all.
 */
export function parseVary(values: readonly string[] | undefined): Perturbation[] {
  if (values === undefined || values.length === 0) return [...PERTURBATIONS];
  const items = values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  const removing = items.filter((i) => i.startsWith('-'));
  const choosing = items.filter((i) => !i.startsWith('-'));
  const check = (name: string): Perturbation => {
    const n = name.replace(/^[-+]/, '');
    if (!(PERTURBATIONS as readonly string[]).includes(n)) {
      throw new StrataError('USAGE', `verify: --vary ${JSON.stringify(n)} is not a perturbation`, { hint: `perturbations: ${PERTURBATIONS.join(', ')} (or all); prefix one with - to leave it out` });
    }
    return n as Perturbation;
  };
  let chosen: Perturbation[] = choosing.length === 0 || choosing.includes('all') ? [...PERTURBATIONS] : choosing.map(check);
  for (const c of choosing) if (c !== 'all') check(c);
  const removed = new Set(removing.map(check));
  chosen = PERTURBATIONS.filter((p) => chosen.includes(p) && !removed.has(p));
  return chosen;
}
