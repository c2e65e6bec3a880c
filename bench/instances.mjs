// The instances figures (docs/reload.md#instances, issue 26): N copies of one Node server
// on one port, under graceful run --instances and under pm2's cluster mode, on the same
// server file (bench/instances-server.cjs, ~1 ms of CPU per request) and the same load.
//
// - Throughput and p99 latency: 1 instance and 4 instances under graceful, 4 under
//   pm2-runtime -i 4; a closed-loop load of CONNECTIONS kept-alive clients in two worker
//   threads of this process for LOAD_MS, ROUNDS times, the contenders in turn.
// - Reloads: 10 reloads (graceful reload; pm2 reload) of 4 instances under a stream of
//   requests (graceful check's own stream, dist/stream-worker.cjs), once on kept-alive
//   connections only and once on a new connection per request; the failed requests counted.
//
// Run alone (node bench/instances.mjs [--quick]) it writes bench/instances-results.md;
// npm run bench calls instancesFigures() with its row() and fmt().
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const HERE = dirname(fileURLToPath(import.meta.url));
const SERVER = join(HERE, 'instances-server.cjs');
const CONNECTIONS = 32;

export async function instancesFigures({ row, fmt, quick, env, root }) {
  const cli = join(root, 'bin/graceful.js');
  const pm2Bin = join(root, 'node_modules/pm2/bin');
  const hasPm2 = existsSync(join(pm2Bin, 'pm2-runtime'));
  const loadMs = quick ? 500 : 5000;
  const rounds = quick ? 1 : 3;
  const reloads = quick ? 1 : 10;
  const contenders = [
    { name: 'graceful --instances 1', start: (port) => gracefulRun(cli, port, 1, env) },
    { name: 'graceful --instances 4', start: (port) => gracefulRun(cli, port, 4, env) },
    hasPm2 && { name: 'pm2-runtime -i 4', start: (port) => pm2Run(pm2Bin, port, 4, env) },
  ].filter(Boolean);

  // Throughput and p99: each contender in turn, ROUNDS times (the machine's load drifts).
  const results = new Map(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const c of contenders) {
      const port = await freePort();
      const run = await c.start(port);
      await warm(port, run.instances);
      results.get(c.name).push(await load(port, loadMs));
      await run.stop();
    }
  }
  const summary = (name) => {
    const all = results.get(name);
    const rps = median(all.map((r) => r.rps));
    const p99 = median(all.map((r) => r.p99));
    return { rps, p99, errors: all.reduce((s, r) => s + r.errors, 0), text: `${Math.round(rps)} req/s, p99 ${fmt(p99)}${all.some((r) => r.errors) ? `, ${all.reduce((s, r) => s + r.errors, 0)} errors` : ''}` };
  };
  const one = summary('graceful --instances 1');
  const four = summary('graceful --instances 4');
  const pm2 = hasPm2 ? summary('pm2-runtime -i 4') : null;
  row(
    `instances: throughput and p99 of a Node server (~1 ms CPU per request) on ${os.cpus().length} cores, ${CONNECTIONS} kept-alive clients, ${loadMs / 1000}s x ${rounds} (median)`,
    { 'graceful --instances 1': one.text, 'graceful --instances 4': four.text, 'pm2-runtime -i 4': pm2 ? pm2.text : 'not installed (npm ci installs pm2)' },
    '4 instances: more req/s than 1 (as many as the cores allow), at least pm2\'s',
    four.rps > one.rps && (pm2 === null || four.rps >= pm2.rps * 0.95),
  );

  // Reloads under a stream: kept-alive connections, then a new connection per request.
  for (const mode of [
    { name: 'kept-alive connections', counts: { keepAlive: 3, fresh: 0 } },
    { name: 'a new connection per request', counts: { keepAlive: 0, fresh: 3 } },
  ]) {
    const values = {};
    let ok = true;
    for (const c of contenders.filter((x) => x.name !== 'graceful --instances 1')) {
      const port = await freePort();
      const run = await c.start(port);
      await warm(port, run.instances);
      let done = 0;
      const stats = await streamed(root, port, mode.counts, async () => {
        for (let i = 1; i <= reloads; i++) {
          if (await run.reload()) done++;
          await new Promise((r) => setTimeout(r, 200));
        }
      });
      await run.stop();
      const failures = tally(stats.failures.map((f) => f.error));
      values[c.name] = `${stats.failed} failed of ${stats.requests}${failures ? ` (${failures})` : ''}; ${done} of ${reloads} reloads done${stats.retried ? `; ${stats.retried} resent after an idle kept-alive close` : ''}; longest pause ${fmt(stats.longestPauseMs)}`;
      if (c.name.startsWith('graceful')) ok = ok && stats.failed === 0 && done === reloads;
    }
    row(`instances: ${reloads} reloads of 4 instances under a request stream on ${mode.name}`, values, 'graceful: 0 failed', ok);
  }
}

