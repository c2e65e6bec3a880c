// The health endpoint (--health-port): GET /healthz answers 200 while the child runs,
// GET /readyz 200 once it is ready and until a stop is requested, 503 otherwise, so that a
// Kubernetes readiness probe or a load balancer stops sending traffic the moment a stop
// begins, while --stop-delay keeps the child serving what is already on its way. GET /metrics
// answers in Prometheus' text format what report/metrics.ts counted (docs/observability.md).
import { createServer, type Server } from 'node:http';
import { Metrics, type Now } from '../../report/metrics.js';
import { ownAccepts } from './accepts.js';

export interface Health {
  /** What graceful is doing: starting, running, stopping, waiting (to restart), ... */
  state: string;
  running: boolean;
  ready: boolean;
  pid: number | null;
  uptimeMs: number | null;
  restarts: number;
}

/** What the endpoint reads on each request. */
export interface Readings {
  health(): Health;
  /** The gauges of the moment, for /metrics. */
  now(): Now;
}

/** The endpoint, listening: its counters, and its end. */
export interface Endpoint {
  readonly metrics: Metrics;
  /**
   * After the last run: resolves once /metrics has been read again (a scrape that sees the
   * end), or after `ms` (--final-scrape; 0: at once). Prometheus pulls: without it, the stop
   * that ends graceful is gone with the endpoint before any scrape can see it.
   */
  finalScrape(ms: number): Promise<boolean>;
  close(): void;
}

// Node's server checks its connections for request and header timeouts every 30 s, idle or
// not: a wakeup of graceful's main thread for nothing while no probe is connected. Off
// (the longest interval a timer takes); an idle connection is closed after SOCKET_IDLE_MS
// by its own timer instead, which exists only while the connection does.
const CHECK_NEVER_MS = 2 ** 31 - 1;
// A probe sends its request at once and is answered at once (connection: close).
const SOCKET_IDLE_MS = 10_000;
// Enough for every probe of a pod or a load balancer, few enough to bound what a client
// that holds connections open can take.
const MAX_CONNECTIONS = 64;
// What Prometheus asks for and the format is: the text exposition format, version 0.0.4.
const METRICS_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

// Listens on host:port; resolves with the endpoint, or with why it could not listen.
export function serveHealth(host: string, port: number, read: Readings): Promise<Endpoint | string> {
  const metrics = new Metrics();
  // Each /metrics answer wakes whoever waits for a scrape (finalScrape).
  let scraped: (() => void) | null = null;
  const server: Server = createServer({ connectionsCheckingInterval: CHECK_NEVER_MS }, (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': METRICS_TYPE, 'cache-control': 'no-store', connection: 'close' });
      res.end(metrics.render(read.now()), () => scraped?.());
      return;
    }
    const h = read.health();
    const ok = path === '/healthz' ? h.running : path === '/readyz' ? h.ready : null;
    const status = ok === null ? 404 : ok ? 200 : 503;
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', connection: 'close' });
    res.end(`${JSON.stringify(ok === null ? { error: 'not found: try /healthz, /readyz or /metrics' } : h)}\n`);
  });
  // --stop-delay auto counts the connections its namespace accepts, less graceful's own.
  server.on('connection', () => void ownAccepts.count++);
  server.timeout = SOCKET_IDLE_MS;
  server.maxConnections = MAX_CONNECTIONS;
  const endpoint: Endpoint = {
    metrics,
    finalScrape(ms) {
      if (ms <= 0) return Promise.resolve(false);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          scraped = null;
          resolve(false);
        }, ms);
        scraped = () => {
          clearTimeout(timer);
          scraped = null;
          resolve(true);
        };
      });
    },
    close: () => void server.close(),
  };
  return new Promise((resolve) => {
    server.once('error', (error: NodeJS.ErrnoException) => resolve(`--health-port ${port}: cannot listen on ${host}:${port} (${error.code ?? error.message})`));
    server.listen(port, host, () => {
      // The endpoint must never keep graceful alive on its own.
      server.unref();
      resolve(endpoint);
    });
  });
}
