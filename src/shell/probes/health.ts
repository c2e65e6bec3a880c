// The health endpoint (--health-port): GET /healthz answers 200 while the child runs,
// GET /readyz 200 once it is ready and until a stop is requested, 503 otherwise, so that a
// Kubernetes readiness probe or a load balancer stops sending traffic the moment a stop
// begins, while --stop-delay keeps the child serving what is already on its way.
import { createServer, type Server } from 'node:http';

export interface Health {
  /** What graceful is doing: starting, running, stopping, waiting (to restart), ... */
  state: string;
  running: boolean;
  ready: boolean;
  pid: number | null;
  uptimeMs: number | null;
  restarts: number;
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

// Listens on host:port; resolves with the server, or with why it could not listen.
export function serveHealth(host: string, port: number, health: () => Health): Promise<Server | string> {
  const server = createServer({ connectionsCheckingInterval: CHECK_NEVER_MS }, (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const h = health();
    const ok = path === '/healthz' ? h.running : path === '/readyz' ? h.ready : null;
    const status = ok === null ? 404 : ok ? 200 : 503;
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', connection: 'close' });
    res.end(`${JSON.stringify(ok === null ? { error: 'not found: try /healthz or /readyz' } : h)}\n`);
  });
  server.timeout = SOCKET_IDLE_MS;
  server.maxConnections = MAX_CONNECTIONS;
  return new Promise((resolve) => {
    server.once('error', (error: NodeJS.ErrnoException) => resolve(`--health-port ${port}: cannot listen on ${host}:${port} (${error.code ?? error.message})`));
    server.listen(port, host, () => {
      // The endpoint must never keep graceful alive on its own.
      server.unref();
      resolve(server);
    });
  });
}
