import type { Phase as AppPhase } from '../app/protocol.js';

// PURE: the vocabulary of the shutdown machine. No I/O, no clock: every event carries `at`,
// a monotonic time in milliseconds supplied by the shell.

/**
 * A signal, by the name Linux gives it (the names Node's os.constants.signals has there).
 * config/signals.ts turns what the user typed into one of these, and numbers into names.
 */
export type SignalName =
  | 'SIGHUP' | 'SIGINT' | 'SIGQUIT' | 'SIGILL' | 'SIGTRAP' | 'SIGABRT' | 'SIGIOT' | 'SIGBUS'
  | 'SIGFPE' | 'SIGKILL' | 'SIGUSR1' | 'SIGSEGV' | 'SIGUSR2' | 'SIGPIPE' | 'SIGALRM' | 'SIGTERM'
  | 'SIGCHLD' | 'SIGSTKFLT' | 'SIGCONT' | 'SIGSTOP' | 'SIGTSTP' | 'SIGTTIN' | 'SIGTTOU' | 'SIGURG'
  | 'SIGXCPU' | 'SIGXFSZ' | 'SIGVTALRM' | 'SIGPROF' | 'SIGWINCH' | 'SIGIO' | 'SIGPOLL' | 'SIGPWR'
  | 'SIGSYS'
  /** A real-time signal (34 to 64 on Linux), named as kill -l and strace name it. */
  | `SIGRTMIN+${number}`;

/** systemd's KillMode, with systemd's meaning. */
export type KillMode =
  /** Stop and kill signals go to the child's whole tree (process group, session, descendants). */
  | 'group'
  /** The stop signal goes to the main process only; the kill signal to the whole tree. */
  | 'mixed'
  /** Both go to the main process only; the rest of the tree is left alone. */
  | 'process';

/**
 * Where a signal is sent: the main child process, or its whole tree; the app behind a
 * launcher; or, in terminal mode, the processes of the tree outside graceful's process
 * group, when the terminal or the shell has already signalled that group (the child in it)
 * with the same signal.
 */
export type Target = 'main' | 'tree' | 'app' | 'outside-group';

/** How to stop the child: the resolved options that the machine decides with. */
export interface Policy {
  /** Grace period, from the stop request to the kill signal (pre-stop and stop delay included). */
  timeoutMs: number;
  /** The stop signal; null forwards the signal graceful received (SIGTERM or SIGINT). */
  stopSignal: SignalName | null;
  /** Sent when the grace period runs out, or on a second Ctrl+C. */
  killSignal: SignalName;
  /** False with --no-kill: never escalate. */
  kill: boolean;
  killMode: KillMode;
  /** Send SIGCONT right after the stop signal, so a stopped process can handle it (systemd). */
  sigcont: boolean;
  /** --pre-stop: a shell command run before the stop signal. */
  preStop: string | null;
  /** --stop-delay: keep the child serving this long before signalling it. */
  stopDelayMs: number;
  /**
   * --stop-delay auto: instead of a fixed delay, send the stop signal once no new work has
   * reached the program for `quietMs` (the load balancer has stopped sending it), never
   * sooner than `floorMs` and never later than `capMs` after the stop request.
   */
  stopDelayAuto?: AutoDelay | null;
  /**
   * The platform sends its stop signal to every process itself (Heroku): the child already
   * has it when graceful does, so graceful sends the same signal to none of them again.
   */
  platformSignalsTree?: boolean;
  /** Exit codes and signals counted as success (mapped to exit status 0). */
  success: { codes: readonly number[]; signals: readonly SignalName[] };
  /** --ready-timeout: stop the child if it is not ready this long after the spawn; null without --ready. */
  readyTimeoutMs: number | null;
  /** How the user wrote it (--ready-timeout, GRACEFUL_READY_TIMEOUT, a stack file's ready_timeout), for messages. */
  readyTimeoutFrom?: string;
  /** --ready app: the program's own ready phase (graceful-supervisor/app's life.ready()) makes it ready. */
  readyOnAppPhase?: boolean;
  /**
   * graceful check: when a launcher (npm start, sh -c) exits before the program it started,
   * that program is stopped and watched as the main process would be (sent the stop signal if
   * the launcher did not pass it on), so that it is judged apart from its launcher. graceful
   * run keeps the kill mode's meaning instead (mixed: the rest is killed when the main exits).
   */
  followApp: boolean;
}

