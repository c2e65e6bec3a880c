// The channel between a program using the library and graceful (docs/app-protocol.md).
// PURE: no I/O, and no import but the public types (types.ts), so that graceful's CLI can
// read the same definitions without loading the library.

/** The path of the Unix stream socket graceful listens on for the program's phases. */
export const STATUS_SOCKET_VAR = 'GRACEFUL_STATUS_SOCKET';
/** graceful's grace period (--timeout) in milliseconds, counted from its stop request. */
export const STOP_TIMEOUT_VAR = 'GRACEFUL_STOP_TIMEOUT_MS';
/**
 * Where graceful runs: `terminal` (a person at Ctrl+C), a platform it recognised
 * (`kubernetes`, `docker`, `systemd`, `pm2`, `supervisord`), or `unknown`. The library's
 * default delay follows it.
 */
export const PLATFORM_VAR = 'GRACEFUL_PLATFORM';
/** graceful's own --stop-delay in milliseconds, when it has one: it keeps the program serving before the signal. */
export const STOP_DELAY_VAR = 'GRACEFUL_STOP_DELAY_MS';
export const PROTOCOL_VERSION = 1;

// One Ctrl+C can reach a process twice: from the terminal (to the whole foreground group),
// and again from a wrapper in the same group that forwards it (npm, yarn, make -j, a shell).
// Copies this close to the first request are the same keypress; a person's second press
// comes later than this. graceful (core/machine.ts) and the library read the same window.
export const ECHO_WINDOW_MS = 200;

export type { BudgetSource, Outcome, Phase, SourceCounts } from './types.js';
import type { Phase } from './types.js';

/** Every phase, in the order a life goes through them (docs and tests read this list). */
export const PHASES = ['hello', 'opened', 'ready', 'stopping', 'not-accepting', 'drained', 'closing', 'closed', 'done', 'forced'] as const;
/** `true` only when PHASES and the union name the same phases (a test assigns it `true`). */
export type PhasesComplete = [Exclude<Phase['phase'], (typeof PHASES)[number]> | Exclude<(typeof PHASES)[number], Phase['phase']>] extends [never] ? true : never;

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
