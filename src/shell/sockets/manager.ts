// The service manager above graceful (systemd's Type=notify and Type=notify-reload, issue 24):
// the sending side of sd_notify. When graceful itself is given NOTIFY_SOCKET, it tells the
// manager what the program does, as the program would if the manager ran it directly:
// READY=1 once the program is ready (by --ready; without it at the spawn, as Type=exec
// counts it), RELOADING=1 around a reload, STOPPING=1 at the stop request, STATUS= lines,
// EXTEND_TIMEOUT_USEC while the stop runs (so that TimeoutStopSec= never ends graceful
// before its own deadline), and WATCHDOG=1 while graceful runs when WatchdogSec= is set.
//
// Loaded only when NOTIFY_SOCKET is set (commands/run takes it out of the environment
// first): without a manager above, graceful pays nothing for any of this. The manager's
// variables are graceful's own: the child never inherits them (with --ready notify it gets
// graceful's own socket, and the watchdog's period, from supervisor.ts).
import { datagramSender, type DatagramSender } from '../process/ffi.js';
import { PLATFORM_RESERVE_MS } from '../../config/defaults.js';
import { isStopSignal, type SignalName, type State, type StopTrigger } from '../../core/types.js';
import { describeCommand, human } from '../../report/human.js';

/** The variables a service manager gives the process it supervises, which are graceful's. */
export const MANAGER_VARIABLES = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID'] as const;

/** What a supervisor is given of the manager (SupervisorOptions.manager). */
export interface Manager {
  link: ServiceManager;
  readiness: Readiness;
  /** The child's watchdog (with --ready notify under WatchdogSec=). */
  watchChild(ms: number, missed: () => void): ChildWatchdog;
}

/** How a supervisor's program stands toward the manager's readiness. */
export type Readiness =
  /** READY=1 when the child is spawned (no --ready: Type=exec's reading). */
  | 'spawn'
  /** READY=1 when --ready says the child is ready. */
  | 'ready'
  /** Not this supervisor's to say: a coordinator does (a reload's generations). */
  | 'coordinator';

export interface ServiceManager {
  /** The watchdog period graceful was given (WATCHDOG_USEC), in ms; null without one. */
  readonly watchdogMs: number | null;
  ready(status: string): void;
  reloading(status: string): void;
  stopping(status: string): void;
  status(text: string): void;
  /** The manager's timeout for the current state (start, stop) runs at least `ms` from now. */
  extend(ms: number): void;
  /** A supervisor's machine moved from `prev` to `next` (at `now`; `killSignal` is its policy's): what the manager should hear of it. */
  changed(prev: State, next: State, readiness: Readiness, now: number, killSignal: SignalName): void;
  /** Forgets its socket and stops pinging. */
  close(): void;
}

// Takes the manager's variables out of graceful's environment (the child must not see them)
// and opens the way to the manager: null when graceful has none, a line to warn otherwise
// when it cannot be told.
export function openManager(warn: (line: string) => void, env: NodeJS.ProcessEnv = process.env, pid = process.pid): ServiceManager | string | null {
  const address = env.NOTIFY_SOCKET;
  const watchdogUsec = env.WATCHDOG_USEC;
  const watchdogPid = env.WATCHDOG_PID;
  for (const key of MANAGER_VARIABLES) delete env[key];
  if (!address) return null;
  // sd_notify(3): an absolute path, or @ for Linux's abstract namespace. (vsock: is for
  // virtual machines, which graceful does not run as.)
  if (!address.startsWith('/') && !address.startsWith('@')) return `NOTIFY_SOCKET=${address} is neither a socket path nor an @abstract name: the service manager is not told when the program is ready or stops`;
  const sender = datagramSender();
  if (typeof sender === 'string') return `NOTIFY_SOCKET is set, but graceful cannot tell the service manager anything: datagram sockets are ${sender}`;
  // The watchdog is graceful's when its pid is named or none is (sd_watchdog_enabled(3)).
  const usec = watchdogUsec && /^\d+$/.test(watchdogUsec) && Number(watchdogUsec) > 0 ? Number(watchdogUsec) : null;
  const watchdogMs = usec !== null && (watchdogPid === undefined || watchdogPid === String(pid)) ? usec / 1000 : null;
  return new Notifier(address, sender, watchdogMs, warn);
}

class Notifier implements ServiceManager {
  #ping: NodeJS.Timeout | null = null;
  #problem: string | null = null;

