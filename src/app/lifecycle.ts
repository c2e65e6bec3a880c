// The program's life: resources opened in order, sources of work served, then one shutdown
// sequence whatever asked for it (a signal, shutdown()): readiness fails, the optional
// delay, stop accepting, drain, close the resources in reverse order, exit. The clock,
// timers, signals, exit and graceful's channel come from a Host (host.ts in a program, a
// fake one in the unit tests).
import { ECHO_WINDOW_MS } from './protocol.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toSource, type Source } from './drain.js';
import { describe } from './log.js';
import { DEFAULT_RESOURCE_TIMEOUT_MS, defaultDelayMs, plan, resourceShare } from './plan.js';
import type {
  LifecycleOptions,
  LifeState,
  Lifecycle as PublicLifecycle,
  Outcome,
  Phase,
  Probe,
  Servable,
  ServeOptions,
  ShutdownOptions,
  ShutdownReport,
  SourceCounts,
  StopSignal,
  UseOptions,
} from './types.js';

export type { LifecycleOptions, LifeState, Probe, ShutdownOptions, ShutdownReport, UseOptions } from './types.js';

/** The signals lifecycle() takes (the StopSignal union, for the run-time check). */
export const STOP_SIGNALS: readonly StopSignal[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];


export interface Host {
  /** Monotonic milliseconds. */
  now(): number;
  /** Calls `fire` after `ms`; returns a function that cancels it. Keeps the process alive meanwhile. */
  timer(ms: number, fire: () => void): () => void;
  /** Resolves once what has already arrived was read: graceful writes its deadline just before its signal. */
  settle(): Promise<void>;
  /** Installs a handler; returns a function that removes it. */
  onSignal(signal: string, handler: () => void): () => void;
  /** The signal's number, for the 128 + n exit status of a forced exit. */
  signalNumber(signal: string): number;
  exit(code: number): void;
  /** Milliseconds since the process started. */
  uptimeMs(): number;
  /** The channel to graceful, or null when the program does not run under it. */
  channel: Channel | null;
  /** GRACEFUL_STOP_TIMEOUT_MS, when graceful set it. */
  envTimeoutMs: number | null;
  /** Whether graceful runs this program (it named a channel), even if the channel failed. */
  underGraceful: boolean;
  /** Where the program runs (GRACEFUL_PLATFORM, else what the process sees: `kubernetes`), for the default delay. */
  platform: string | null;
  /** graceful delays the stop signal itself (--stop-delay): the program needs no delay of its own. */
  gracefulDelays: boolean;
  /** One line for stderr. */
  log(line: string): void;
}

export interface Channel {
  /** Sends the phase; false if the channel is lost (graceful is gone): it must be logged instead. */
  send(phase: Phase): boolean;
  /** The last deadline graceful sent: `ms` left when it arrived, `at` (host time) it arrived. */
  deadline(): { ms: number; at: number } | null;
  /** Calls `handler` once if the channel is lost, with the phases sent before it was known to work. */
  onLost(handler: (missed: Phase[]) => void): void;
  /** Ends the connection after what was sent: the program closes it rather than leave it to its exit. */
  close(): void;
}

/** A resource: opened in order; closed in reverse order, each with its timeout. */
interface Resource {
  name: string;
  timeoutMs: number;
  /** Resolves with the opened resource, or null if opening failed (there is nothing to close). */
  opened: Promise<{ value: unknown } | null>;
  close(value: unknown): unknown;
}


/**
 * The life as a documented union (STYLE 3).
 * starting: resources opening, not ready yet; ready: life.ready() was called;
 * stopping: the sequence runs, first signal (if any) at `signalAt`;
 * stopped: the sequence is over (without exit, or just before it).
 */
type State =
  | { kind: 'starting' }
  | { kind: 'ready' }
  | { kind: 'stopping'; at: number; signalAt: number | null; done: Promise<ShutdownReport> }
  | { kind: 'stopped'; report: ShutdownReport };

export class Lifecycle implements PublicLifecycle {
  #state: State = { kind: 'starting' };
  readonly #resources: Resource[] = [];
  #acquired = 0;
  readonly #sources: Source[] = [];
  readonly #abort = new AbortController();
  readonly #uninstall: (() => void)[] = [];
  readonly #options: LifecycleOptions;
  readonly #host: Host;
  /** The signals whose repeat forces the exit (forceOnRepeat, less SIGTERM under graceful). */
  readonly #forcing: ReadonlySet<string>;

