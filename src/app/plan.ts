// PURE: how the time of a shutdown is shared out (README, "The library"; docs/app-protocol.md).
// All figures are milliseconds counted from the stop (the signal, or shutdown()).
import type { BudgetSource, Plan } from './types.js';

/** Without graceful and without a timeoutMs option: Kubernetes' and lightship's 30 s. */
export const DEFAULT_BUDGET_MS = 30_000;
/** A resource's close timeout when use() does not set one (lightship's per-handler 5 s). */
export const DEFAULT_RESOURCE_TIMEOUT_MS = 5_000;
// The plan ends this far before the budget: exiting, flushing the last lines and, under
// graceful, its report take a few milliseconds, and timers fire late on a loaded machine.
// 5% of the budget, at least 50 ms, at most 1 s, and never more than half of it.
const MARGIN_SHARE = 0.05;
const MARGIN_MIN_MS = 50;
const MARGIN_MAX_MS = 1_000;

export interface PlanInput {
  /** What graceful's deadline message said was left before its kill signal, if one came. */
  gracefulMs: number | null;
  /** GRACEFUL_STOP_TIMEOUT_MS: graceful's grace period, when no deadline message came. */
  envMs: number | null;
  /** The program's own timeoutMs option. */
  optionMs: number | null;
  /** The delayMs option: keep serving, readiness already failing. */
  delayMs: number;
  /** The drainTimeoutMs option: a cap on the drain. */
  drainTimeoutMs: number | null;
  /** The timeout of each registered resource. */
  resourceTimeoutsMs: number[];
}

export type { Plan } from './types.js';

// Shares out the budget: the delay (at most half of it), then the drain, then the
// resources, whose share is the sum of their timeouts but at most half of what is left
// after the delay. The budget is the smallest of the program's timeoutMs and graceful's
// deadline; 30 s when neither is known.
export function plan(input: PlanInput): Plan {
  const platform: [number, BudgetSource] | null =
    input.gracefulMs !== null ? [input.gracefulMs, 'graceful'] : input.envMs !== null ? [input.envMs, 'env'] : null;
  let [budgetMs, budgetFrom]: [number, BudgetSource] = platform ?? [DEFAULT_BUDGET_MS, 'default'];
  if (input.optionMs !== null && (platform === null || input.optionMs < platform[0])) [budgetMs, budgetFrom] = [input.optionMs, 'option'];
  // Integers: graceful's deadline arrives as an integer, but the time since it came is not.
  budgetMs = Math.max(0, Math.floor(budgetMs));
  const margin = Math.min(Math.max(MARGIN_MIN_MS, Math.round(budgetMs * MARGIN_SHARE)), MARGIN_MAX_MS, budgetMs / 2);
  const endMs = budgetMs - margin;
  const delayMs = Math.min(Math.max(0, input.delayMs), endMs / 2);
  const left = endMs - delayMs;
  const resources = input.resourceTimeoutsMs.reduce((sum, ms) => sum + ms, 0);
  let drainMs = left - Math.min(resources, left / 2);
  if (input.drainTimeoutMs !== null) drainMs = Math.min(drainMs, Math.max(0, input.drainTimeoutMs));
  return { budgetMs, budgetFrom, endMs: round(endMs), delayMs: round(delayMs), drainEndsMs: round(delayMs + drainMs) };
}

// The time the next resource gets (issue 25: one hung resource must not take the rest of
// the plan): at most its own timeout, and at most its share of what is left, in proportion
// to its timeout among its own and those of the resources still to close after it. With
// equal timeouts and everyone hanging, each gets an equal part; whatever a resource does
// not use goes to those after it. `timeoutsMs[0]` is the next resource's.
export function resourceShare(leftMs: number, timeoutsMs: number[]): number {
  const own = Math.max(0, timeoutsMs[0] ?? 0);
  const all = timeoutsMs.reduce((sum, ms) => sum + Math.max(0, ms), 0);
  const share = all > 0 ? (Math.max(0, leftMs) * own) / all : Math.max(0, leftMs);
  return round(Math.min(own, share));
}

/** The delay on Kubernetes: lightship's default shutdownDelay, the time for the endpoints to drop the pod (kube-proxy, ingress controllers). */
export const KUBERNETES_DELAY_MS = 5_000;
/**
 * The delay on Heroku: the router still sends requests to a dyno that got SIGTERM (Heroku's
 * help article on H13 errors at a restart has the app keep running 5 s after it:
 * help.heroku.com/D5GK0FHU). Measured behind haproxy playing the router 0 to 5 s late
 * (docs/deploy.md): no delay lost 302 requests in 3 rolling deploys, 5 s none.
 */
export const HEROKU_DELAY_MS = 5_000;

// The default delay (the delayMs option wins): only a platform that routes traffic to the
// program after its stop began needs one. On Kubernetes, the endpoints follow readiness a
// few seconds late; Heroku's router too, and there the program gets the platform's SIGTERM
// itself, so that no supervisor can hold it back; in a terminal, nobody routes anything;
// and when graceful delays the signal itself (--stop-delay), the program is stopped after
// that delay and needs none of its own (graceful does not say it delays where it cannot:
// on Heroku). `platform` is what graceful reports (GRACEFUL_PLATFORM), else what the
// process sees.
export function defaultDelayMs(platform: string | null, gracefulDelays: boolean): number {
  if (gracefulDelays) return 0;
  if (platform === 'kubernetes') return KUBERNETES_DELAY_MS;
  return platform === 'heroku' ? HEROKU_DELAY_MS : 0;
}

const round = (ms: number) => Math.floor(ms);
