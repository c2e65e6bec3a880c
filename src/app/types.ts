// The library's public types, and nothing else: its declaration file (scripts/build-app.js)
// is this file plus index.ts's functions, so what is written here is what a user sees.
// Self-contained on purpose (no import of another file of the library): what the
// implementation needs besides (the Host, the channel, the sources) stays out of the
// published types.
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';

/** A signal that can start the shutdown (SIGKILL and SIGSTOP cannot be caught). */
export type StopSignal = 'SIGTERM' | 'SIGINT' | 'SIGHUP' | 'SIGQUIT' | 'SIGUSR1' | 'SIGUSR2';

export interface LifecycleOptions {
  /** Names the program in log lines. Default: the script's file name. */
  name?: string;
  /** Signals that start the shutdown. Default: SIGTERM and SIGINT; [] for shutdown() only. */
  signals?: StopSignal[];
  /** The whole shutdown's budget. Default: graceful's deadline under graceful, else 30 s; the smaller of this and graceful's wins. */
  timeoutMs?: number;
  /**
   * How long to keep serving once readiness fails, for load balancers to notice. Default:
   * from the platform (5 s on Kubernetes and Heroku, unless graceful delays the signal
   * itself with --stop-delay, which it cannot on Heroku; 0 in a terminal and elsewhere).
   */
  delayMs?: number;
  /** A cap on the drain; by default it has what the resources do not need. */
  drainTimeoutMs?: number;
  /** A resource's close timeout when use() sets none, and its weight in the share of the time left. Default 5 s. */
  resourceTimeoutMs?: number;
  /**
   * Which signals, received again while stopping, exit at once with 128 + their number.
   * Default ['SIGINT'] (Ctrl+C twice, as graceful does); true: every stop signal; false: none.
   * Under graceful, a repeated SIGTERM never forces, whatever this says: graceful escalates
   * at its own deadline.
   */
  forceOnRepeat?: boolean | StopSignal[];
  /** Exit when the shutdown is done, with 0 if everything closed, else 1. Default true. */
  exit?: boolean;
  /** Gets each phase as a line and as data. Default: stderr, unless graceful reads the phases; false: silent. */
  logger?: ((line: string, phase: Phase) => void) | false;
}

export interface UseOptions {
  /** How long close() may take, and its weight when the time left is shared out. Default: the lifecycle's resourceTimeoutMs. */
  timeoutMs?: number;
}

