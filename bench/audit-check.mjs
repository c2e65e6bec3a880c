#!/usr/bin/env node
// node bench/audit-check.mjs [--runs N] [--main PATH]: what the audit of every process costs a
// graceful check run, and that graceful run does not pay for it (docs/check.md#what-it-costs
// quotes a run). Needs a build (npm run build) and Debian's /usr/bin/python3.
//
// 1. graceful check --ready 'log:^ready' on a Python and a Node HTTP server that stop on
//    SIGTERM: this build, against the same build with the audit's files removed (a copy in a
//    temporary directory: the check then says `not run` for the audit's three checks, or
//    judges a Node program from its preload). Figures: the whole run, the program's ready
//    (spawn to its line, as graceful check prints it), its exit after SIGTERM.
// 2. With --main PATH (the bin/graceful.js of another build, e.g. a worktree of main):
//    `graceful run -- /bin/true` start-up and exit, and graceful's RSS while it supervises
//    an idle child, the two builds interleaved trial by trial.
// Medians; runs alternate in a rotating order, so that a slow moment of a shared machine
// hits both alike.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : null);
const RUNS = Number(option('--runs') ?? 16);
const MAIN = option('--main');
// This machine sets NODE_EXTRA_CA_CERTS: ~50 ms more at every Node start, hiding what is measured.
const env = { ...process.env, NO_COLOR: '1' };
delete env.NODE_EXTRA_CA_CERTS;
delete env.NODE_OPTIONS;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const quartiles = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return [s[Math.floor(s.length / 4)], s[Math.floor((3 * s.length) / 4)]];
};

const dir = mkdtempSync(join(tmpdir(), 'graceful-audit-check-bench-'));
try {
  // The same build without the audit.
  const bare = join(dir, 'no-audit');
  for (const d of ['bin', 'dist']) cpSync(join(ROOT, d), join(bare, d), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(bare, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(bare, 'node_modules'));
  for (const f of ['audit-shim.cjs', 'audit-worker.cjs']) rmSync(join(bare, 'dist', f));
  const builds = { audited: join(ROOT, 'bin/graceful.js'), unaudited: join(bare, 'bin/graceful.js') };

  const server = join(dir, 'server.py');
  writeFileSync(
    server,
    `import signal, sys, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok\\n")
s = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: stop.set())
threading.Thread(target=s.serve_forever, daemon=True).start()
print("ready", flush=True)
while not stop.is_set(): stop.wait(0.1)
s.shutdown(); s.server_close()
`,
  );
  const programs = {
    'a Python HTTP server': (port) => ['/usr/bin/python3', server, String(port)],
    'a Node HTTP server': (port) => [process.execPath, '-e', `const s=require('http').createServer((q,r)=>r.end('ok'));s.listen(${port},'127.0.0.1',()=>console.log('ready'));process.on('SIGTERM',()=>s.close(()=>process.exit(0)))`],
  };
  let port = 23_000 + Math.floor(Math.random() * 5000);
  const check = (cli, program) =>
    new Promise((done, fail) => {
      const t = process.hrtime.bigint();
      const p = spawn(process.execPath, [cli, 'check', '--ready', 'log:^ready', '--', ...program(port++)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr.on('data', (d) => (err += d));
      p.on('exit', (code) => {
        if (code !== 0) return fail(new Error(`graceful check failed:\n${err}`));
        done({ total: Number(process.hrtime.bigint() - t) / 1e6, ready: Number(/ready in ([\d.]+)ms/.exec(err)?.[1]), exited: Number(/exited ([\d.]+)ms after SIGTERM/.exec(err)?.[1]), audited: !/the audit of every process did not run/.test(err) });
      });
    });

  console.log(`| graceful check, ${RUNS} runs each (medians) | whole run | ready (spawn to its line) | exit after SIGTERM | judged by the audit |`);
  console.log('|---|---:|---:|---:|---:|');
  for (const [name, program] of Object.entries(programs)) {
    const seen = { audited: [], unaudited: [] };
    for (let i = 0; i < RUNS; i++) for (const k of i % 2 ? ['audited', 'unaudited'] : ['unaudited', 'audited']) seen[k].push(await check(builds[k], program));
    for (const [k, rs] of Object.entries(seen)) {
      console.log(`| ${name}, ${k === 'audited' ? 'with the audit' : 'without it'} | ${median(rs.map((r) => r.total)).toFixed(0)} ms | ${median(rs.map((r) => r.ready)).toFixed(0)} ms | ${median(rs.map((r) => r.exited)).toFixed(0)} ms | ${rs.filter((r) => r.audited).length}/${rs.length} |`);
    }
  }

  if (MAIN) {
    const runBuilds = { 'this build': builds.audited, [MAIN]: resolve(MAIN) };
    const timed = (cli) =>
      new Promise((done) => {
        const t = process.hrtime.bigint();
        spawn(process.execPath, [cli, 'run', '--', '/bin/true'], { env, stdio: 'ignore' }).on('exit', () => done(Number(process.hrtime.bigint() - t) / 1e6));
      });
    const rss = (cli) =>
      new Promise((done) => {
        const p = spawn(process.execPath, [cli, 'run', '--', 'sleep', '1.2'], { env, stdio: 'ignore' });
        setTimeout(() => {
          const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'))[1]);
          p.on('exit', () => done(kb / 1024));
        }, 800);
      });
    const names = Object.keys(runBuilds);
    const t = Object.fromEntries(names.map((n) => [n, []]));
    const m = Object.fromEntries(names.map((n) => [n, []]));
    for (let i = 0; i < 5; i++) for (const n of names) await timed(runBuilds[n]);
    for (let i = 0; i < 5 * RUNS; i++) for (const n of i % 2 ? names : [...names].reverse()) t[n].push(await timed(runBuilds[n]));
    for (let i = 0; i < 10; i++) for (const n of i % 2 ? names : [...names].reverse()) m[n].push(await rss(runBuilds[n]));
    console.log(`\n| graceful run -- /bin/true, ${5 * RUNS} runs each | start-up and exit (median) | quartiles | RSS supervising an idle child (10 runs) |`);
    console.log('|---|---:|---:|---:|');
    for (const n of names) {
      const [q1, q3] = quartiles(t[n]);
      console.log(`| ${n} | ${median(t[n]).toFixed(1)} ms | ${q1.toFixed(1)} to ${q3.toFixed(1)} ms | ${median(m[n]).toFixed(1)} MB |`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
