// npm run bench -- library [--quick] [--out FILE]
//
// The app library side by side with its peers (issue 25): the same Express app
// (apps/app.mjs) shut down by graceful-lifecycle, @godaddy/terminus, lightship,
// close-with-grace, http-terminator and a bare server.close(), each given the same 10 s
// limit where it has one. For each, with keep-alive on and off, 3 runs:
//
// - 5 slow requests (2 s) in flight at the SIGTERM;
// - a trickle of short requests (one every 10 ms, through the same kind of client) from
//   300 ms before the SIGTERM until the app has exited: requests at the instant of the
//   signal, on kept-alive connections when keep-alive is on;
//
// and counts, from the clients' side, the requests that failed (a reset, a hang-up, an
// error status; a refused connection is not a failure: nothing was sent, and a client
// retries it elsewhere), and the time from the SIGTERM to the app's exit, with its status.
// Prints a table and writes bench/library/results.md (the table docs/app.md quotes).
import { spawn } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

const CONTENDERS = [
  ['graceful-lifecycle', 'graceful.mjs'],
  ['@godaddy/terminus 4.12.1', 'terminus.mjs'],
  ['lightship 9.0.3', 'lightship.mjs'],
  ['close-with-grace 2.5.0', 'close-with-grace.mjs'],
  ['http-terminator 3.2.0', 'http-terminator.mjs'],
  ['bare server.close()', 'bare.mjs'],
];

export async function main(args) {
  const quick = args.includes('--quick');
  const out = args.includes('--out') ? args[args.indexOf('--out') + 1] : join(HERE, 'results.md');
  const runs = quick ? 1 : 3;
  const slowMs = quick ? 300 : 2_000;
  // A contender that never exits (server.close() with a busy kept-alive client) is killed then.
  const ceilingMs = quick ? 12_000 : 20_000;
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_EXTRA_CA_CERTS; // ~50 ms on every Node start on this machine
  for (const key of Object.keys(env)) if (key.startsWith('GRACEFUL_')) delete env[key];

  const rows = [];
  for (const keepAlive of [true, false]) {
    for (const [name, file] of CONTENDERS) {
      const results = [];
      for (let i = 0; i < runs; i++) results.push(await trial(join(HERE, 'apps', file), { keepAlive, slowMs, ceilingMs, env }));
      rows.push({ name, keepAlive, results });
      const last = summary({ name, keepAlive, results });
      console.error(`bench library: ${name}, keep-alive ${keepAlive ? 'on' : 'off'}: ${last.slow} slow failed, ${last.trickle} failed around the signal, exit ${last.exit} (${last.status})`);
    }
  }
  const table = render(rows, { runs, slowMs });
  console.log(table);
  writeFileSync(out, table);
  return 0;
}

// One run: the app, its slow requests, the trickle, the SIGTERM, the exit.
async function trial(script, { keepAlive, slowMs, ceilingMs, env }) {
  const proc = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })));
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${script} did not print its ready line: ${stderr}`)), 20_000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /ready \d+ port (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  const agent = keepAlive ? new http.Agent({ keepAlive: true, maxSockets: 20 }) : false;
  try {
    // Kept-alive connections idle in the client, as a real client's pool has them.
    if (keepAlive) await Promise.all(Array.from({ length: 5 }, () => get(port, '/', agent)));
    const slow = Array.from({ length: 5 }, () => get(port, `/slow?ms=${slowMs}`, agent));
    const trickle = [];
    let running = true;
    const pump = (async () => {
      while (running) {
        trickle.push(get(port, '/', agent));
        await sleep(10);
      }
    })();
    await sleep(300);
    const stopAt = performance.now();
    proc.kill('SIGTERM');
    const ceiling = sleep(ceilingMs).then(() => null);
    const exit = await Promise.race([exited, ceiling]);
    if (exit === null) proc.kill('SIGKILL');
    running = false;
    await pump;
    const replies = await Promise.all(trickle);
    const slowReplies = await Promise.all(slow);
    const failed = (r) => r !== 200 && r !== 'ECONNREFUSED';
    const e = exit ?? (await exited);
    return {
      slowFailed: slowReplies.filter(failed).length,
      trickleFailed: replies.filter(failed).length,
      trickleKinds: count(replies.filter(failed)),
      exitMs: exit === null ? null : e.at - stopAt,
      status: exit === null ? `killed at ${ceilingMs / 1000} s` : e.signal ? e.signal : `exit ${e.code}`,
    };
  } finally {
    if (agent) agent.destroy();
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  }
}

// GET: the status, or the error's code; never rejects.
function get(port, path, agent) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', (e) => resolve(e.code ?? e.message));
    });
    req.on('error', (e) => resolve(e.code ?? e.message));
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const count = (xs) => xs.reduce((m, x) => ((m[x] = (m[x] ?? 0) + 1), m), {});
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (x) => (x === null ? 'none' : x < 1000 ? `${Math.round(x)} ms` : `${(x / 1000).toFixed(2)} s`);

function summary({ results }) {
  const exits = results.map((r) => r.exitMs).filter((x) => x !== null);
  const kinds = {};
  for (const r of results) for (const [k, n] of Object.entries(r.trickleKinds)) kinds[k] = (kinds[k] ?? 0) + n;
  return {
    slow: results.reduce((n, r) => n + r.slowFailed, 0),
    trickle: results.reduce((n, r) => n + r.trickleFailed, 0),
    kinds: Object.entries(kinds).map(([k, n]) => `${n} ${k}`).join(', '),
    exit: exits.length ? `${ms(median(exits))}${exits.length > 1 ? ` (${ms(Math.min(...exits))}–${ms(Math.max(...exits))})` : ''}` : 'none',
    status: [...new Set(results.map((r) => r.status))].join(', '),
  };
}

function render(rows, { runs, slowMs }) {
  const lines = [
    '# The app library and its peers (npm run bench -- library)',
    '',
    `The same Express app, ${runs} run${runs > 1 ? 's' : ''} a cell: ${5 * runs} slow requests (${slowMs} ms) in flight at the SIGTERM, and a request every 10 ms from 300 ms before it until the exit. Failed: reset, hung up or an error status (a refused connection is not counted: nothing was sent). SIGTERM to exit: the median (min–max).`,
    '',
    '| Library | Keep-alive | Slow requests failed | Failed around the signal | SIGTERM to exit | Exit |',
    '|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const s = summary(row);
    lines.push(`| ${row.name} | ${row.keepAlive ? 'on' : 'off'} | ${s.slow} of ${5 * runs} | ${s.trickle}${s.kinds ? ` (${s.kinds})` : ''} | ${s.exit} | ${s.status} |`);
  }
  const cpus = os.cpus();
  lines.push('', `- Machine: ${cpus[0]?.model ?? 'unknown'}, ${cpus.length} cores; Node ${process.version}; load average before: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`, '');
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exit(await main(process.argv.slice(2)));
