// The program's life: resources opened in order, sources of work served, then one shutdown
// sequence whatever asked for it (a signal, shutdown()): readiness fails, the optional
// delay, stop accepting, drain, close the resources in reverse order, exit. The clock,
// timers, signals, exit and graceful's channel come from a Host (host.ts in a program, a
// fake one in the unit tests).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toSource, type Servable, type Source } from './drain.js';
import { describe } from './log.js';
import { DEFAULT_RESOURCE_TIMEOUT_MS, plan, type Plan } from './plan.js';
import type { Outcome, Phase, SourceCounts } from './protocol.js';

// A copy of the first signal arriving this soon is the same request, not a second one: a
// terminal's Ctrl+C reaches the whole foreground group, and npm, yarn or a shell wrapper
// forwards it to the program that already got it (graceful's own echo window).
export const ECHO_WINDOW_MS = 200;

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

export interface LifecycleOptions {
  /** Names the program in log lines. Default: the script's file name. */
  name?: string;
  /** Signals that start the shutdown. Default: SIGTERM and SIGINT; [] for shutdown() only. */
  signals?: string[];
  /** The whole shutdown's budget. Default: graceful's deadline under graceful, else 30 s; the smaller of this and graceful's wins. */
  timeoutMs?: number;
  /** How long to keep serving once readiness fails, for load balancers to notice (a Kubernetes Service, say). Default 0. */
  delayMs?: number;
  /** A cap on the drain; by default it has what the resources do not need. */
  drainTimeoutMs?: number;
  /** A resource's close timeout when use() sets none. Default 5 s. */
  resourceTimeoutMs?: number;
  /** A second signal (after the echo window) exits at once. Default true. */
  forceOnRepeat?: boolean;
  /** Exit when the shutdown is done, with 0 if everything closed, else 1. Default true. */
  exit?: boolean;
  /** Gets each phase as a line and as data. Default: stderr, unless graceful reads the phases; false: silent. */
  logger?: ((line: string, phase: Phase) => void) | false;
}

export interface UseOptions {
  /** How long close() may take. Default: the lifecycle's resourceTimeoutMs. */
  timeoutMs?: number;
}

export interface ShutdownOptions {
  /** The exit status when everything closed (default 0); a failed step makes it 1 unless this is non-zero. */
  exitCode?: number;
}

/** Where the program is in its life. */
export type LifeState = 'starting' | 'ready' | 'stopping' | 'stopped';

/** The answer a readiness probe gets: 200 only while ready. */
export interface Probe {
  status: 200 | 503;
  state: LifeState;
}

/** What a shutdown did, as the phases told it. */
export interface ShutdownReport {
  trigger: string;
  reason: string | null;
  plan: Plan;
  ok: boolean;
  exitCode: number;
  /** From the stop to the end of the last step. */
  ms: number;
  drain: { completed: number; cut: number; sources: SourceCounts[] };
  resources: { name: string; outcome: Outcome; ms: number; error: string | null }[];
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

export class Lifecycle {
  #state: State = { kind: 'starting' };
  readonly #resources: Resource[] = [];
  #acquired = 0;
  readonly #sources: Source[] = [];
  readonly #abort = new AbortController();
  readonly #uninstall: (() => void)[] = [];
  readonly #options: LifecycleOptions;