/** --stop-delay auto's bounds (docs/deploy.md). */
export interface AutoDelay {
  floorMs: number;
  quietMs: number;
  capMs: number;
}

/** What --stop-delay auto saw of the work still reaching the program after the stop request. */
export interface TrafficFacts {
  /** New connections and requests seen after the stop request. */
  arrivals: number;
  /** When the last of them arrived; null if none did. */
  lastArrivalAt: number | null;
  /** False when graceful could not watch (no listening socket found, no sock_diag): the floor was used. */
  watched: boolean;
  /** When the latest reading began: what came before it is in the figures above; null before the first. */
  seenUntil: number | null;
}

/** How the main child process ended. `signo` is the platform's number for `signal`. */
export interface ChildExit {
  at: number;
  code: number | null;
  signal: SignalName | null;
  signo: number | null;
}

/** The run of a --pre-stop hook. */
export interface PreStopRun {
  startedAt: number;
  endedAt: number | null;
  code: number | null;
  signal: SignalName | null;
  /** Why it could not run or what went wrong, in a few words. */
  error: string | null;
  /** Stopped by graceful: the grace period ran out, or the child exited first. */
  cancelled: boolean;
}

/**
 * The signals that ask graceful to stop the child: SIGTERM (docker stop, kubectl, systemd,
 * kill(1)), SIGINT (Ctrl+C) and SIGHUP (a closed terminal, with --interactive; otherwise it
 * is passed on). The 'stop' rows of config/signals.ts's table can only name these (typed).
 */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

// Whether a stop's trigger is one of the stop signals (else graceful's own reason).
export function isStopSignal(trigger: string | null): trigger is StopSignal {
  return (STOP_SIGNALS as readonly (string | null)[]).includes(trigger);
}

/** graceful's own reasons to stop the child. */
export type OwnStop =
  /** graceful check stops it once it is ready and loaded. */
  | 'check'
  /** It was not ready within --ready-timeout. */
  | 'ready-timeout'
  /** Its tree went over --max-memory. */
  | 'memory-limit'
  /** A reload replaced it: a newer generation is ready and serves (core/generations.ts). */
  | 'reload'
  /** graceful up stops it with the rest of the stack, or before a process it depends on restarts. */
  | 'stack'
  /** Under a service manager's watchdog (WatchdogSec=) with --ready notify, it missed its WATCHDOG=1 pings. */
  | 'watchdog';

/** What asked for a stop. */
export type StopTrigger =
  | StopSignal
  | OwnStop
  /** The child said it is stopping on its own (sd_notify STOPPING=1): its grace period starts. */
  | 'child-stopping'
  /** The main process ended on its own and left part of its tree: the rest is stopped. */
  | 'child-exit';

/** What happened during a stop: first causes are recorded once and never rewritten. */
export interface StopFacts {
  /** What asked for the stop. */
  trigger: StopTrigger;
  requestedAt: number;
  /** When the kill signal is due; null with --no-kill. */
  deadline: number | null;
  preStop: PreStopRun | null;
  /** The stop signal, once sent (never, when the child stopped on its own). */
  signal: SignalName | null;
  signalSentAt: number | null;
  sigcontSentAt: number | null;
  /** Further stop requests received while stopping. */
  repeats: number;
  killSignal: SignalName | null;
  killSentAt: number | null;
  /** The kill came from a second Ctrl+C rather than the timeout. */
  forced: boolean;
  /** Why the kill signal was sent: the deadline passed, a second SIGINT, or (kill mode mixed) the main process exited. */
  killReason: KillReason | null;
  /** The trigger reached the child directly, from the terminal or the shell (terminal mode). */
  delivered: boolean;
  /** --stop-delay auto: the work seen arriving while graceful waited; null for a fixed delay. */
  traffic: TrafficFacts | null;
}