// graceful run --listen --instances N --ready ipc on `port`.
async function gracefulRun(cli, port, n, env) {
  const p = spawn(process.execPath, [cli, 'run', '--listen', `tcp://127.0.0.1:${port}`, '--instances', String(n), '--ready', 'ipc', '--timeout', '10s', '--', process.execPath, SERVER], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.setEncoding('utf8').on('data', (c) => (err += c));
  const exited = new Promise((resolve) => p.once('exit', resolve));
  await until(() => (err.match(/\) ready in /g) ?? []).length >= n, () => `graceful did not start ${n} instance(s): ${err.slice(-400)}`);
  return {
    instances: n,
    reload: () =>
      new Promise((resolve) => {
        const r = spawn(process.execPath, [cli, 'reload', '--pid', String(p.pid)], { env, stdio: 'ignore' });
        r.once('exit', (code) => resolve(code === 0));
      }),
    stop: () => {
      p.kill('SIGTERM');
      return exited;
    },
  };
}

// pm2-runtime -i N on `port`, in a PM2_HOME of its own; pm2 reload through it.
async function pm2Run(bin, port, n, env) {
  const home = mkdtempSync(join(os.tmpdir(), 'pm2-bench-'));
  const penv = { ...env, PM2_HOME: home, PORT: String(port) };
  // pm2-runtime takes wait_ready only from an ecosystem file: ready on process.send('ready')
  // as graceful's --ready ipc, and the same 10 s to drain as graceful's --timeout 10s.
  const config = join(home, 'ecosystem.config.json');
  writeFileSync(config, JSON.stringify({ apps: [{ name: 'bench', script: SERVER, instances: n, exec_mode: 'cluster', wait_ready: true, listen_timeout: 10_000, kill_timeout: 10_000, env: { PORT: String(port), WORK: env.WORK ?? '600' } }] }));
  const p = spawn(process.execPath, [join(bin, 'pm2-runtime'), 'start', config], { env: penv, stdio: ['ignore', 'ignore', 'ignore'] });
  const exited = new Promise((resolve) => p.once('exit', resolve));
  return {
    instances: n,
    reload: () =>
      new Promise((resolve) => {
        const r = spawn(process.execPath, [join(bin, 'pm2'), 'reload', 'bench'], { env: penv, stdio: 'ignore' });
        r.once('exit', (code) => resolve(code === 0));
      }),
    stop: async () => {
      p.kill('SIGTERM');
      await exited;
      rmSync(home, { recursive: true, force: true });
    },
  };
}

// Until `n` different pids have answered (every instance listens), within 30 s.
async function warm(port, n) {
  const pids = new Set();
  const deadline = performance.now() + 30_000;
  while (pids.size < n && performance.now() < deadline) {
    const body = await new Promise((resolve) => http.get({ host: '127.0.0.1', port, agent: false }, (res) => {
      let b = '';
      res.setEncoding('utf8').on('data', (c) => (b += c)).on('end', () => resolve(b));
    }).on('error', () => resolve('')));
    if (body) pids.add(body.split(' ')[0]);
    else await new Promise((r) => setTimeout(r, 50));
  }
  if (pids.size < n) throw new Error(`only ${pids.size} of ${n} instances answered on port ${port}`);
}

