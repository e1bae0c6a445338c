// Prints the markdown table of docs/closures.md: for each request of the real-archive
// acceptance test, how many packages `apt-get install -s --no-install-recommends` installs
// on an empty system, and how many strata's `profile: full` and `profile: slim` closures
// hold, with what slim leaves out. It runs the same checks as
// test/real-archive-closures.test.ts and exits 1 if any fails.
//
//   npx tsc -p tsconfig.json && node dist/bench/closures-table.js [--cache-dir DIR]
import { REQUESTS, runClosureChecks, testCacheRoot, type RequestOutcome } from '../test/support/real-archive.js';

function leftOut(o: RequestOutcome): string {
  const listed = o.slim.excluded.map((x) => x.name);
  if (listed.length === 0 && o.leftOutThrough.length === 0) return '—';
  const through = o.leftOutThrough.length === 0 ? '' : ` + ${o.leftOutThrough.length} reachable only through them`;
  return `${listed.join(', ')}${through}`;
}

function cell(names: string[]): string {
  return names.length === 0 ? '—' : names.join(', ');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf('--cache-dir');
  const cacheRoot = at >= 0 && args[at + 1] !== undefined ? args[at + 1]! : testCacheRoot();
  const result = await runClosureChecks({ cacheRoot });
  const lines: string[] = [];
  lines.push(`Measured ${new Date().toISOString().slice(0, 10)} against ${result.suites.map((s) => `${s.suite} (InRelease of ${s.date})`).join(', ')}, architecture amd64.`);
  lines.push('');
  lines.push('| request | apt-get -s | strata full | strata slim | left out by slim |');
  lines.push('| --- | ---: | ---: | ---: | --- |');
  let apt = 0;
  let full = 0;
  let slim = 0;
  for (const o of result.outcomes) {
    apt += o.apt.length;
    full += o.full.packages.length;
    slim += o.slim.packages.length;
    lines.push(`| ${o.request.label} | ${o.apt.length} | ${o.full.packages.length} | ${o.slim.packages.length} | ${leftOut(o)} |`);
  }
  lines.push(`| **total (${REQUESTS.length} requests)** | **${apt}** | **${full}** | **${slim}** | |`);
  const differing = result.outcomes.filter((o) => o.onlyStrata.length > 0 || o.onlyApt.length > 0);
  lines.push('');
  if (differing.length === 0) {
    lines.push('For every request the full closure holds exactly the packages apt installs.');
  } else {
    lines.push('Where the full closure and apt differ in names:');
    lines.push('');
    lines.push('| request | only in strata full | only in apt |');
    lines.push('| --- | --- | --- |');
    for (const o of differing) lines.push(`| ${o.request.label} | ${cell(o.onlyStrata)} | ${cell(o.onlyApt)} |`);
  }
  const failed = result.outcomes.filter((o) => o.problems.length > 0);
  if (failed.length > 0) {
    lines.push('');
    lines.push('Failed checks:');
    for (const o of failed) for (const p of o.problems) lines.push(`- ${o.request.label}: ${p}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  process.stderr.write(`locked ${REQUESTS.length * 2} specs in ${(result.timings.lockMs / 1000).toFixed(1)} s, checked in ${(result.timings.checkMs / 1000).toFixed(1)} s\n`);
  if (failed.length > 0) process.exitCode = 1;
}

await main();
