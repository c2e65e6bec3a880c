// graceful up's JSON report (--report-file, graceful.stack-report/v1): for each process its
// own graceful.report/v1 (the same timeline run reports, its last run, with every run
// listed), then the order in which the stack started, found ready, asked to stop, and saw
// end each process, in milliseconds from the stack's start.
import type { StackCause, Dependency } from '../core/stack.js';
import type { Facts } from '../core/types.js';
import type { RunOptions } from '../config/options.js';
import { buildReport, summarizeRun, type Report, type ReportExtras } from './json.js';

export const STACK_REPORT_SCHEMA = 'graceful.stack-report/v1';

/** One run of a process, as the stack kept it. */
export interface ProcessRun {
  facts: Facts;
  status: number;
  extras: ReportExtras;
  wall: (at: number) => number;
  /** When the stack asked it to stop (null: it ended on its own), on the stack's clock. */
  stopAt: number | null;
  /** When its supervisor was done (its tree gone). */
  endedAt: number;
}

export interface StackReportInput {
  file: string;
  /** The stack's start, on its monotonic clock. */
  startedAt: number;
  wall: (at: number) => number;
  programs: { name: string; run: RunOptions; dependsOn: readonly Dependency[]; runs: ProcessRun[] }[];
  order: {
    started: { name: string; at: number }[];
    ready: { name: string; at: number }[];
    stopRequested: { name: string; at: number }[];
    ended: { name: string; at: number; status: number }[];
    /** graceful ctl's commands: accepted or refused when asked, then done or failed. */
    commands: { name: string; at: number; command: string; outcome: 'accepted' | 'refused' | 'done' | 'failed' }[];
  };
  stop: { cause: StackCause; requestedAt: number; endedAt: number; deadlineMs: number | null } | null;
  status: number;
}

export interface StackReport {
  schema: typeof STACK_REPORT_SCHEMA;
  file: string;
  startedAt: string;
  processes: Record<string, { dependsOn: { name: string; condition: string; restart: boolean }[]; report: Report | null }>;
  /** Each list in the order it happened; `afterMs` from the stack's start. */
  order: Record<'started' | 'ready' | 'stopRequested' | 'ended', { name: string; afterMs: number; status?: number }[]>;
  /** graceful ctl's commands, in the order they were asked and settled: accepted, refused, then done or failed. */
  commands: { name: string; command: string; outcome: string; afterMs: number }[];
  stop: null | { cause: StackCause; afterMs: number; durationMs: number; deadlineMs: number | null };
  exitStatus: number;
}

export function buildStackReport(input: StackReportInput): StackReport {
  const since = (at: number) => Math.round(at - input.startedAt);
  const processes: StackReport['processes'] = {};
  for (const p of input.programs) {
    const last = p.runs[p.runs.length - 1];
    processes[p.name] = {
      dependsOn: p.dependsOn.map((d) => ({ name: d.name, condition: d.condition, restart: d.restart })),
      report: last
        ? buildReport(last.facts, p.run, last.status, last.wall, { ...last.extras, runs: p.runs.map((r) => summarizeRun(r.facts, p.run.policy, r.wall)) })
        : null,
    };
  }
  const list = (items: { name: string; at: number; status?: number }[]) => items.map((i) => ({ name: i.name, afterMs: since(i.at), ...(i.status !== undefined ? { status: i.status } : {}) }));
  return {
    schema: STACK_REPORT_SCHEMA,
    file: input.file,
    startedAt: new Date(input.wall(input.startedAt)).toISOString(),
    processes,
    order: { started: list(input.order.started), ready: list(input.order.ready), stopRequested: list(input.order.stopRequested), ended: list(input.order.ended) },
    commands: input.order.commands.map((c) => ({ name: c.name, command: c.command, outcome: c.outcome, afterMs: since(c.at) })),
    stop: input.stop && {
      cause: input.stop.cause,
      afterMs: since(input.stop.requestedAt),
      durationMs: Math.round(input.stop.endedAt - input.stop.requestedAt),
      deadlineMs: input.stop.deadlineMs,
    },
    exitStatus: input.status,
  };
}