// The closed-loop load: CONNECTIONS clients in two worker threads for `ms`.
async function load(port, ms) {
  const t0 = performance.now();
  const parts = await Promise.all(
    [0, 1].map(
      () =>
        new Promise((resolve, reject) => {
          const w = new Worker(join(HERE, 'instances-load.cjs'), { workerData: { port, loops: CONNECTIONS / 2, ms } });
          w.once('message', resolve);
          w.once('error', reject);
        }),
    ),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const latencies = parts.flatMap((p) => p.latencies).sort((a, b) => a - b);
  return { rps: latencies.length / elapsed, p99: latencies[Math.ceil(0.99 * latencies.length) - 1] ?? NaN, errors: parts.reduce((s, p) => s + p.errors, 0) };
}

// graceful check's stream (a worker thread) while `during()` runs; its figures.
async function streamed(root, port, counts, during) {
  const worker = new Worker(join(root, 'dist/stream-worker.cjs'), { workerData: { target: { kind: 'tcp', host: '127.0.0.1', port }, path: '/', counts } });
  const done = new Promise((resolve) => worker.on('message', (m) => m.type === 'done' && resolve(m.stats)));
  await new Promise((r) => setTimeout(r, 300));
  await during();
  await new Promise((r) => setTimeout(r, 300));
  worker.postMessage('stop');
  const stats = await done;
  await worker.terminate();
  return stats;
}

async function until(test, why) {
  for (let i = 0; i < 6000 && !test(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!test()) throw new Error(why());
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function tally(items) {
  const counts = new Map();
  for (const i of items) counts.set(i, (counts.get(i) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${k} x${n}`).join(', ');
}

// Alone: node bench/instances.mjs [--quick] writes bench/instances-results.md.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  const root = resolve(HERE, '..');
  const env = { ...process.env, NO_COLOR: '1' };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;
  const rows = [];
  const fmt = (v) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`);
  const loadNow = () => {
    const [one, five] = os.loadavg();
    return `load average ${one.toFixed(2)} (1 min), ${five.toFixed(2)} (5 min)`;
  };
  const before = loadNow();
  await instancesFigures({ row: (figure, values, target, met) => rows.push({ figure, values, target, met }), fmt, quick, env, root });
  const after = loadNow();
  const pm2 = JSON.parse(readFileSync(join(root, 'node_modules/pm2/package.json'), 'utf8')).version;
  const rev = spawnSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
  const cpu = os.cpus();
  const text = [
    `# graceful --instances against pm2${quick ? ' (quick mode: not meaningful)' : ''}`,
    '',
    `- Date: ${new Date().toISOString()}; graceful ${rev}; pm2 ${pm2}; Node ${process.version}`,
    `- Machine: ${cpu[0]?.model ?? 'unknown'}, ${cpu.length} cores (shared with other sessions' test suites: the load is given), ${os.type()} ${os.release()}`,
    `- Load: before, ${before}; after, ${after}`,
    '- Server: bench/instances-server.cjs (~1 ms of CPU per request); load: bench/instances-load.cjs in 2 worker threads of the bench, on the same 2 cores',
    '',
    '| Figure | Measured | Target | Met |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.figure} | ${Object.entries(r.values).map(([k, v]) => `${k}: ${v}`).join('<br>')} | ${r.target} | ${r.met ? 'yes' : '**no**'} |`),
    '',
  ].join('\n');
  writeFileSync(join(HERE, 'instances-results.md'), text);
  process.stderr.write(`${text}\nwritten to bench/instances-results.md\n`);
  process.exit(0);
}
