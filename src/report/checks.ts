// How graceful check reports: one line per check on stderr, a JSON report
// (graceful.check/v1) and JUnit XML, one testcase per check, which CI systems show natively.
import type { Check, Observations } from '../core/judge.js';
import { human, type Paint } from './human.js';
import type { Report } from './json.js';

export const CHECK_SCHEMA = 'graceful.check/v1';

/** One run of the check: its checks and the run's own report. */
export interface CheckRun {
  checks: Check[];
  report: Report;
  /** What graceful check saw: disposition, in-flight results, probe attempts, sockets. */
  observations: Observations;
  /** Seconds the run took, for JUnit. */
  seconds: number;
}

const MARK = { pass: 'ok  ', fail: 'FAIL', skip: 'n/a ' };

// The checklist of one run, a line per check.
export function checklist(checks: readonly Check[], paint: Paint): string[] {
  const width = Math.max(...checks.map((c) => c.name.length));
  return checks.map((c) => {
    const mark = c.ok === true ? paint.good(MARK.pass) : c.ok === false ? paint.bad(MARK.fail) : paint.dim(MARK.skip);
    return `  ${mark}  ${c.name.padEnd(width)}  ${c.detail}`;
  });
}

// Did every check that applies pass?
export function passed(checks: readonly Check[]): boolean {
  return checks.every((c) => c.ok !== false);
}

// The verdict line: "check passed: 9 checks" / "check failed: inflight, exit-status".
export function verdictLine(runs: readonly CheckRun[]): string {
  const failed = runs.filter((r) => !passed(r.checks));
  const times = runs.map((r) => r.report.exit?.shutdownMs).filter((t): t is number => t != null);
  const spread = runs.length > 1 && times.length > 0 ? `; shutdown min/median/max ${stats(times).map(human).join(' / ')}` : '';
  if (failed.length === 0) {
    const applied = runs[0]!.checks.filter((c) => c.ok === true).length;
    return `check passed: ${applied} checks${runs.length > 1 ? `, ${runs.length} runs` : ''}${spread}`;
  }
  const names = [...new Set(failed.flatMap((r) => r.checks.filter((c) => c.ok === false).map((c) => c.name)))];
  const which = runs.length > 1 ? ` in ${failed.length} of ${runs.length} runs` : '';
  return `check failed${which}: ${names.join(', ')}${spread}`;
}

// [min, median, max]
export function stats(values: readonly number[]): [number, number, number] {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return [sorted[0]!, median, sorted[sorted.length - 1]!];
}

// The graceful.check/v1 report: `checks` holds each check across runs (failed if it failed
// in any run, with that run's detail); `runs` each run's checks and graceful.report/v1.
export function checkReport(command: readonly string[], runs: readonly CheckRun[]) {
  const checks = runs[0]!.checks.map((first, i) => {
    const failing = runs.find((r) => r.checks[i]!.ok === false);
    return failing ? failing.checks[i]! : runs.every((r) => r.checks[i]!.ok === null) ? first : { ...first, ok: true };
  });
  const times = runs.map((r) => r.report.exit?.shutdownMs).filter((t): t is number => t != null);
  const [min, median, max] = times.length > 0 ? stats(times) : [null, null, null];
  return {
    schema: CHECK_SCHEMA,
    command,
    ok: runs.every((r) => passed(r.checks)),
    checks,
    shutdownMs: { min, median, max },
    runs: runs.map((r) => ({ ok: passed(r.checks), checks: r.checks, observations: r.observations, report: r.report })),
  };
}

// JUnit XML: a testsuite per run, a testcase per check; a failed check is a <failure>, one
// that does not apply is <skipped>.
export function junit(command: readonly string[], runs: readonly CheckRun[]): string {
  const name = `graceful check: ${command.join(' ')}`;
  const count = (ok: boolean | null) => runs.reduce((n, r) => n + r.checks.filter((c) => c.ok === ok).length, 0);
  const total = runs.reduce((n, r) => n + r.checks.length, 0);
  const suites = runs.map((run, i) => {
    const cases = run.checks.map((c) => {
      const head = `    <testcase classname="graceful.check" name="${xml(c.name)}">`;
      if (c.ok === false) return `${head}\n      <failure message="${xml(c.detail)}">${xml(c.detail)}</failure>\n    </testcase>`;
      if (c.ok === null) return `${head}\n      <skipped message="${xml(c.detail)}"/>\n    </testcase>`;
      return `${head}\n      <system-out>${xml(c.detail)}</system-out>\n    </testcase>`;
    });
    const failures = run.checks.filter((c) => c.ok === false).length;
    const skipped = run.checks.filter((c) => c.ok === null).length;
    const suite = runs.length > 1 ? `${name} (run ${i + 1})` : name;
    return `  <testsuite name="${xml(suite)}" tests="${run.checks.length}" failures="${failures}" skipped="${skipped}" errors="0" time="${run.seconds.toFixed(3)}">\n${cases.join('\n')}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="${xml(name)}" tests="${total}" failures="${count(false)}" skipped="${count(null)}" errors="0">\n${suites.join('\n')}\n</testsuites>\n`;
}

function xml(text: string): string {
  // Characters XML 1.0 cannot carry at all are dropped; the five specials escaped.
  return text
    .replace(/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
