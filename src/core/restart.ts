// PURE: the restart policy. After each run, decide: start again (after which delay), or
// stop for good. systemd's Restart=, RestartSec=, StartLimitBurst= / StartLimitIntervalSec=
// and PM2's min_uptime, max_restarts, exp_backoff_restart_delay, in one function of the
// history and the time.
import type { StopTrigger } from './types.js';
import { STOP_SIGNALS } from './types.js';

export type RestartMode = 'no' | 'on-failure' | 'always';

/** Why a run was restarted, in a word: the metrics' `reason` label and the JSON log's (report/metrics.ts). */
export type RestartReason =
  /** It ended on its own with success (--restart always). */
  | 'exited'
  /** It ended on its own with a failure status or a signal. */
  | 'crashed'
  /** graceful stopped it: over --max-memory. */
  | 'memory-limit'
  /** graceful stopped it: not ready within --ready-timeout. */
  | 'ready-timeout';

// Why a run that is restarted ended: graceful's own stop, else how the run ended by itself
// (its status as graceful would exit with it: 0 is success).
export function restartReason(trigger: StopTrigger | null, status: number): RestartReason {
  if (trigger === 'memory-limit' || trigger === 'ready-timeout') return trigger;
  return status === 0 ? 'exited' : 'crashed';
}

export interface RestartPolicy {
  mode: RestartMode;
  /** --restart-delay: the pause before a restart. */
  delayMs: number;
  /** --backoff: double the delay for each unstable run in a row, up to delayMaxMs. */
  backoff: boolean;
  delayMaxMs: number;
  /** --min-uptime: a run shorter than this is an unstable start. */
  minUptimeMs: number;
  /** --max-restarts within --restart-window: more unstable runs than this in the window, and graceful gives up. */
  maxRestarts: number;
  windowMs: number;
}

/** One finished run of the child. */
export interface RunRecord {
  startedAt: number;
  endedAt: number;
  /** graceful's exit status had this been the last run. */
  status: number;
  /** What stopped it: a signal graceful received, 'memory-limit', ..., or null if it ended on its own. */
  trigger: StopTrigger | null;
}

export type Decision =
  /** Start it again after `delayMs`; `streak` unstable runs in a row so far (counted up to STREAK_KEPT). */
  | { kind: 'restart'; delayMs: number; streak: number }
  /**
   * Stop for good: a stop request ('requested'); no --restart ('no-restart'); success
   * with --restart on-failure ('succeeded'); more unstable runs in the window than
   * --max-restarts ('start-limit', with their count).
   */
  | { kind: 'stop'; reason: 'requested' | 'no-restart' | 'succeeded' | 'start-limit'; unstableRuns: number };

// Stop requests from outside are final: a restart would undo what was asked. (graceful up's
// own stops are its coordinator's to follow up: core/stack.ts.)
const FINAL_TRIGGERS: ReadonlySet<StopTrigger> = new Set<StopTrigger>([...STOP_SIGNALS, 'check', 'stack']);

export function isUnstable(run: RunRecord, policy: RestartPolicy): boolean {
  return run.endedAt - run.startedAt < policy.minUptimeMs;
}

// Did the run fail (for --restart on-failure)? A failure status, or a stop graceful itself
// decided because something was wrong (over memory, not ready in time, silent watchdog).
export function failed(run: RunRecord): boolean {
  return run.status !== 0 || run.trigger === 'memory-limit' || run.trigger === 'ready-timeout' || run.trigger === 'watchdog';
}

// Unstable runs in a row beyond this many change nothing: the backoff delay reached its
// maximum long before (it doubles per run).
export const STREAK_KEPT = 64;

// The part of `history` (oldest first) that can still weigh on decide() from `now` on: the
// runs inside the window (the start limit; the window only moves forward), the unstable
// streak at the end (the backoff; up to STREAK_KEPT runs) and the last run. What a
// long-lived graceful keeps, and decide()'s work per restart, then stay bounded however
// many restarts it makes.
export function retain(history: readonly RunRecord[], policy: RestartPolicy, now: number): RunRecord[] {
  let streakStart = history.length;
  while (streakStart > 0 && history.length - streakStart < STREAK_KEPT && isUnstable(history[streakStart - 1]!, policy)) streakStart--;
  return history.filter((run, i) => i >= streakStart || i === history.length - 1 || run.endedAt > now - policy.windowMs);
}

// What to do after the last run of `history` (oldest first), at `now`.
export function decide(policy: RestartPolicy, history: readonly RunRecord[], now: number): Decision {
  const last = history[history.length - 1]!;
  const stop = (reason: 'requested' | 'no-restart' | 'succeeded' | 'start-limit', unstableRuns = 0): Decision => ({ kind: 'stop', reason, unstableRuns });
  if (last.trigger !== null && FINAL_TRIGGERS.has(last.trigger)) return stop('requested');
  if (policy.mode === 'no') return stop('no-restart');
  if (policy.mode === 'on-failure' && !failed(last)) return stop('succeeded');

  // The start limit counts unstable runs only: a service that crashes once a day after
  // running for hours is restarted for ever; one that crashes at start is given up on.
  const recent = history.filter((run) => run.endedAt > now - policy.windowMs && isUnstable(run, policy));
  if (recent.length > policy.maxRestarts) return stop('start-limit', recent.length);

  let streak = 0;
  for (let i = history.length - 1; i >= 0 && streak < STREAK_KEPT && isUnstable(history[i]!, policy); i--) streak++;
  const delayMs = policy.backoff && streak > 0 ? Math.min(policy.delayMaxMs, policy.delayMs * 2 ** (streak - 1)) : policy.delayMs;
  return { kind: 'restart', delayMs, streak };
}
