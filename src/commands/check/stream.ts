// A steady stream of HTTP requests (graceful check --reload): some clients keep one
// connection alive and send request after request on it, others open a new connection for
// each request. Every request that is refused, reset, times out or gets a 5xx counts as
// failed; the longest pause in service is the longest time requests waited with none
// answered. node:http is loaded here only, off graceful's start path.
import type { Agent, IncomingMessage } from 'node:http';

// How long one request may take before it counts as failed: far beyond any reload's pause.
const REQUEST_TIMEOUT_MS = 10_000;
// How many failures are kept with their details (the count is exact).
const FAILURES_KEPT = 20;
// Time for in-flight requests, once written, to be read by the program before what they test
// (graceful check's stop signal, a reload of graceful check --reload): a request still unread
// in its socket when the server closes would be lost through no fault of the server's shutdown.
export const INFLIGHT_SETTLE_MS = 100;

export type StreamTarget = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export interface StreamFailure {
  /** When, on the caller's clock. */
  at: number;
  kind: 'keep-alive' | 'new-connection';
  /** ECONNREFUSED, ECONNRESET, ETIMEDOUT, HTTP 503, ... */
  error: string;
}

export interface StreamStats {
  requests: number;
  /** Answered on a kept-alive connection / on a new connection. */
  keepAlive: number;
  fresh: number;
  failed: number;
  failures: StreamFailure[];
  /**
   * Requests sent again on a new connection because the server closed the kept-alive one
   * they were written to before any byte of an answer (a drain closing idle connections):
   * what RFC 9112 section 9.3.1 allows a client for idempotent requests, and what browsers
   * and most HTTP clients do. Counted, not failed; a second failure fails.
   */
  retried: number;
  /** The longest time with requests waiting and none answered, and when it ended. */
  longestPauseMs: number;
  longestPauseAt: number | null;
  slowestMs: number;
}

export interface Stream {
  stats(): StreamStats;
  /** Stops sending; resolves once the requests in flight have ended. */
  stop(): Promise<StreamStats>;
}

// Starts `keepAlive` + `fresh` clients sending GET `path` to `target`, each one request at
// a time, as fast as they are answered. `now` is the caller's monotonic clock.
export function startStream(target: StreamTarget, path: string, counts: { keepAlive: number; fresh: number }, now: () => number): Stream {
  const http = process.getBuiltinModule('node:http');
  const stats: StreamStats = { requests: 0, keepAlive: 0, fresh: 0, failed: 0, failures: [], retried: 0, longestPauseMs: 0, longestPauseAt: null, slowestMs: 0 };
  let running = true;
  let lastAnswer = now();
  const loops: Promise<void>[] = [];
  const agents: Agent[] = [];

  const answered = (sentAt: number, kind: StreamFailure['kind']) => {
    const at = now();
    const pause = at - Math.max(lastAnswer, sentAt);
    // A pause counts from the later of the last answer and this request's start: time when
    // nothing was asked is no pause.
    if (pause > stats.longestPauseMs) {
      stats.longestPauseMs = pause;
      stats.longestPauseAt = at;
    }
    lastAnswer = Math.max(lastAnswer, at);
    stats.slowestMs = Math.max(stats.slowestMs, at - sentAt);
    stats.requests++;
    if (kind === 'keep-alive') stats.keepAlive++;
    else stats.fresh++;
  };
  const failed = (kind: StreamFailure['kind'], error: string) => {
    stats.failed++;
    stats.requests++;
    if (stats.failures.length < FAILURES_KEPT) stats.failures.push({ at: now(), kind, error });
  };

  // One request: its status, or the error; `reused` says whether it went out on a kept-alive
  // connection, and `answering` whether any byte of an answer came.
  const once = (agent: Agent | false): Promise<{ status: number | null; error: string | null; reused: boolean; answering: boolean }> =>
    new Promise((resolve) => {
      let answering = false;
      const where = target.kind === 'tcp' ? { host: target.host, port: target.port } : { socketPath: target.path };
      const req = http.request({ ...where, path, method: 'GET', agent, timeout: REQUEST_TIMEOUT_MS, headers: agent ? {} : { connection: 'close' } }, (res: IncomingMessage) => {
        answering = true;
        res.resume();
        res.once('end', () => resolve({ status: res.statusCode ?? null, error: null, reused: req.reusedSocket, answering }));
        res.once('error', (e: NodeJS.ErrnoException) => resolve({ status: null, error: e.code ?? e.message, reused: req.reusedSocket, answering }));
      });
      req.once('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.once('error', (e: NodeJS.ErrnoException) => resolve({ status: null, error: e.code ?? e.message, reused: req.reusedSocket, answering }));
      req.end();
    });

  const client = async (kind: StreamFailure['kind']) => {
    const agent = kind === 'keep-alive' ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : false;
    if (agent) agents.push(agent);
    while (running) {
      const sentAt = now();
      let r = await once(agent);
      const closedUnder = r.error !== null && r.reused && !r.answering && (r.error === 'ECONNRESET' || r.error === 'EPIPE');
      if (closedUnder) {
        stats.retried++;
        r = await once(agent);
      }
      if (r.error !== null) failed(kind, r.error);
      else if (r.status !== null && r.status >= 500) failed(kind, `HTTP ${r.status}`);
      else answered(sentAt, kind);
    }
  };
  for (let i = 0; i < counts.keepAlive; i++) loops.push(client('keep-alive'));
  for (let i = 0; i < counts.fresh; i++) loops.push(client('new-connection'));

  const snapshot = (): StreamStats => ({ ...stats, failures: [...stats.failures] });
  return {
    stats: snapshot,
    async stop() {
      running = false;
      await Promise.all(loops);
      for (const agent of agents) agent.destroy();
      return snapshot();
    },
  };
}

/** How one in-flight request ended. */
export interface InflightOutcome {
  status: number | null;
  error: string | null;
}

// One GET to `url` on a connection of its own: `written` resolves once the request is on
// the wire, `result` when it ends.
export function inflightRequest(url: URL, timeoutMs = REQUEST_TIMEOUT_MS): { written: Promise<void>; result: Promise<InflightOutcome> } {
  const http = process.getBuiltinModule('node:http');
  let wrote!: () => void;
  const written = new Promise<void>((resolve) => (wrote = resolve));
  const result = new Promise<InflightOutcome>((resolve) => {
    const req = http.request(url, { method: 'GET', agent: false, timeout: timeoutMs }, (res: IncomingMessage) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? null, error: null }));
      res.once('error', (e: NodeJS.ErrnoException) => resolve({ status: null, error: e.code ?? e.message }));
    });
    req.once('finish', wrote);
    req.once('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.once('error', (e: NodeJS.ErrnoException) => {
      wrote();
      resolve({ status: null, error: e.code ?? e.message });
    });
    req.end();
  });
  return { written, result };
}

// `count` in-flight requests to `url` (--inflight), each on a connection of its own: how each
// one ends (`results`), and `sent`, which resolves once they are all written and have had
// INFLIGHT_SETTLE_MS to be read.
export function sendInflight(url: URL, count: number, timeoutMs?: number): { results: Promise<InflightOutcome>[]; sent: Promise<void> } {
  const requests = Array.from({ length: count }, () => inflightRequest(url, timeoutMs));
  const sent = Promise.all(requests.map((r) => r.written)).then(() => new Promise<void>((resolve) => setTimeout(resolve, INFLIGHT_SETTLE_MS)));
  return { results: requests.map((r) => r.result), sent };
}
