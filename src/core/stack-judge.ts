// PURE: graceful check for a stack (check -f FILE, up --check): from what each process's
// supervisor recorded, did the stack start in order, stop in order and in time, and was no
// process gone while a process that depends on it still ran?
import { graded, type Check } from './judge.js';
import type { Dependency } from './stack.js';
import type { Verdict } from './timeline.js';

export const STACK_CHECKS = ['started-in-order', 'stopped-in-order', 'not-gone-before-dependents', 'stopped-in-time', 'within-deadline'] as const;
export type StackCheckName = (typeof STACK_CHECKS)[number];

export type StackCheck = Check<StackCheckName>;

/** One process, as its last run went (monotonic times). */
export interface StackFact {
  name: string;
  dependsOn: readonly Dependency[];
  startedAt: number | null;
  readyAt: number | null;
  /** When the stack asked it to stop (null: it was not asked). */
  stopAt: number | null;
  /** When it was gone: its main process and the rest of its tree. */
  goneAt: number | null;
  /** When its main process exited. */
  exitAt: number | null;
  verdict: Verdict | null;
  /** From the stop request to its exit. */
  shutdownMs: number | null;
  graceMs: number | null;
}

export interface StackStop {
  requestedAt: number;
  endedAt: number;
  deadlineMs: number | null;
}

// Judges the stack's run; every check has a verdict (ok, fail, or n/a with why).
export function judgeStack(facts: readonly StackFact[], stop: StackStop | null): StackCheck[] {
  const by = new Map(facts.map((f) => [f.name, f]));
  const edges = facts.flatMap((f) => f.dependsOn.map((d) => ({ from: f, to: by.get(d.name)!, d })));
  const check = (name: StackCheckName, problems: string[], okDetail: string, na: string | null = null): StackCheck =>
    na !== null ? graded(name, null, na) : problems.length === 0 ? graded(name, true, okDetail) : graded(name, false, problems.join('; '));
  const ms = (n: number) => `${Math.round(n)}ms`;

  const startProblems: string[] = [];
  for (const { from, to, d } of edges) {
    if (from.startedAt === null) continue;
    const met = d.condition === 'ready' ? to.readyAt : d.condition === 'completed' ? to.exitAt : to.startedAt;
    if (met === null || met > from.startedAt) startProblems.push(`${from.name} started before ${to.name} was ${d.condition}`);
  }

  const orderProblems: string[] = [];
  const goneProblems: string[] = [];
  for (const { from, to, d } of edges) {
    if (d.condition === 'completed') continue; // a task that ended before anything stopped
    if (from.goneAt === null) continue;
    if (to.stopAt !== null && to.stopAt < from.goneAt) orderProblems.push(`${to.name} was asked to stop ${ms(from.goneAt - to.stopAt)} before ${from.name}, which depends on it, was gone`);
    if (to.goneAt !== null && to.goneAt < from.goneAt && !(to.stopAt !== null && to.stopAt < from.goneAt)) {
      goneProblems.push(`${to.name} was gone ${ms(from.goneAt - to.goneAt)} before ${from.name}, which depends on it${to.stopAt === null ? ' (it ended on its own)' : ''}`);
    }
  }

  const timeProblems = facts
    .filter((f) => f.stopAt !== null && f.verdict !== null && f.verdict !== 'clean')
    .map((f) => `${f.name} ${f.verdict === 'escalated' ? `had to be killed after its ${f.graceMs === null ? '' : ms(f.graceMs)} grace period` : f.verdict === 'signal-default' ? 'died of its stop signal' : `ended ${f.verdict}`}`);

  const order = stopOrder(facts);
  const took = stop ? stop.endedAt - stop.requestedAt : null;
  return [
    check('started-in-order', startProblems, 'each process started once its dependencies met their condition'),
    check('stopped-in-order', orderProblems, `each process was asked to stop once its dependents were gone: ${order}`, stop ? null : 'the stack did not stop'),
    check('not-gone-before-dependents', goneProblems, 'no process was gone while a process that depends on it still ran', stop ? null : 'the stack did not stop'),
    check('stopped-in-time', timeProblems, `each process stopped cleanly within its grace period (${facts.filter((f) => f.shutdownMs !== null).map((f) => `${f.name} ${ms(f.shutdownMs!)}`).join(', ')})`, stop ? null : 'the stack did not stop'),
    stop && stop.deadlineMs !== null && took !== null
      ? check('within-deadline', took > stop.deadlineMs ? [`the stop took ${ms(took)}, more than the ${ms(stop.deadlineMs)} deadline`] : [], `the stop took ${ms(took!)} of ${ms(stop.deadlineMs)}`)
      : check('within-deadline', [], '', 'no deadline for the whole stop (--timeout, --preset)'),
  ];
}

// "api, worker, then db, then redis": the processes grouped by when they were asked to stop.
function stopOrder(facts: readonly StackFact[]): string {
  const asked = facts.filter((f) => f.stopAt !== null).sort((a, b) => a.stopAt! - b.stopAt!);
  const groups: string[][] = [];
  let last = -Infinity;
  for (const f of asked) {
    if (f.stopAt! - last > 1) groups.push([]);
    groups[groups.length - 1]!.push(f.name);
    last = f.stopAt!;
  }
  return groups.map((g) => g.join(', ')).join(', then ');
}
