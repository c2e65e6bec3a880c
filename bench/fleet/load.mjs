#!/usr/bin/env node
// The fleet's load generator: open loop, at a fixed rate, whatever the answers do. A closed
// loop (send, wait, send) slows down when the service does and hides the very requests a
// deploy loses; this one sends request i at start + i/rate, and says how late it was.
//
//   node load.mjs --url http://127.0.0.1:PORT --rate 100 [--keep-alive on|off]
//                 [--slow-rate 2 --slow-ms 1000] [--timeout 20000] [--id k] [--max-in-flight 2000]
//
// Besides the steady requests (GET /), slow ones (GET /slow?ms=N) at --slow-rate per
// second keep work in flight through every stop. Each request carries an x-fleet-id header
// (--id prefix + a number) that haproxy logs. Loopback only.
//
// Prints `ready` once sending. On "stop" on stdin (or SIGTERM) it stops sending, waits for
// what is in flight (each request has --timeout), and prints one JSON line: how many were
// sent, how each failed one failed (with its id, when it was sent and when it ended), and
// how late the sends were.
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' },
    rate: { type: 'string', default: '100' },
    'keep-alive': { type: 'string', default: 'on' },
    'slow-rate': { type: 'string', default: '0' },
    'slow-ms': { type: 'string', default: '1000' },
    timeout: { type: 'string', default: '20000' },
    id: { type: 'string', default: 'r' },
    'max-in-flight': { type: 'string', default: '2000' },
  },
});
const url = new URL(opt.url ?? '');
if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
  console.error(`load.mjs: --url ${opt.url}: loopback only (127.0.0.1, localhost or [::1])`);
  process.exit(2);
}
const RATE = Number(opt.rate);
const SLOW_RATE = Number(opt['slow-rate']);
const SLOW_MS = Number(opt['slow-ms']);
const TIMEOUT = Number(opt.timeout);
const MAX_IN_FLIGHT = Number(opt['max-in-flight']);
const KEEP_ALIVE = opt['keep-alive'] === 'on';

// Keep-alive: a pool of connections reused in turn (fifo keeps every one warm) and closed
// by the client after 30 s idle, before haproxy's 60 s: no race on an idle close here.
// Without: a new connection per request, closed after its answer.
const agent = KEEP_ALIVE ? new http.Agent({ keepAlive: true, maxSockets: Infinity, scheduling: 'fifo', timeout: 30_000 }) : false;

const t0 = performance.now();
const startedAt = Date.now();
const now = () => performance.now() - t0;
let sent = 0;
let ok = 0;
let inFlight = 0;
let skipped = 0;
let maxLag = 0;
let lateSends = 0; // sent more than 20 ms after their time
const failures = []; // [id, sentMs, endMs, kind, detail]
let n = 0;

function send(path, due) {
  const lag = now() - due;
  if (lag > maxLag) maxLag = lag;
  if (lag > 20) lateSends++;
  if (inFlight >= MAX_IN_FLIGHT) {
    skipped++;
    return;
  }
  const id = `${opt.id}${n++}`;
  const at = now();
  sent++;
  inFlight++;
  let settled = false;
  const settle = (kind, detail) => {
    if (settled) return;
    settled = true;
    inFlight--;
    if (kind === 'ok') ok++;
    else failures.push([id, Math.round(at), Math.round(now()), kind, detail]);
    if (stopping && inFlight === 0) finish();
  };
  const req = http.request(
    { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port, path, agent, headers: { 'x-fleet-id': id, ...(KEEP_ALIVE ? {} : { connection: 'close' }) } },
    (res) => {
      res.resume();
      res.on('end', () => settle(res.statusCode >= 500 ? '5xx' : res.statusCode >= 400 ? '4xx' : 'ok', res.statusCode));
      res.on('error', (e) => settle(kindOf(e), e.code ?? e.message));
      res.on('aborted', () => settle('reset', 'aborted'));
    },
  );
  req.setTimeout(TIMEOUT, () => {
    settle('timeout', TIMEOUT);
    req.destroy();
  });
  req.on('error', (e) => settle(kindOf(e), e.code ?? e.message));
  req.end();
}

function kindOf(error) {
  if (error.code === 'ECONNREFUSED') return 'refused';
  if (error.code === 'ECONNRESET' || error.code === 'EPIPE' || error.message === 'socket hang up') return 'reset';
  if (error.code === 'ETIMEDOUT') return 'timeout';
  return 'error';
}

let stopping = false;
let steady = 0;
let slow = 0;
// Every 2 ms, send whatever is due: the sends are at most a tick late when the event loop
// is free, and their lateness is measured either way.
const tick = setInterval(() => {
  const t = now();
  while (steady * (1000 / RATE) <= t) send('/', steady++ * (1000 / RATE));
  while (SLOW_RATE > 0 && slow * (1000 / SLOW_RATE) <= t) send(`/slow?ms=${SLOW_MS}`, slow++ * (1000 / SLOW_RATE));
}, 2);

function stop() {
  if (stopping) return;
  stopping = true;
  clearInterval(tick);
  if (inFlight === 0) finish();
}

let finished = false;
function finish() {
  if (finished) return;
  finished = true;
  const result = { keepAlive: KEEP_ALIVE, rate: RATE, slowRate: SLOW_RATE, slowMs: SLOW_MS, startedAt, durationMs: Math.round(now()), sent, ok, skipped, maxLagMs: Math.round(maxLag), lateSends, failures };
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

process.on('SIGTERM', stop);
process.stdin.setEncoding('utf8').on('data', (d) => {
  if (d.includes('stop')) stop();
});
process.stdin.on('end', stop); // the harness is gone: stop too
console.log('ready');