  constructor(
    options: LifecycleOptions,
    private readonly host: Host,
  ) {
    this.#options = options;
    host.channel?.onLost((missed) => missed.forEach((phase) => this.#log(phase)));
    for (const signal of options.signals ?? ['SIGTERM', 'SIGINT']) {
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
  // pending, so that start-up code stops there while the shutdown runs.
  use<T>(name: string, open: () => T | Promise<T>, close: (resource: T) => unknown, options: UseOptions = {}): Promise<T> {
    if (this.#state.kind === 'stopping' || this.#state.kind === 'stopped') return new Promise<T>(() => {});
    const start = this.host.now();
    let opening: Promise<T>;
    try {
      opening = Promise.resolve(open());
    } catch (error) {
      return Promise.reject(error);
    }
    // One that fails to open was never acquired: it leaves the list, and use() rejects.
    const order = this.#acquired++;
    const resource: Resource = {
      name,
      timeoutMs: options.timeoutMs ?? this.#options.resourceTimeoutMs ?? DEFAULT_RESOURCE_TIMEOUT_MS,
      opened: opening.then(
        (value) => {
          this.#emit({ phase: 'opened', name, order, ms: Math.round(this.host.now() - start) });
          return { value };
        },
        () => {
          const i = this.#resources.indexOf(resource);
          if (i !== -1) this.#resources.splice(i, 1);
          return null;
        },
      ),
      close: close as (value: unknown) => unknown,
    };
    this.#resources.push(resource);
    return opening;
  }

  // Registers a source of work to stop and drain before any resource closes; returns it.
  // One given once the shutdown has passed that step is stopped at once.
  serve<S extends Servable>(name: string, target: S): S {
    const source = toSource(name, target);
    if (this.#state.kind === 'stopping' || this.#state.kind === 'stopped') void source.stop().catch(() => undefined);
    else this.#sources.push(source);
    return target;
  }

  // Says the program is ready for work: readiness answers 200 from now until a stop.
  ready(): void {
    if (this.#state.kind !== 'starting') return;
    this.#state = { kind: 'ready' };
    this.#emit({ phase: 'ready', uptimeMs: Math.round(this.host.uptimeMs()) });
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
    const at = this.host.now();
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
    if (at - s.signalAt < ECHO_WINDOW_MS || this.#options.forceOnRepeat === false) return;
    const exitCode = 128 + this.host.signalNumber(signal);
    this.#emit({ phase: 'forced', afterMs: Math.round(at - s.at), signal, exitCode });
    this.host.channel?.close();
    this.host.exit(exitCode);
  }

  #begin(trigger: string, reason: string | null, signalAt: number | null, exitCode: number | undefined): Promise<ShutdownReport> {
    const s = this.#state;
    if (s.kind === 'stopping') return s.done;
    if (s.kind === 'stopped') return Promise.resolve(s.report);
    const at = this.host.now();
    let resolve!: (report: ShutdownReport) => void;
    const done = new Promise<ShutdownReport>((r) => (resolve = r));
    this.#state = { kind: 'stopping', at, signalAt, done };
    this.#abort.abort(new Error(`stopping: ${reason ?? trigger}`));
    // A bug in the sequence must not leave the process running half stopped: said, then exit 1.
    this.#run(trigger, reason, at, exitCode).then(resolve, (error: unknown) => {
      this.host.log(`the shutdown failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      this.host.exit(1);
    });
    return done;
  }

  // The one shutdown sequence.
  async #run(trigger: string, reason: string | null, at: number, requestedExit: number | undefined): Promise<ShutdownReport> {
    const { host } = this;
    const since = () => Math.round(host.now() - at);
    await host.settle();
    const deadline = host.channel?.deadline() ?? null;
    const p = plan({
      gracefulMs: deadline && deadline.ms - Math.max(0, at - deadline.at),
      envMs: host.envTimeoutMs,
      optionMs: this.#options.timeoutMs ?? null,
      delayMs: this.#options.delayMs ?? 0,
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
    this.#emit({ phase: 'drained', afterMs: since(), ms: Math.round(host.now() - drainStart), completed, cut, sources: counts });
    let ok = cut === 0 && errors.size === 0 && drained.every((r) => r.kind === 'done');

    // Close the resources in reverse order, each within its timeout and the plan's end.
    const resources: ShutdownReport['resources'] = [];
    for (const r of [...this.#resources].reverse()) {
      if (!this.#resources.includes(r)) continue; // it failed to open meanwhile
      const timeoutMs = Math.max(0, Math.min(r.timeoutMs, p.endMs - since()));
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
    const report: ShutdownReport = { trigger, reason, plan: p, ok, exitCode, ms: since(), drain: { completed, cut, sources: counts }, resources };
    this.#emit({ phase: 'done', afterMs: report.ms, ok, exitCode });
    this.host.channel?.close();
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
      const cancel = this.host.timer(ms, () => resolve({ kind: 'timeout' }));
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
          resolve({ kind: 'error', error: error instanceof Error ? error.message : String(error) });
        },
      );
    });
  }

  // Tells graceful; logs to the program's logger, or to stderr when graceful does not hear it.
  #emit(phase: Phase): void {
    const heard = this.host.channel?.send(phase) ?? false;
    if (typeof this.#options.logger === 'function' || !heard) this.#log(phase);
  }

  #log(phase: Phase): void {
    const { logger } = this.#options;
    try {
      if (phase.phase === 'hello') return; // the channel's own greeting
      if (typeof logger === 'function') logger(describe(phase), phase);
      else if (logger !== false) this.host.log(describe(phase));
    } catch {
      // a logger that throws must not stop the shutdown
    }
  }
}
