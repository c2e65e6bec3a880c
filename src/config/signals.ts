// The one table of signals: names <-> numbers, and what graceful does with each one it
// receives. Code, --help, docs/signals.md's table (held to it by a test) and the tests read it.
import { constants } from 'node:os';
import { signalStatus } from '../core/exit.js';
import type { SignalName, StopSignal } from '../core/types.js';
import { quote, UsageError } from './errors.js';

/** What graceful does when it receives a signal. */
export type Disposition =
  /** Starts the shutdown sequence (a second SIGINT while stopping forces the kill). */
  | 'stop'
  /** Passed on as-is to the child (or its process group, per --kill-mode). */
  | 'forward'
  /** Terminal job control (Ctrl+Z): the child is sent SIGSTOP, then graceful stops itself. */
  | 'suspend';

/** A row of the table: a signal that starts the stop, with or without --interactive, is a StopSignal (typed). */
export type TrappedSignal = TrappedRow &
  (
    | { name: StopSignal; disposition: 'stop'; interactive?: Disposition }
    | { name: StopSignal; disposition: Disposition; interactive: 'stop' }
    | { name: SignalName; disposition: Exclude<Disposition, 'stop'>; interactive?: Exclude<Disposition, 'stop'> }
  );

interface TrappedRow {
  name: SignalName;
  disposition: Disposition;
  /** What --interactive makes of it, where that differs: Ctrl+C is the child's, a hang-up stops it. */
  interactive?: Disposition;
  /**
   * A terminal or a shell's job control sends it to a whole process group (the foreground
   * job's, or the job's): in terminal mode the child, in graceful's group, gets it directly.
   */
  job?: true;
  why: string;
}

// Signals graceful installs a handler for. Every signal a wrapper should pass on needs a
// handler of its own: a Node process without one dies of SIGHUP (orphaning the child),
// starts the inspector on SIGUSR1, and as PID 1 the kernel drops unhandled signals.
// Not listed, on purpose: SIGKILL and SIGSTOP cannot be caught; SIGSEGV, SIGBUS, SIGFPE,
// SIGILL, SIGABRT, SIGTRAP, SIGSYS describe a fault in graceful itself; SIGPIPE is ignored
// by Node (the child gets the default back at exec); SIGCHLD is how child exits arrive;
// SIGPROF, SIGVTALRM, SIGXCPU, SIGXFSZ, SIGIO concern graceful's own timers and limits.
export const TRAPPED: readonly TrappedSignal[] = (
  [
  { name: 'SIGTERM', disposition: 'stop', why: 'the stop request of Docker, Kubernetes, systemd and kill(1)' },
  { name: 'SIGINT', disposition: 'stop', interactive: 'forward', job: true, why: 'Ctrl+C; a second one while stopping forces the kill; with --interactive, the child\'s alone' },
  { name: 'SIGHUP', disposition: 'forward', interactive: 'stop', job: true, why: 'reload requests, terminal hang-up (with --interactive, a hang-up starts the shutdown)' },
  { name: 'SIGQUIT', disposition: 'forward', job: true, why: 'Ctrl+\\, thread dumps (JVM), graceful stop of nginx' },
  { name: 'SIGUSR1', disposition: 'forward', why: 'application-defined (log reopen, ...)' },
  { name: 'SIGUSR2', disposition: 'forward', why: 'application-defined (zero-downtime reload, ...)' },
  { name: 'SIGWINCH', disposition: 'forward', job: true, why: 'terminal resized' },
  { name: 'SIGALRM', disposition: 'forward', why: 'application-defined timers sent from outside' },
  { name: 'SIGURG', disposition: 'forward', why: 'application-defined' },
  { name: 'SIGPWR', disposition: 'forward', why: 'power failure notice from a UPS daemon' },
  { name: 'SIGCONT', disposition: 'forward', job: true, why: 'resumes the child after Ctrl+Z / SIGSTOP (a shell\'s fg and bg send it to the whole job)' },
  { name: 'SIGTSTP', disposition: 'suspend', job: true, why: 'Ctrl+Z: graceful stops with the child. In terminal mode the child gets it from the terminal; in a session of its own, where the kernel discards job-control stops, it is sent SIGSTOP' },
  { name: 'SIGTTIN', disposition: 'suspend', job: true, why: 'job control, as SIGTSTP' },
  { name: 'SIGTTOU', disposition: 'suspend', job: true, why: 'job control, as SIGTSTP' },
  ] satisfies TrappedSignal[]
).filter((s) => s.name in constants.signals);

const BY_NUMBER = new Map<number, SignalName>();
for (const [name, num] of Object.entries(constants.signals) as [SignalName, number][]) {
  // Aliases (SIGIOT = SIGABRT, SIGPOLL = SIGIO): keep the first, canonical name.
  if (!BY_NUMBER.has(num)) BY_NUMBER.set(num, name);
}

// Linux's real-time signals: 32 and 33 are glibc's own, SIGRTMIN is 34, SIGRTMAX 64.
const RTMIN = 34;
const RTMAX = 64;

// The signal's name for its number on this platform (a real-time one as SIGRTMIN+n), or null.
export function signalName(num: number): SignalName | null {
  const known = BY_NUMBER.get(num);
  if (known) return known;
  return Number.isInteger(num) && num >= RTMIN && num <= RTMAX ? `SIGRTMIN+${num - RTMIN}` : null;
}

// The signal's number on this platform, or null for an unknown name.
export function signalNumber(name: SignalName): number | null {
  const rt = /^SIGRTMIN\+(\d+)$/.exec(name);
  if (rt) return signalName(RTMIN + Number(rt[1])) === name ? RTMIN + Number(rt[1]) : null;
  return (constants.signals as Record<string, number>)[name] ?? null;
}

// Parses SIGTERM, TERM, term or 15 into the canonical name; throws a UsageError naming `what`.
export function parseSignal(input: string, what: string): SignalName {
  const raw = input.trim();
  if (/^\d+$/.test(raw)) {
    const name = BY_NUMBER.get(Number(raw));
    if (name) return name;
    throw new UsageError(what, `expected a signal name like SIGTERM or a signal number from 1 to ${maxSignal()}, got ${quote(input)}`);
  }
  const upper = raw.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  if (isSignalName(name)) return name;
  throw new UsageError(what, `expected a signal name like SIGTERM, TERM or a number like 15, got ${quote(input)}`);
}

function maxSignal(): number {
  return Math.max(...BY_NUMBER.keys());
}

// Whether this platform knows a signal by that name.
export function isSignalName(name: string): name is SignalName {
  return name in constants.signals;
}

// What graceful exits with when the child (or graceful check itself) died of a signal:
// core/exit.ts's rule, 128 + n, for the signal's number on this platform.
export function statusForSignal(name: SignalName): number {
  return signalStatus(signalNumber(name) ?? 0);
}

// Signals that a process cannot catch, block or ignore.
export const UNCATCHABLE: ReadonlySet<SignalName> = new Set<SignalName>(['SIGKILL', 'SIGSTOP']);