  constructor(options: LifecycleOptions, host: Host) {
    const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
    checkSignals('signals', signals);
    const force = options.forceOnRepeat ?? ['SIGINT'];
    if (Array.isArray(force)) checkSignals('forceOnRepeat', force);
    const forcing = new Set<string>(force === true ? signals : force === false ? [] : force);
    // One meaning for a second SIGTERM (docs/signals.md): under graceful, a repeated SIGTERM
    // is a platform repeating itself (a retried rolling update, a second docker stop), and
    // graceful escalates at its own deadline: it never cuts the work.
    if (host.underGraceful) forcing.delete('SIGTERM');
    this.#forcing = forcing;
    this.#options = options;
    this.#host = host;
    host.channel?.onLost((missed) => missed.forEach((phase) => this.#log(phase)));
    for (const signal of signals) {
      this.#uninstall.push(host.onSignal(signal, () => this.#onSignal(signal)));
    }
  }

  /** Where the program is in its life. */
  get state(): LifeState {
    return this.#state.kind;
  }

  /** Aborted the moment a stop begins: for loops and long work that should notice it. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  // Opens a resource and remembers how to close it: resources close in the reverse order
  // of the use() calls. After a stop began, nothing is opened and the promise stays
  // pending, so that start-up code stops there while the shutdown runs. One that fails to
  // open was never acquired: it leaves the list, and the start stops there as it does for a
  // stop: what was acquired is released in reverse order, and the process exits 1 (issue
  // 25: a crash at start used to leave Redis and the queue open).
  use<T>(name: string, open: () => T | Promise<T>, close: (resource: T) => unknown, options: UseOptions = {}): Promise<T> {
    if (this.#state.kind === 'stopping' || this.#state.kind === 'stopped') return new Promise<T>(() => {});
    const start = this.#host.now();
    let opening: Promise<T>;
    try {
      opening = Promise.resolve(open());
    } catch (error) {
      opening = Promise.reject(error);
    }
    const order = this.#acquired++;
    const resource: Resource = {
      name,
      timeoutMs: options.timeoutMs ?? this.#options.resourceTimeoutMs ?? DEFAULT_RESOURCE_TIMEOUT_MS,
      opened: opening.then(
        (value) => {
          this.#emit({ phase: 'opened', name, order, ms: Math.round(this.#host.now() - start) });
          return { value };
        },
        (error: unknown) => {
          const i = this.#resources.indexOf(resource);
          if (i !== -1) this.#resources.splice(i, 1);
          if (this.#state.kind === 'starting' || this.#state.kind === 'ready') {
            void this.#begin('start-failed', `${name} failed to open: ${message(error)}`, null, 1);
          }
          return null;
        },
      ),
      close: close as (value: unknown) => unknown,
    };
    this.#resources.push(resource);
    return opening.then(
      (value) => value,
      () => new Promise<T>(() => {}),
    );
  }

  // Registers a source of work to stop and drain before any resource closes; returns it.
  // One given once the shutdown has passed that step is stopped at once.
  serve<S extends Servable>(name: string, target: S, options: ServeOptions = {}): S {
    const source = toSource(name, target, options);
    if (this.#state.kind === 'stopping' || this.#state.kind === 'stopped') void source.stop().catch(() => undefined);
    else this.#sources.push(source);
    return target;
  }

  // Says the program is ready for work: readiness answers 200 from now until a stop.
  ready(): void {
    if (this.#state.kind !== 'starting') return;
    this.#state = { kind: 'ready' };
    this.#emit({ phase: 'ready', uptimeMs: Math.round(this.#host.uptimeMs()) });
  }

  // What a readiness probe should answer now: 503 before ready() and from the first moment of a stop.
  probe(): Probe {
    return { status: this.#state.kind === 'ready' ? 200 : 503, state: this.#state.kind };
  }

  /** A readiness endpoint for Node's http, Express and the like: `app.get('/readyz', life.readiness)`. */
  readonly readiness = (_req: IncomingMessage, res: ServerResponse): void => {
    const { status, state } = this.probe();
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Cache-Control', 'no-store');
    res.end(JSON.stringify({ state }));
  };

  // Starts the shutdown (or returns the one under way) and resolves with its report.
  shutdown(reason?: string, options: ShutdownOptions = {}): Promise<ShutdownReport> {
    return this.#begin('shutdown', reason ?? null, null, options.exitCode);
  }

  #onSignal(signal: string): void {
    const at = this.#host.now();
    const s = this.#state;
    if (s.kind === 'starting' || s.kind === 'ready') {
      void this.#begin(signal, null, at, undefined);
      return;
    }
    if (s.kind !== 'stopping') return;
    if (s.signalAt === null) {
      s.signalAt = at; // the first signal after shutdown() is a first request, not a second
      return;
    }
    if (at - s.signalAt < ECHO_WINDOW_MS) return;
    if (!this.#forcing.has(signal)) {
      // Said on stderr only when no one else shows the phases: graceful says it itself.
      if (!this.#host.underGraceful && this.#options.logger === undefined) {
        this.#host.log(`${signal} again: the shutdown goes on${this.#forcing.size > 0 ? ` (${[...this.#forcing].join(' or ')} again forces the exit)` : ''}`);
      }
      return;
    }
    const exitCode = 128 + this.#host.signalNumber(signal);
    this.#emit({ phase: 'forced', afterMs: Math.round(at - s.at), signal, exitCode });
    this.#host.channel?.close();
    this.#host.exit(exitCode);
  }

  #begin(trigger: string, reason: string | null, signalAt: number | null, exitCode: number | undefined): Promise<ShutdownReport> {
    const s = this.#state;
    if (s.kind === 'stopping') return s.done;
    if (s.kind === 'stopped') return Promise.resolve(s.report);
    const at = this.#host.now();
    let resolve!: (report: ShutdownReport) => void;
    const done = new Promise<ShutdownReport>((r) => (resolve = r));
    this.#state = { kind: 'stopping', at, signalAt, done };
    this.#abort.abort(new Error(`stopping: ${reason ?? trigger}`));
    // A bug in the sequence must not leave the process running half stopped: said, then exit 1.
    this.#run(trigger, reason, at, exitCode).then(resolve, (error: unknown) => {
      this.#host.log(`the shutdown failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      this.#host.exit(1);
    });
    return done;
  }

  // The one shutdown sequence.
  async #run(trigger: string, reason: string | null, at: number, requestedExit: number | undefined): Promise<ShutdownReport> {
    const host = this.#host;
    const since = () => Math.round(host.now() - at);
    await host.settle();
    const deadline = host.channel?.deadline() ?? null;
    const p = plan({
      gracefulMs: deadline && deadline.ms - Math.max(0, at - deadline.at),
      envMs: host.envTimeoutMs,
      optionMs: this.#options.timeoutMs ?? null,
      delayMs: this.#options.delayMs ?? defaultDelayMs(host.platform, host.gracefulDelays),
      drainTimeoutMs: this.#options.drainTimeoutMs ?? null,
      resourceTimeoutsMs: this.#resources.map((r) => r.timeoutMs),
    });
    this.#emit({ phase: 'stopping', trigger, reason, budgetMs: p.budgetMs, budgetFrom: p.budgetFrom, delayMs: p.delayMs, drainEndsMs: p.drainEndsMs });
    if (p.delayMs > 0) await new Promise<void>((wake) => host.timer(p.delayMs - since(), wake));

    // Stop accepting, everywhere at once.
    const sources = [...this.#sources];
    const errors = new Map<Source, string>();
    const drainLeft = () => Math.max(0, p.drainEndsMs - since());
    const stopped = await Promise.all(sources.map((s) => this.#within(() => s.stop(), drainLeft())));
    stopped.forEach((r, i) => r.kind === 'error' && errors.set(sources[i]!, r.error));
    const inflight = sources.reduce((n, s) => n + s.counts().inflight, 0);
    this.#emit({ phase: 'not-accepting', afterMs: since(), inflight, sources: sources.map((s) => s.name) });

    // Drain, and cut what is left at the drain deadline.
    const drainStart = host.now();
    const drained = await Promise.all(
      sources.map((s, i) => (stopped[i]!.kind === 'done' ? this.#within(() => s.drained(), drainLeft()) : stopped[i]!)),
    );
    await Promise.all(
      sources.map(async (s, i) => {
        const r = drained[i]!;
        if (r.kind === 'done') return;
        if (r.kind === 'error' && !errors.has(s)) errors.set(s, r.error);
        const cut = await this.#within(() => s.cut(), Math.max(0, p.endMs - since()));
        if (cut.kind === 'error' && !errors.has(s)) errors.set(s, `cut: ${cut.error}`);
      }),
    );
    const counts: SourceCounts[] = sources.map((s) => ({ name: s.name, ...s.counts(), error: errors.get(s) ?? null }));
    const completed = counts.reduce((n, c) => n + c.completed, 0);
    const cut = counts.reduce((n, c) => n + c.cut, 0);
    const ended = counts.reduce((n, c) => n + c.ended, 0);
    this.#emit({ phase: 'drained', afterMs: since(), ms: Math.round(host.now() - drainStart), completed, cut, ended, sources: counts });
    // A source that counts what it cuts exactly (a WebSocket server: the clients left at the
    // deadline had their close frame) is clean when it cut nothing.
    let ok = cut === 0 && errors.size === 0 && drained.every((r, i) => r.kind === 'done' || (r.kind === 'timeout' && sources[i]!.exact === true));

    // Close the resources in reverse order, each within its timeout and the plan's end.
    const resources: ShutdownReport['resources'] = [];
    const closing = [...this.#resources].reverse();
    for (const [i, r] of closing.entries()) {
      if (!this.#resources.includes(r)) continue; // it failed to open meanwhile
      const later = closing.slice(i).filter((x) => this.#resources.includes(x));
      const timeoutMs = resourceShare(p.endMs - since(), later.map((x) => x.timeoutMs));
      this.#emit({ phase: 'closing', afterMs: since(), name: r.name, timeoutMs });
      const start = host.now();
      const result = await this.#within(async () => {
        const opened = await r.opened;
        if (opened === null) throw new Error('it did not open');
        await r.close(opened.value);
      }, timeoutMs);
      const outcome: Outcome = result.kind === 'done' ? 'closed' : result.kind === 'error' ? 'failed' : 'timeout';
      const error = result.kind === 'error' ? result.error : null;
      const ms = Math.round(host.now() - start);
      ok &&= outcome === 'closed';
      resources.push({ name: r.name, outcome, ms, error });
      this.#emit({ phase: 'closed', afterMs: since(), name: r.name, ms, outcome, error });
    }

    const exitCode = ok ? (requestedExit ?? 0) : requestedExit || 1;
    const report: ShutdownReport = { trigger, reason, plan: p, ok, exitCode, ms: since(), drain: { completed, cut, ended, sources: counts }, resources };
    this.#emit({ phase: 'done', afterMs: report.ms, ok, exitCode });
    this.#host.channel?.close();
    this.#state = { kind: 'stopped', report };
    if (this.#options.exit === false) {
      for (const uninstall of this.#uninstall.splice(0)) uninstall();
    } else {
      host.exit(exitCode);
    }
    return report;
  }

  // Runs `work` for at most `ms`: what it returned, what it threw, or that time ran out
  // (the work goes on unobserved).
  #within(work: () => unknown, ms: number): Promise<{ kind: 'done' } | { kind: 'error'; error: string } | { kind: 'timeout' }> {
    return new Promise((resolve) => {
      const cancel = this.#host.timer(ms, () => resolve({ kind: 'timeout' }));
      let running: Promise<unknown>;
      try {
        running = Promise.resolve(work());
      } catch (error) {
        running = Promise.reject(error);
      }
      running.then(
        () => {
          cancel();
          resolve({ kind: 'done' });
        },
        (error: unknown) => {
          cancel();
          resolve({ kind: 'error', error: message(error) });
        },
      );
    });
  }

  // Tells graceful; logs to the program's logger, or to stderr when graceful does not hear it.
  #emit(phase: Phase): void {
    const heard = this.#host.channel?.send(phase) ?? false;
    if (typeof this.#options.logger === 'function' || !heard) this.#log(phase);
  }

  #log(phase: Phase): void {
    const { logger } = this.#options;
    try {
      if (phase.phase === 'hello') return; // the channel's own greeting
      if (typeof logger === 'function') logger(describe(phase), phase);
      else if (logger !== false) this.#host.log(describe(phase));
    } catch {
      // a logger that throws must not stop the shutdown
    }
  }
}

// The error's message, on one line.
function message(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

// A wrong signal name is said in one line (it would otherwise install nothing, and the
// signal would kill the process by Node's default).
function checkSignals(option: string, signals: readonly unknown[]): void {
  if (!Array.isArray(signals)) throw new TypeError(`lifecycle(): ${option}: expected an array of signal names like ['SIGTERM', 'SIGINT'], got ${typeof signals}`);
  for (const signal of signals) {
    if (!STOP_SIGNALS.includes(signal as StopSignal)) {
      throw new TypeError(`lifecycle(): ${option}: ${JSON.stringify(signal)} is not a stop signal; expected one of ${STOP_SIGNALS.join(', ')}`);
    }
  }
}
