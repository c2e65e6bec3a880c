// PURE: how the time of a shutdown is shared out (README, "The library"; docs/app-protocol.md).
// All figures are milliseconds counted from the stop (the signal, or shutdown()).
import type { BudgetSource } from './protocol.js';

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

export interface Plan {
  /** The whole shutdown must end by then (the platform's kill, or the program's own limit). */
  budgetMs: number;
  budgetFrom: BudgetSource;
  /** The plan ends here, a margin before the budget: the last resource is cut off then. */
  endMs: number;
  /** Readiness fails at once; new work is still taken until the delay is over. */
  delayMs: number;
  /** The drain is cut at this time: the resources keep their share of what is left. */
  drainEndsMs: number;
}

// Shares out the budget: the delay (at most half of it), then the drain, then the
// resources, whose share is the sum of their timeouts but at most half of what is left
// after the delay. The budget is the smallest of the program's timeoutMs and graceful's
// deadline; 30 s when neither is known.
export function plan(input: PlanInput): Plan {
  const platform: [number, BudgetSource] | null =
    input.gracefulMs !== null ? [input.gracefulMs, 'graceful'] : input.envMs !== null ? [input.envMs, 'env'] : null;
  let [budgetMs, budgetFrom]: [number, BudgetSource] = platform ?? [DEFAULT_BUDGET_MS, 'default'];
  if (input.optionMs !== null && (platform === null || input.optionMs < platform[0])) [budgetMs, budgetFrom] = [input.optionMs, 'option'];
  budgetMs = Math.max(0, budgetMs);
  const margin = Math.min(Math.max(MARGIN_MIN_MS, Math.round(budgetMs * MARGIN_SHARE)), MARGIN_MAX_MS, budgetMs / 2);
  const endMs = budgetMs - margin;
  const delayMs = Math.min(Math.max(0, input.delayMs), endMs / 2);
  const left = endMs - delayMs;
  const resources = input.resourceTimeoutsMs.reduce((sum, ms) => sum + ms, 0);
  let drainMs = left - Math.min(resources, left / 2);
  if (input.drainTimeoutMs !== null) drainMs = Math.min(drainMs, Math.max(0, input.drainTimeoutMs));
  return { budgetMs, budgetFrom, endMs: round(endMs), delayMs: round(delayMs), drainEndsMs: round(delayMs + drainMs) };
}

const round = (ms: number) => Math.floor(ms);
