// graceful check of a stack (check -f FILE, up --check), once the stack is over: each
// program's facts for core/stack-judge.ts, the checklist, the verdict line and graceful's
// exit status. Pure.
import { EXIT } from '../../core/exit.js';
import { judgeStack, type StackFact } from '../../core/stack-judge.js';
import type { StackState } from '../../core/stack.js';
import { timeline } from '../../core/timeline.js';
import { checklist, passed } from '../../report/checks.js';
import type { Paint } from '../../report/human.js';
import { causeLine, type ProgramRuns, type Programs } from './narration.js';

// One program's facts for the stack check: its last run.
export function stackFact(p: ProgramRuns): StackFact {
  const run = p.runs[p.runs.length - 1];
  const f = run?.facts ?? null;
  const tl = f ? timeline(f, p.entry.run.policy) : null;
  return {
    name: p.entry.name,
    dependsOn: p.entry.dependsOn,
    startedAt: f?.startedAt ?? null,
    readyAt: f?.readyAt ?? null,
    stopAt: run?.stopAt ?? null,
    exitAt: f?.exit?.at ?? null,
    goneAt: f ? (f.treeGoneAt ?? f.exit?.at ?? null) : null,
    verdict: tl?.verdict ?? null,
    shutdownMs: tl?.shutdownMs ?? null,
    graceMs: tl?.graceMs ?? null,
  };
}

// The stack's checklist and verdict, a line each, and graceful's status: it passes if every
// check passed and the stack came up (graceful check stopped it). `stop`: when the stack's
// stop began and ended, and its deadline (null: it did not stop).
export function stackVerdict(
  state: StackState,
  programs: Programs,
  stop: { requestedAt: number; endedAt: number; deadlineMs: number | null } | null,
  paint: Paint,
): { lines: string[]; status: number } {
  const checks = judgeStack([...programs.values()].map(stackFact), stop);
  const cameUp = state.cause?.kind === 'check';
  const ok = passed(checks) && cameUp;
  const failed = checks.filter((c) => c.ok === false).map((c) => c.name);
  const why = cameUp ? '' : `the stack did not come up (${state.cause ? causeLine(state.cause, stop?.requestedAt ?? 0, programs) : 'no cause'})`;
  const lines = checklist(checks, paint).map((line) => line.trimStart());
  lines.push(ok ? `check passed: ${checks.filter((c) => c.ok).length} checks, ${programs.size} processes` : `check failed: ${[why, ...failed].filter(Boolean).join('; ')}`);
  return { lines, status: ok ? EXIT.ok : EXIT.checkFailed };
}
