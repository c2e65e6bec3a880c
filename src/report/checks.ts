// How graceful check reports: one line per check on stderr, a JSON report
// (graceful.check/v1) and JUnit XML, one testcase per check, which CI systems show natively.
import type { Check, CheckStatus, Observations } from '../core/judge.js';
import type { KillMode } from '../core/types.js';
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

// How the stop reaches the program in this check, in the words of the platform it reproduces.
export function semantics(mode: KillMode): string {
  switch (mode) {
    case 'mixed':
      return 'stop signal to the main process only (as docker stop and Kubernetes send it; --kill-mode mixed)';
    case 'group':
      return 'stop signal to every process of its tree (as systemd sends it to a control group; --kill-mode group)';
    case 'process':
      return 'stop and kill signals to the main process only (as supervisord sends them; --kill-mode process)';
  }
}

const MARK: Record<CheckStatus, string> = { ok: 'ok', fail: 'FAIL', 'n/a': 'n/a', 'not run': 'not run' };
const MARK_WIDTH = Math.max(...Object.values(MARK).map((m) => m.length));

// The checklist of one run (or of a stack), a line per check.
export function checklist(checks: readonly Check<string>[], paint: Paint): string[] {
  const width = Math.max(...checks.map((c) => c.name.length));
  return checks.map((c) => {
    const text = MARK[c.status].padEnd(MARK_WIDTH);
    const mark = c.status === 'ok' ? paint.good(text) : c.status === 'fail' ? paint.bad(text) : paint.dim(text);
    return `  ${mark}  ${c.name.padEnd(width)}  ${c.detail}`;
  });
}

// Did every check that applies pass?
export function passed(checks: readonly Check<string>[]): boolean {
  return checks.every((c) => c.ok !== false);
}

// Did the run pass: no check failed, and it was not interrupted.
export function runPassed(run: CheckRun): boolean {
  return passed(run.checks) && run.observations.aborted === null;
}

/** The run that was interrupted, if one was (it is the last: nothing runs after an abort). */
export function abortedRun(runs: readonly CheckRun[]): CheckRun | null {
  return runs.find((r) => r.observations.aborted !== null) ?? null;
}

// "check aborted by SIGTERM at +3.00s, before its stop"
export function abortPhrase(run: CheckRun): string {
  const a = run.observations.aborted!;
  const when = run.report.stop?.trigger === 'check' ? 'during its stop' : 'before its stop';
  return `check aborted by ${a.signal} at +${human(a.afterMs)}, ${when}`;
}

// The verdict line: "check passed: 9 checks" / "check failed: inflight, exit-status" /
// "check aborted by SIGTERM at +3.00s, before its stop: no check was completed".
export function verdictLine(runs: readonly CheckRun[]): string {
  const failed = runs.filter((r) => !passed(r.checks));
  const times = runs.map((r) => r.report.exit?.shutdownMs).filter((t): t is number => t != null);
  const spread = runs.length > 1 && times.length > 0 ? `; shutdown min/median/max ${stats(times).map(human).join(' / ')}` : '';
  const aborted = abortedRun(runs);
  if (aborted) {
    const count = (status: CheckStatus) => aborted.checks.filter((c) => c.status === status).length;
    const done = count('ok') + count('fail');
    const tally = done === 0 ? 'no check was completed' : `${count('ok')} passed, ${count('fail')} failed, ${count('not run')} not run`;
    const which = runs.length > 1 ? ` (run ${runs.length})` : '';
    return `${abortPhrase(aborted)}${which}: ${tally}`;
  }
  if (failed.length === 0) {
    const applied = runs[0]!.checks.filter((c) => c.ok === true).length;
    // A check not run is never a quiet pass: the line names each one.
    const notRun = notRunNames(runs);
    const skipped = notRun.length > 0 ? `, ${notRun.length} not run (${notRun.join(', ')})` : '';
    return `check passed: ${applied} checks${skipped}${runs.length > 1 ? `, ${runs.length} runs` : ''}${spread}`;
  }
  const names = [...new Set(failed.flatMap((r) => r.checks.filter((c) => c.ok === false).map((c) => c.name)))];
  const which = runs.length > 1 ? ` in ${failed.length} of ${runs.length} runs` : '';
  return `check failed${which}: ${names.join(', ')}${spread}`;
}