export interface ServeOptions {
  /**
   * WebSocket servers: how long a client has to answer the close frame before its socket is
   * ended (counted as `ended`, a clean stop). Default 5 s, and never past the drain deadline.
   */
  closeFrameTimeoutMs?: number;
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

/** How the time of a shutdown was shared out; milliseconds from the stop. */
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

/** What a shutdown did, as the phases told it. */
export interface ShutdownReport {
  /** The signal, `shutdown`, or `start-failed` (a resource failed to open). */
  trigger: string;
  reason: string | null;
  plan: Plan;
  ok: boolean;
  exitCode: number;
  /** From the stop to the end of the last step. */
  ms: number;
  drain: { completed: number; cut: number; ended: number; sources: SourceCounts[] };
  resources: { name: string; outcome: Outcome; ms: number; error: string | null }[];
}

/** The process's lifecycle, made by lifecycle(). */
export interface Lifecycle {
  /** Where the program is in its life. */
  readonly state: LifeState;
  /** Aborted the moment a stop begins: for loops and long work that should notice it. */
  readonly signal: AbortSignal;
  /**
   * Opens a resource and remembers how to close it: resources close in the reverse order of
   * the use() calls. If open() fails, the start stops there: what was opened is closed in
   * reverse order, and the process exits 1 (use() stays pending). After a stop began,
   * nothing is opened and the promise stays pending.
   */
  use<T>(name: string, open: () => T | Promise<T>, close: (resource: T) => unknown, options?: UseOptions): Promise<T>;
  /** Registers a source of work to stop and drain before any resource closes; returns it. */
  serve<S extends Servable>(name: string, target: S, options?: ServeOptions): S;
  /** Says the program is ready for work: readiness answers 200 from now until a stop. */
  ready(): void;
  /** What a readiness probe should answer now: 503 before ready() and from the first moment of a stop. */
  probe(): Probe;
  /** A readiness endpoint for Node's http, Express and the like: `app.get('/readyz', life.readiness)`. */
  readonly readiness: (req: IncomingMessage, res: ServerResponse) => void;
  /** Starts the shutdown (or returns the one under way) and resolves with its report. */
  shutdown(reason?: string, options?: ShutdownOptions): Promise<ShutdownReport>;
}

/**
 * The generic hook: anything that takes work (a job worker, a queue consumer) says how to
 * stop taking it, when what it took is finished, and how to abandon it.
 */
export interface Drainable {
  /** Stop taking new work: close the listener, stop polling the queue, tell clients to go. */
  stop(): unknown;
  /** Resolves when the work in flight is finished. Without it, the drain is over when stop() resolves. */
  drained?(): Promise<unknown>;
  /** At the drain deadline: abandon what is left (destroy connections, abort jobs). */
  cut?(): unknown;
  /** How much work is in flight now, for the report. */
  inflight?(): number;
}

/** What serve() accepts. */
export type Servable = HttpServer | NetServerLike | FastifyLike | WebSocketServerLike | Drainable;

/** A net.Server, tls.Server, https.Server or http2 server. */
export interface NetServerLike {
  close(callback?: (error?: Error) => void): unknown;
  address(): unknown;
  listen(...args: never[]): unknown;
  on(event: string, listener: (...args: any[]) => void): unknown;
}

/** A Fastify instance: close() stops it and runs its onClose hooks. */
export interface FastifyLike {
  server: NetServerLike;
  close(): PromiseLike<unknown>;
  addHook(...args: never[]): unknown;
}

/** ws's WebSocketServer (with clientTracking, its default). */
export interface WebSocketServerLike {
  clients: Set<{ close(code?: number, reason?: string): void; terminate(): void; once(event: 'close', listener: () => void): unknown }>;
  handleUpgrade(...args: never[]): unknown;
  close(callback?: (error?: Error) => void): void;
}

/** fetch()'s connection pool, as a resource: `life.use('fetch', globalFetchPool, (pool) => pool.close())`. */
export interface FetchPool {
  /** Waits for the requests in flight, then closes the kept-alive connections; fetch() fails after it. */
  close(): Promise<void>;
}

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
  /** Connections ended by the server after a closing handshake went unanswered (WebSocket clients): a clean stop, not a cut. */
  ended: number;
  /** Why its stop or drain threw, if it did. */
  error: string | null;
}

/** Who set the shutdown's budget: graceful's deadline message, its environment, the program's option, or the default. */
export type BudgetSource = 'graceful' | 'env' | 'option' | 'default';

/**
 * One phase of the program's life, as sent to graceful (one JSON line each, with `v`) and
 * as logged without it. Times: `afterMs` counts from the stop (the signal or shutdown()).
 * Every figure is an integer number of milliseconds.
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
  /** In-flight work is over: finished, ended after an unanswered closing handshake, or cut at the drain deadline (`ms`: drain time). */
  | { phase: 'drained'; afterMs: number; ms: number; completed: number; cut: number; ended?: number; sources: SourceCounts[] }
  /** A resource starts closing (reverse order of acquisition), with its share of the time. */
  | { phase: 'closing'; afterMs: number; name: string; timeoutMs: number }
  /** A resource is done closing: how, after how long, and the error if it failed. */
  | { phase: 'closed'; afterMs: number; name: string; ms: number; outcome: Outcome; error: string | null }
  /** The shutdown is over; `ok`: everything drained and closed. The process exits with `exitCode`. */
  | { phase: 'done'; afterMs: number; ok: boolean; exitCode: number }
  /** A second stop signal: the process exits now, with `exitCode`, skipping what is left. */
  | { phase: 'forced'; afterMs: number; signal: string; exitCode: number };