  constructor(
    readonly address: string,
    readonly sender: DatagramSender,
    readonly watchdogMs: number | null,
    private readonly warn: (line: string) => void,
  ) {
    // sd_watchdog_enabled(3) asks for a ping at half the period: graceful's own liveness,
    // for as long as graceful runs (a child's watchdog is graceful's to enforce:
    // supervisor.ts). Unreferenced: the pings never keep graceful from exiting.
    if (watchdogMs !== null) {
      this.#ping = setInterval(() => this.#send('WATCHDOG=1'), Math.max(1, Math.floor(watchdogMs / 2)));
      this.#ping.unref();
      this.#send('WATCHDOG=1');
    }
  }

  ready(status: string): void {
    this.#send(`READY=1\nSTATUS=${oneLine(status)}`);
  }

  reloading(status: string): void {
    // Type=notify-reload: RELOADING=1 with the monotonic time of the request, in µs.
    this.#send(`RELOADING=1\nMONOTONIC_USEC=${process.hrtime.bigint() / 1000n}\nSTATUS=${oneLine(status)}`);
  }

  stopping(status: string): void {
    this.#send(`STOPPING=1\nSTATUS=${oneLine(status)}`);
  }

  status(text: string): void {
    this.#send(`STATUS=${oneLine(text)}`);
  }

  extend(ms: number): void {
    this.#send(`EXTEND_TIMEOUT_USEC=${Math.ceil(ms) * 1000}`);
  }

  changed(prev: State, next: State, readiness: Readiness, now: number, killSignal: SignalName): void {
    const p = prev.facts;
    const f = next.facts;
    const who = `${describeCommand(f.command)} (pid ${f.pid})`;
    if (p.startedAt === null && f.startedAt !== null && readiness !== 'coordinator') {
      if (readiness === 'spawn') this.ready(`running ${who}`);
      else this.status(`started ${who}; waiting until it is ready`);
    }
    if (readiness === 'ready' && p.readyAt === null && f.readyAt !== null && f.stop === null) this.ready(`${who} is ready`);
    const stop = f.stop;
    if (!stop || !stopsService(stop.trigger)) return;
    if (!p.stop) this.stopping(isStopSignal(stop.trigger) ? `${stop.trigger} received: stopping ${who}` : `stopping ${who} (${stop.trigger})`);
    // The manager's stop timeout must not end before graceful's own deadline and what it
    // needs after its kill signal to reap and report: extended to cover both, again each
    // time the deadline moves (the program's own EXTEND_TIMEOUT_USEC). With --no-kill there
    // is no deadline of graceful's, and the manager's own applies.
    if (stop.deadline !== null && stop.deadline !== p.stop?.deadline) this.extend(stop.deadline - now + PLATFORM_RESERVE_MS);
    if (stop.signalSentAt !== null && p.stop?.signalSentAt == null) {
      // From the machine's own times, as the step line says it: what is left when it was sent.
      this.status(`${stop.signal} sent to ${who}${stop.deadline !== null ? `; ${killSignal} in ${human(stop.deadline - stop.signalSentAt)}` : ''}`);
    }
    if (stop.killSentAt !== null && p.stop?.killSentAt == null) this.status(`${stop.killSignal} sent to ${who}`);
    if (f.exit && !p.exit && next.phase.kind === 'draining') this.status(`${who} exited; waiting for the rest of its tree`);
  }

  close(): void {
    if (this.#ping) clearInterval(this.#ping);
    this.#ping = null;
  }

  // One datagram; a failure is said once, never thrown.
  #send(message: string): void {
    const r = this.sender.send(this.address, Buffer.from(message));
    if (r < 0 && this.#problem === null) {
      this.#problem = `errno ${-r}`;
      this.warn(`cannot tell the service manager at NOTIFY_SOCKET=${this.address} (${this.#problem}); it may not hear from graceful`);
    }
  }
}

// A newline inside a value (a command line's) would start a field of its own.
function oneLine(text: string): string {
  return text.replace(/\n/g, ' ');
}

// Does a stop with this trigger stop the service (as opposed to a generation a reload
// replaced, or the rest of a tree whose main process ended on its own)?
function stopsService(trigger: StopTrigger): boolean {
  return trigger !== 'reload' && trigger !== 'child-exit';
}

/**
 * The child's watchdog (--ready notify under WatchdogSec=): from its readiness to the stop,
 * a WATCHDOG=1 at least every `ms`, or `missed` runs (the one stop sequence).
 */
export class ChildWatchdog {
  #timer: NodeJS.Timeout | null = null;
  #armed = false;

  constructor(
    readonly ms: number,
    private readonly missed: () => void,
  ) {}

  /** From the child's readiness on. */
  arm(): void {
    this.#armed = true;
    this.ping();
  }

  ping(): void {
    if (!this.#armed) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.disarm();
      this.missed();
    }, this.ms);
    this.#timer.unref();
  }

  /** At the stop: what the program does then is the grace period's business. */
  disarm(): void {
    this.#armed = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
