// node bench/library/accept-queue.mjs [clients] [pauseMs] [runs] [root]
//
// Requests at the instant of the signal, without keep-alive (docs/app.md, "What it cannot
// do"): `clients` loops each send a request on a new connection, pause `pauseMs`, and
// again, against fixtures/app-http.js (the library on a Node http server); the SIGTERM
// comes 300 ms in. Each run prints how the requests ended: 200, ECONNREFUSED (the listener
// was closed: nothing was sent) or ECONNRESET (the connection was in the kernel's accept
// queue when the listener closed, or was ended with its request unanswered). `root` is a
// checkout to measure (another build of the library, for a before/after); default: this one.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const [clients = 10, pauseMs = 2, runs = 5] = process.argv.slice(2, 5).map(Number);
const root = resolve(process.argv[5] ?? join(dirname(fileURLToPath(import.meta.url)), '../..'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

for (let run = 0; run < runs; run++) {
  const app = spawn(process.execPath, [join(root, 'fixtures/app-http.js')], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise((r) => app.once('exit', r));
  const port = await new Promise((r) => app.stdout.on('data', (d) => {
    const m = /port (\d+)/.exec(String(d));
    if (m) r(Number(m[1]));
  }));
  const counts = {};
  const one = () => new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.statusCode)));
      res.on('error', (e) => resolve(e.code));
    });
    req.on('error', (e) => resolve(e.code ?? e.message));
  });
  let stop = false;
  const loop = async () => {
    while (!stop) {
      const r = await one();
      counts[r] = (counts[r] ?? 0) + 1;
      if (r === 'ECONNREFUSED') return; // the listener is closed
      if (pauseMs) await sleep(pauseMs);
    }
  };
  const loops = Array.from({ length: clients }, loop);
  await sleep(300);
  app.kill('SIGTERM');
  const ceiling = setTimeout(() => (stop = true), 5_000);
  await Promise.all(loops);
  clearTimeout(ceiling);
  await exited;
  console.log(`run ${run + 1}: ${JSON.stringify(counts)}`);
}
