// PURE: facts with monotonic times -> the durations and the verdict both reports show, so
// the summary line and the JSON report can never disagree.
import { EXIT, signalStatus } from './exit.js';
import type { ChildExit, Facts, Policy, StopFacts } from './types.js';

/** How a run ended, in one word. */
export type Verdict =
  /** Asked to stop; handled the stop signal and exited with success, in time. */
  | 'clean'
  /** Asked to stop; died of the stop signal itself (no handler, or a handler that re-raised it: not visible from outside). */
  | 'signal-default'
  /** Asked to stop; had to be killed (grace period over, or a second Ctrl+C). */
  | 'escalated'
  /** Asked to stop; exited with a failure status. */
  | 'failed'
  /** Not asked to stop; ended on its own with success. */
  | 'exited'
  /** Not asked to stop; ended on its own with a failure status or a signal. */
  | 'crashed'
  /** Not ready within --ready-timeout: stopped by graceful. */
  | 'not-ready'
  /** The command could not be started. */
  | 'not-started';

export interface Timeline {
  verdict: Verdict;
  /** From the spawn to the main process's exit. */
  uptimeMs: number | null;
  /** From the spawn to ready (--ready). */
  readyMs: number | null;
  /** Was a stop asked for from outside (a signal), as opposed to none or the child's own exit? */
  requested: boolean;
  /** Offsets from the stop request. */
  preStopMs: number | null;
  signalSentAfterMs: number | null;
  killSentAfterMs: number | null;
  /** From the stop request to the end of the work (null without a requested stop): the main process's exit, or the app's when it outlived its launcher. */
  shutdownMs: number | null;
  /** From the stop request to the main process's exit (the launcher's, when there is an app behind it). */
  mainExitAfterMs: number | null;
  /** From the stop request to graceful's own stop signal to the app (its launcher did not pass it on). */
  appSignalSentAfterMs: number | null;
  /** From the stop request (or the main exit) to the last process of the tree gone. */
  treeGoneAfterMs: number | null;
  /** The grace period that applied: from the stop request to the deadline, as extended (EXTEND_TIMEOUT_USEC). */
  graceMs: number | null;
  escalated: boolean;
}

// The grace period of a stop, as it applied; null with --no-kill. The one source of the
// figure: the summary, the step lines, the JSON report and the checks all print this.
export function graceMs(stop: StopFacts): number | null {
  return stop.deadline === null ? null : round(stop.deadline - stop.requestedAt);
}

/**
 * Did the app behind a launcher outlive it? Then the app's end is the end of the work: the
 * verdict, the exit status and the shutdown time are the app's, not the launcher's (npm
 * start dies of SIGTERM at +11ms; node server.js drains and exits 0 at +1.2s).
 */
export function appOutlived(facts: Facts): boolean {
  const { app, exit, stop } = facts;
  // Only for a stop asked of it: a launcher that ended on its own (its script ran to its end)
  // speaks for itself, whatever it left behind.
  const asked = stop !== null && stop.trigger !== 'child-exit';
  return asked && app !== null && exit !== null && (app.exit === null || app.exit.at > exit.at);
}

// How the work ended: the app's exit when it outlived its launcher and graceful saw its
// status; else the main process's.
export function workExit(facts: Facts): ChildExit | null {
  const app = facts.app;
  return appOutlived(facts) && app!.exit?.known ? app!.exit : facts.exit;
}

// When the work ended: the later of the main process's exit and the app's.
function workEndAt(facts: Facts): number | null {
  if (!facts.exit) return null;
  return appOutlived(facts) && facts.app!.exit ? facts.app!.exit.at : facts.exit.at;
}

// Did the work end in a way the policy counts as success?
export function succeeded(facts: Facts, policy: Policy): boolean {
  const exit = workExit(facts);
  if (!exit) return false;
  if (exit.signal !== null) return policy.success.signals.includes(exit.signal);
  return exit.code === 0 || policy.success.codes.includes(exit.code ?? 0);
}

// What graceful exits with: 0 for anything the policy counts as success, else the child's
// code, or 128 + n for death by signal n; 126/127 when the child could not be started.
export function exitStatus(facts: Facts, policy: Policy): number {
  if (facts.spawnError) return facts.spawnError.status;
  // The child's own status would say nothing of a failed start or a memory limit.
  if (facts.stop?.trigger === 'ready-timeout') return EXIT.notReady;
  if (facts.stop?.trigger === 'memory-limit') return EXIT.overMemory;
  if (facts.stop?.trigger === 'watchdog') return EXIT.watchdog;
  const exit = workExit(facts);
  if (!exit || succeeded(facts, policy)) return 0;
  return exit.signal !== null ? signalStatus(exit.signo ?? 0) : (exit.code ?? 0);
}

// Derives durations and the verdict from the facts of a finished run.
export function timeline(facts: Facts, policy: Policy): Timeline {
  const { stop, exit } = facts;
  const requested = stop !== null && stop.trigger !== 'child-exit';
  const since = (t: number | null | undefined): number | null =>
    stop && t !== null && t !== undefined ? round(t - stop.requestedAt) : null;
  const escalated = stop?.killSentAt != null;
  return {
    verdict: verdictOf(facts, policy, requested, escalated),
    uptimeMs: exit && facts.startedAt !== null ? round(exit.at - facts.startedAt) : null,
    readyMs: facts.readyAt !== null && facts.startedAt !== null ? round(facts.readyAt - facts.startedAt) : null,
    requested,
    preStopMs:
      stop?.preStop && stop.preStop.endedAt !== null ? round(stop.preStop.endedAt - stop.preStop.startedAt) : null,
    signalSentAfterMs: since(stop?.signalSentAt),
    killSentAfterMs: since(stop?.killSentAt),
    shutdownMs: requested ? since(workEndAt(facts)) : null,
    mainExitAfterMs: since(exit?.at),
    appSignalSentAfterMs: since(facts.app?.signalSentAt),
    treeGoneAfterMs: since(facts.treeGoneAt),
    graceMs: stop ? graceMs(stop) : null,
    escalated,
  };
}

function verdictOf(facts: Facts, policy: Policy, requested: boolean, escalated: boolean): Verdict {
  if (facts.spawnError || !facts.exit) return 'not-started';
  const { stop } = facts;
  const exit = workExit(facts)!;
  if (stop?.trigger === 'ready-timeout') return 'not-ready';
  if (!requested) return succeeded(facts, policy) ? 'exited' : 'crashed';
  if (escalated) return 'escalated';
  if (exit.signal !== null && exit.signal === stop!.signal) return 'signal-default';
  return succeeded(facts, policy) ? 'clean' : 'failed';
}

function round(ms: number): number {
  return Math.round(ms);
}
