// The channel between a program using the library and graceful (docs/app-protocol.md).
// PURE: no I/O and no imports, so that graceful's CLI can read the same definitions
// without loading the library.

/** The path of the Unix stream socket graceful listens on for the program's phases. */
export const STATUS_SOCKET_VAR = 'GRACEFUL_STATUS_SOCKET';
/** graceful's grace period (--timeout) in milliseconds, counted from its stop request. */
export const STOP_TIMEOUT_VAR = 'GRACEFUL_STOP_TIMEOUT_MS';
export const PROTOCOL_VERSION = 1;

/** How each close step ended. */
export type Outcome = 'closed' | 'failed' | 'timeout';

/** What one source of work (a server, a worker) did during the drain. */
export interface SourceCounts {
  name: string;
  /** Work in flight when it stopped accepting. */
  inflight: number;
  /** Work that finished during the drain (for HTTP: requests answered, including those that came on kept-alive connections meanwhile). */
  completed: number;
  /** Work abandoned at the drain deadline (for HTTP: connections destroyed mid-request). */
  cut: number;
  /** Why its stop or drain threw, if it did. */
  error: string | null;
}

/**
 * One phase of the program's life, as sent to graceful (one JSON line each, with `v`) and
 * as logged without it. Times: `afterMs` counts from the stop (the signal or shutdown()).
 */
export type Phase =
  /** First on the channel: which process speaks (it may be a descendant of graceful's child), and its name in log lines. */
  | { phase: 'hello'; pid: number; name: string }
  /** A resource opened, `ms` after use() was called; `order`: its place in the acquisition order (use() calls, from 0), which the closes reverse. */
  | { phase: 'opened'; name: string; order: number; ms: number }
  /** life.ready(): ready for work (sd_notify READY=1). `uptimeMs`: since the process started. */
  | { phase: 'ready'; uptimeMs: number }
  /**
   * A stop began (sd_notify STOPPING=1): what asked for it, and the plan: the whole shutdown
   * should take `budgetMs` (its source says who decided), the delay `delayMs`, and the
   * drain ends `drainEndsMs` after the stop at the latest.
   */
  | {
      phase: 'stopping';
      trigger: string;
      reason: string | null;
      budgetMs: number;
      budgetFrom: BudgetSource;
      delayMs: number;
      drainEndsMs: number;
    }
  /** Every registered server and worker stopped taking new work; `inflight` were running. */
  | { phase: 'not-accepting'; afterMs: number; inflight: number; sources: string[] }
  /** In-flight work is over: finished, or cut at the drain deadline (`ms`: drain time). */
  | { phase: 'drained'; afterMs: number; ms: number; completed: number; cut: number; sources: SourceCounts[] }
  /** A resource starts closing (reverse order of acquisition), with its own timeout. */
  | { phase: 'closing'; afterMs: number; name: string; timeoutMs: number }
  /** A resource is done closing: how, after how long, and the error if it failed. */
  | { phase: 'closed'; afterMs: number; name: string; ms: number; outcome: Outcome; error: string | null }
  /** The shutdown is over; `ok`: everything drained and closed. The process exits with `exitCode`. */
  | { phase: 'done'; afterMs: number; ok: boolean; exitCode: number }
  /** A second stop signal: the process exits now, with `exitCode`, skipping what is left. */
  | { phase: 'forced'; afterMs: number; signal: string; exitCode: number };

/** Every phase, in the order a life goes through them (docs and tests read this list). */
export const PHASES = ['hello', 'opened', 'ready', 'stopping', 'not-accepting', 'drained', 'closing', 'closed', 'done', 'forced'] as const;
/** `true` only when PHASES and the union name the same phases (a test assigns it `true`). */
export type PhasesComplete = [Exclude<Phase['phase'], (typeof PHASES)[number]> | Exclude<(typeof PHASES)[number], Phase['phase']>] extends [never] ? true : never;

/** Who set the shutdown's budget: graceful's deadline message, its environment, the program's option, or the default. */
export type BudgetSource = 'graceful' | 'env' | 'option' | 'default';

/** From graceful to the program: its kill signal comes `deadlineMs` after this message, unless the program has exited. */
export interface DeadlineMessage {
  v: number;
  deadlineMs: number;
}

// One line of the channel, as sent.
export function encode(phase: Phase): string {
  return `${JSON.stringify({ v: PROTOCOL_VERSION, ...phase })}\n`;
}

// Reads one line from the program; null if it is not a phase of this protocol version.
export function parsePhase(line: string): Phase | null {
  const value = parseObject(line);
  if (!value || value.v !== PROTOCOL_VERSION || typeof value.phase !== 'string') return null;
  const { v: _, ...phase } = value;
  return phase as Phase;
}

// Reads one line from graceful; the deadline in milliseconds, or null if it is not a deadline message.
export function parseDeadline(line: string): number | null {
  const value = parseObject(line);
  if (!value || value.v !== PROTOCOL_VERSION) return null;
  const ms = value.deadlineMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? ms : null;
}

// The deadline message graceful sends just before its stop signal.
export function encodeDeadline(deadlineMs: number): string {
  return `${JSON.stringify({ v: PROTOCOL_VERSION, deadlineMs: Math.max(0, Math.round(deadlineMs)) })}\n`;
}

function parseObject(line: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