export type KillReason = 'deadline' | 'second-signal' | 'main-exited' | 'app-exited';

/**
 * The program that does the work behind a launcher: npm start runs sh -c, which runs
 * node server.js. The main process is the launcher; this is what the user's stop is for.
 */
export interface AppFacts {
  pid: number;
  /** Its command line, as read from /proc. */
  command: string;
  foundAt: number;
  /** How it ended; `known` is false when graceful saw it gone without its status (not its parent); `survivors`: other processes of the tree alive then. */
  exit: (ChildExit & { known: boolean; survivors: number }) | null;
  /** When graceful sent it the stop signal itself: its launcher had exited without passing it on. */
  signalSentAt: number | null;
}

/** One line of the status channel: when it arrived, from which process, and what it said. */
export interface PhaseRecord {
  at: number;
  pid: number | null;
  phase: AppPhase;
}

export type { AppPhase };

/** Everything the reports need, gathered as the run goes. */
export interface Facts {
  command: readonly string[];
  /** When graceful asked for the spawn. */
  spawnAt: number;
  pid: number | null;
  startedAt: number | null;
  spawnError: { status: 126 | 127; message: string } | null;
  stop: StopFacts | null;
  exit: ChildExit | null;
  /** When the last process of the child's tree was gone (group/mixed modes). */
  treeGoneAt: number | null;
  /** When the child became ready (--ready), if it did. */
  readyAt: number | null;
  /** When --ready-timeout runs out, while waiting for ready. */
  readyDeadline: number | null;
  /** Signals passed on to the child, by name, with counts. */
  forwarded: Partial<Record<SignalName, number>>;
  /** The program behind a launcher main process, once graceful found it (see AppFacts). */
  app: AppFacts | null;
  /**
   * What a program using graceful-supervisor/app said of its life on graceful's status channel
   * (docs/app-protocol.md), each line stamped with graceful's clock on arrival; the first
   * MAX_PHASES kept.
   */
  phases: PhaseRecord[];
  /**
   * Terminal mode: the child shares graceful's terminal and process group, so the terminal's
   * signals (Ctrl+C, a resize, Ctrl+Z) reach it directly, and job control stops both.
   */
  terminal: boolean;
}

/** Where the run is. Each phase answers every event (see machine.ts). */
export type MachinePhase =
  /** The spawn was asked for; its outcome is not known yet. `pendingStop` holds a stop that arrived meanwhile. */
  | { kind: 'starting'; pendingStop: { signal: StopSignal | OwnStop; at: number; delivered: boolean } | null }
  /** The child runs; no stop requested. */
  | { kind: 'running' }
  /** A stop was requested and the --pre-stop hook runs. */
  | { kind: 'pre-stop' }
  /** Waiting out --stop-delay before sending the stop signal. */
  | { kind: 'delaying' }
  /** The stop signal was sent; counting down to the deadline. */
  | { kind: 'signalled' }
  /** The kill signal was sent; waiting for the main process to exit. */
  | { kind: 'killed' }
  /** The main process exited and the rest of its tree is still alive; `killed` once the kill signal went to it. */
  | { kind: 'draining'; killed: boolean }
  /** Nothing left to supervise: graceful exits with `status`. */
  | { kind: 'done'; status: number };

export interface State {
  phase: MachinePhase;
  facts: Facts;
}

export type TimerName = 'deadline' | 'stop-delay' | 'ready-timeout';

