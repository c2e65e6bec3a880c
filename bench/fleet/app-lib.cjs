// The fleet's Node replica written with graceful's library (graceful-lifecycle, built from
// src/app/ and copied into the root as /app/lifecycle.cjs): the same endpoints as app.mjs,
// but the shutdown is the library's. On SIGTERM or SIGINT its /readyz answers 503 at once,
// it keeps taking work for its delay (from the platform: GRACEFUL_PLATFORM, set by graceful,
// or FLEET_DELAY_MS here to force one), then stops listening and drains.
//
// It answers the question graceful alone cannot on Heroku, where the platform's SIGTERM
// reaches the app at the same instant as graceful: does the app's own delay keep it serving
// while the router still sends to it?
//
//   GET /readyz      the library's readiness: 200 once ready, 503 from the stop
//   GET /slow?ms=N   answers after N ms (at most 10 s)
//   GET /anything    answers at once
//
// PORT and HOST say where to listen (HOST: 127.0.0.1 by default). Prints `ready <pid> port <port>` once listening.
'use strict';
const http = require('node:http');
const { lifecycle } = require('./lifecycle.cjs');

const delay = process.env.FLEET_DELAY_MS;
const life = lifecycle({ name: 'app-lib', ...(delay ? { delayMs: Number(delay) } : {}) });

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/readyz') return life.readiness(req, res);
  const end = (status, body) => res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
  if (url.pathname === '/slow') {
    const ms = Math.min(Number(url.searchParams.get('ms') ?? 1000), 10_000);
    setTimeout(() => end(200, `slept ${ms}ms\n`), ms);
    return;
  }
  end(200, 'ok\n');
});
// As app.mjs: never close an idle connection the load balancer may be about to reuse.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;
life.serve('http', server);

server.listen(Number(process.env.PORT), process.env.HOST || '127.0.0.1', () => {
  life.ready();
  console.log(`ready ${process.pid} port ${server.address().port}`);
});
