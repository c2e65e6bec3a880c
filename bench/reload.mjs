// The reload figures (docs/reload.md), kept apart from run.mjs, which calls reloadFigures()
// with its row() and fmt(). A Node HTTP server runs under `graceful run --listen`; a steady
// stream of requests (graceful check's own stream, dist/stream-worker.cjs, in a worker
// thread of this process: kept-alive connections and a new connection per request) runs
// against it, first with no reload (the machine's own jitter: the baseline), then through
// 10 reloads by SIGHUP, each to its end. Figures: requests failed during the reloads
// (target 0), and the longest pause in service (target: no more than the new generation's
// own first-request latency plus 5 ms, that latency measured on a fresh graceful run).
import { spawn } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

const CLIENTS = { keepAlive: 3, fresh: 3 };

export async function reloadFigures({ row, fmt, quick, env, root }) {
  const cli = join(root, 'bin/graceful.js');
  const server = [process.execPath, join(root, 'fixtures/listen-http.js')];
  const reloads = quick ? 1 : 10;

  // A fresh generation's first request: ready, then one GET on a new connection.
  const firsts = [];
  for (let i = 0; i < (quick ? 1 : 7); i++) {
    const g = await graceful(cli, server, env);
    const t0 = process.hrtime.bigint();
    await new Promise((resolve) => http.get({ host: '127.0.0.1', port: g.port, agent: false }, (res) => res.resume().on('end', resolve)).on('error', resolve));
    firsts.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await g.stop();
  }
  const first = median(firsts);

  const g = await graceful(cli, server, env);
  // Through the reloads: each one's switch, then 300 ms of the new generation serving.
  const t0 = performance.now();
  const during = await streamed(root, g.port, async () => {
    for (let i = 1; i <= reloads; i++) {
      process.kill(g.pid, 'SIGHUP');
      await g.waitFor(new RegExp(`reload ${i} \\(SIGHUP\\): (switched|rolled back|failed)`));
      await new Promise((r) => setTimeout(r, 300));
    }
  });
  const elapsed = performance.now() - t0;
  // The same stream for as long, with no reload: what this machine's jitter alone costs.
  const baseline = await streamed(root, g.port, () => new Promise((r) => setTimeout(r, elapsed)));
  const switched = (g.err().match(/\[switched\]/g) ?? []).length;
  await g.stop();

  row(`reloads: requests failed during ${reloads} reloads under a stream`, { graceful: `${during.failed} of ${during.requests}${during.retried ? ` (${during.retried} resent after an idle kept-alive close)` : ''}; ${switched} switched` }, '0', during.failed === 0 && switched === reloads);
  row('reloads: longest pause in service', { 'during reloads': fmt(during.longestPauseMs), 'no reload (baseline)': fmt(baseline.longestPauseMs), "a new generation's first request": fmt(first) }, 'first request + 5 ms', during.longestPauseMs <= first + 5);
}

// graceful run --listen on a port the kernel chooses, once the server is ready.
async function graceful(cli, server, env) {
  const p = spawn(process.execPath, [cli, 'run', '--listen', 'tcp://127.0.0.1:0', '--ready', 'ipc', '--', ...server], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.setEncoding('utf8').on('data', (c) => (err += c));
  const waitFor = async (re) => {
    for (let i = 0; i < 6000 && !re.test(err); i++) await new Promise((r) => setTimeout(r, 5));
    if (!re.test(err)) throw new Error(`graceful did not say ${re}: ${err.slice(-500)}`);
  };
  await waitFor(/ready in \d+/);
  const port = Number(err.match(/holding tcp:\/\/127\.0\.0\.1:(\d+)/)[1]);
  return {
    pid: p.pid,
    port,
    waitFor,
    err: () => err,
    stop: () => {
      p.kill('SIGTERM');
      return new Promise((resolve) => p.once('exit', resolve));
    },
  };
}

// Runs the stream while `during()` runs; its figures.
async function streamed(root, port, during) {
  const worker = new Worker(join(root, 'dist/stream-worker.cjs'), { workerData: { target: { kind: 'tcp', host: '127.0.0.1', port }, path: '/', counts: CLIENTS } });
  const done = new Promise((resolve) => worker.on('message', (m) => m.type === 'done' && resolve(m.stats)));
  await new Promise((r) => setTimeout(r, 200));
  await during();
  worker.postMessage('stop');
  return done;
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