export type Event =
  /** The child was spawned; `terminal` in terminal mode (absent: in a session of its own). */
  | { type: 'started'; at: number; pid: number; terminal?: boolean }
  /** The child could not be spawned. */
  | { type: 'spawn-failed'; at: number; status: 126 | 127; message: string }
  /**
   * graceful received a stop signal (SIGTERM, SIGINT; SIGHUP with --interactive).
   * `delivered`: it was sent to graceful's whole process group, so the child has it too.
   */
  | { type: 'stop-requested'; at: number; signal: StopSignal; delivered?: boolean }
  /** graceful itself decided to stop the child. */
  | { type: 'stop'; at: number; trigger: OwnStop }
  /**
   * A coordinator above (graceful up) asks for the kill signal now: a second Ctrl+C reached
   * the stack. A child not yet stopping is sent its stop signal first (`signal` is the stop
   * request), then the kill signal, as a second Ctrl+C would.
   */
  | { type: 'force'; at: number; signal: StopSignal }
  /** The child is ready, by the --ready probe. */
  | { type: 'ready'; at: number }
  /** The child said it began to shut down on its own (sd_notify STOPPING=1). */
  | { type: 'child-stopping'; at: number }
  /** A program using graceful-supervisor/app reported a phase on the status channel (`pid`: from its hello). */
  | { type: 'app-phase'; at: number; pid: number | null; phase: AppPhase }
  /** The child asked for more time for the current phase (sd_notify EXTEND_TIMEOUT_USEC). */
  | { type: 'extend-timeout'; at: number; ms: number }
  /** graceful received a signal it passes on (`delivered`: as stop-requested). */
  | { type: 'forward'; at: number; signal: SignalName; delivered?: boolean }
  /** graceful received a job-control stop (SIGTSTP, SIGTTIN, SIGTTOU; `delivered`: as stop-requested). */
  | { type: 'suspend'; at: number; signal: SignalName; delivered?: boolean }
  /** The main process was stopped by job control (Ctrl+Z, a read from the background, SIGSTOP). */
  | { type: 'child-stopped'; at: number }
  /** An armed timer fired. */
  | { type: 'timer'; at: number; timer: TimerName }
  /** The --pre-stop hook ended (or could not start: `error`). */
  | { type: 'pre-stop-exited'; at: number; code: number | null; signal: SignalName | null; error: string | null }
  /**
   * The main child exited; `survivors`: how many other processes of its tree still run;
   * `appAlive`: whether the app behind it (if found) is still running; `appGotStop`: whether
   * it received the stop signal (null: cannot tell).
   */
  | { type: 'child-exited'; at: number; code: number | null; signal: SignalName | null; signo: number | null; survivors: number; appAlive?: boolean; appGotStop?: boolean | null }
  /** The main process is a launcher; this is the program it started (see AppFacts). */
  | { type: 'app-found'; at: number; pid: number; command: string }
  /** The app ended: reaped by graceful (`known`), or seen gone. `survivors` as for child-exited. */
  | { type: 'app-exited'; at: number; code: number | null; signal: SignalName | null; signo: number | null; known: boolean; survivors: number }
  /** After the main child exited, the last process of its tree is gone. */
  | { type: 'tree-empty'; at: number }
  /**
   * --stop-delay auto: what the watch of the program's sockets saw since the stop request
   * (counts, not increments: the latest reading replaces the last); `watched` false when it
   * cannot watch.
   */
  | { type: 'traffic'; at: number; arrivals: number; lastArrivalAt: number | null; watched: boolean; seenUntil: number | null };

/** Why a signal is sent, for the reports. */
export type SendReason = 'stop' | 'sigcont' | 'kill' | 'forward' | 'suspend';

export type Action =
  /** Send `signal` to `target`. */
  | { type: 'send'; signal: SignalName; target: Target; reason: SendReason }
  /** Job control: stop graceful itself, after or with the child, so that its shell sees the job stopped. */
  | { type: 'suspend-self' }
  | { type: 'run-pre-stop'; command: string }
  | { type: 'cancel-pre-stop' }
  | { type: 'arm'; timer: TimerName; at: number }
  /** --stop-delay auto: start, or stop, watching the work that reaches the program's listening sockets. */
  | { type: 'watch-traffic' }
  | { type: 'unwatch-traffic' }
  /** Tell the program on the status channel when the kill signal comes (just before the stop signal). */
  | { type: 'tell-deadline'; at: number }
  | { type: 'cancel'; timer: TimerName }
  /** Poll the child's tree until it is empty, then deliver 'tree-empty'. */
  | { type: 'watch-tree' }
  | { type: 'exit'; status: number };

export interface Step {
  state: State;
  actions: Action[];
}