// The checks not run in any run, in checklist order.
export function notRunNames(runs: readonly CheckRun[]): string[] {
  return [...new Set(runs.flatMap((r) => r.checks.filter((c) => c.status === 'not run').map((c) => c.name)))];
}

// [min, median, max]
export function stats(values: readonly number[]): [number, number, number] {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return [sorted[0]!, median, sorted[sorted.length - 1]!];
}

// The graceful.check/v1 report: `checks` holds each check across runs (failed if it failed
// in any run, with that run's detail; passed only if it passed in every run that performed
// it); `runs` each run's checks and graceful.report/v1.
export function checkReport(command: readonly string[], runs: readonly CheckRun[]) {
  const checks = runs[0]!.checks.map((first, i) => {
    const all = runs.map((r) => r.checks[i]!);
    const failing = all.find((c) => c.status === 'fail');
    if (failing) return failing;
    return all.find((c) => c.status === 'ok') ?? all.find((c) => c.status === 'not run') ?? first;
  });
  const times = runs.map((r) => r.report.exit?.shutdownMs).filter((t): t is number => t != null);
  const [min, median, max] = times.length > 0 ? stats(times) : [null, null, null];
  const aborted = abortedRun(runs);
  return {
    schema: CHECK_SCHEMA,
    command,
    ok: runs.every(runPassed),
    aborted: aborted && { ...aborted.observations.aborted!, run: runs.indexOf(aborted) + 1 },
    /** The checks not performed (the option that runs each is in its detail); with --require-all they fail instead. */
    notRun: notRunNames(runs),
    checks,
    shutdownMs: { min, median, max },
    runs: runs.map((r) => ({ ok: runPassed(r), checks: r.checks, observations: r.observations, report: r.report })),
  };
}

// JUnit XML: a testsuite per run, a testcase per check; a failed check is a <failure>, one
// that does not apply or was not run is <skipped>; an interrupted run has an <error>.
export function junit(command: readonly string[], runs: readonly CheckRun[]): string {
  const name = `graceful check: ${command.join(' ')}`;
  const count = (status: CheckStatus | 'skip') =>
    runs.reduce((n, r) => n + r.checks.filter((c) => (status === 'skip' ? c.ok === null : c.status === status)).length, 0);
  const errors = runs.filter((r) => r.observations.aborted !== null).length;
  const total = runs.reduce((n, r) => n + r.checks.length, 0) + errors;
  const suites = runs.map((run, i) => {
    const cases = run.checks.map((c) => {
      const head = `    <testcase classname="graceful.check" name="${xml(c.name)}">`;
      if (c.ok === false) return `${head}\n      <failure message="${xml(c.detail)}">${xml(c.detail)}</failure>\n    </testcase>`;
      if (c.ok === null) return `${head}\n      <skipped message="${xml(`${c.status}: ${c.detail}`)}"/>\n    </testcase>`;
      return `${head}\n      <system-out>${xml(c.detail)}</system-out>\n    </testcase>`;
    });
    if (run.observations.aborted) {
      const text = abortPhrase(run);
      cases.push(`    <testcase classname="graceful.check" name="aborted">\n      <error message="${xml(text)}" type="${xml(run.observations.aborted.signal)}">${xml(text)}</error>\n    </testcase>`);
    }
    const failures = run.checks.filter((c) => c.ok === false).length;
    const skipped = run.checks.filter((c) => c.ok === null).length;
    const suite = runs.length > 1 ? `${name} (run ${i + 1})` : name;
    const runErrors = run.observations.aborted ? 1 : 0;
    return `  <testsuite name="${xml(suite)}" tests="${run.checks.length + runErrors}" failures="${failures}" skipped="${skipped}" errors="${runErrors}" time="${run.seconds.toFixed(3)}">\n${cases.join('\n')}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="${xml(name)}" tests="${total}" failures="${count('fail')}" skipped="${count('skip')}" errors="${errors}">\n${suites.join('\n')}\n</testsuites>\n`;
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
