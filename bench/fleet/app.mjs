// The fleet's Node replica: an HTTP server that drains on SIGTERM or SIGINT, as a careful
// app does and no more. It stops accepting (the listening socket closes), finishes what is
// in flight, closes idle keep-alive connections and answers the rest with Connection:
// close, then exits 0. It knows nothing of load balancers: hiding it from them is its
// supervisor's job, which is what the harness measures.
//
//   GET /readyz      200 until the stop signal, then 503 (the app's own readiness, checked
//                    by the load balancer when graceful's --health-port is not there)
//   GET /slow?ms=N   answers after N ms (at most 10 s): in-flight work to drain
//   GET /anything    answers at once
//
// PORT and HOST say where to listen (HOST: 127.0.0.1 by default; 0.0.0.0 in a network
// namespace of its own, --net pod). Prints `ready <pid> port <port>` once listening.
import http from 'node:http';

const port = Number(process.env.PORT);
let draining = false;

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  // A response sent while draining closes its connection, so that no keep-alive client
  // (the load balancer's pool) sends a request on it after the close.
  const end = (status, body) => {
    if (draining) res.shouldKeepAlive = false;
    res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
  };
  if (url.pathname === '/readyz') return end(draining ? 503 : 200, draining ? 'draining\n' : 'ready\n');
  if (url.pathname === '/slow') {
    const ms = Math.min(Number(url.searchParams.get('ms') ?? 1000), 10_000);
    setTimeout(() => end(200, `slept ${ms}ms\n`), ms);
    return;
  }
  end(200, 'ok\n');
});
// Longer than haproxy's own idle timeouts: the server never closes an idle connection
// that the load balancer may be about to reuse, outside a stop (AWS gives the same advice
// for servers behind an ALB).
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;

server.listen(port, process.env.HOST || '127.0.0.1', () => console.log(`ready ${process.pid} port ${server.address().port}`));

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    console.log(`signal ${signal}`);
    if (draining) return; // a second signal (Heroku's, or a supervisor's) changes nothing
    draining = true;
    server.close(() => {
      console.log('drained');
      process.exit(0);
    });
    server.closeIdleConnections();
  });
}
