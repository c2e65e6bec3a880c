// examples/stack.yml as a user runs it: real redis-server, initdb, postgres and pg_isready,
// the Node API and worker of examples/, under `graceful up` as PID 1 of its own container-like
// namespaces (a private network, so the file's fixed ports 6379, 5432 and 3000 are free; a
// PID namespace; run as nobody, since postgres refuses root). Requests in flight at the stop
// use both PostgreSQL and Redis: they must all succeed, since the api drains before either
// stops. The clients run inside the namespace's network (nsenter).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, exitOf, leftovers, onlyChild, readJson, ROOT, start, tempDir, useHarness, type Run } from './harness.js';
import { servicesMissing } from './services.js';

useHarness();

const node = process.execPath;
const missing = servicesMissing();
const probe = spawnSync('unshare', ['--net', '--pid', '--fork', '--mount-proc', 'sh', '-c', 'ip link set lo up && mount --bind "$0" "$0"', ROOT], { encoding: 'utf8' });
const why = missing ?? (probe.status !== 0 ? `unshare --net --pid, ip or mount --bind failed here (${(probe.stderr || probe.error?.message || '').trim()}): it needs root, iproute2 and mount` : null);
if (why) console.warn(`skipping the examples/stack.yml test: ${why}`);

const pgBin = (() => {
  try {
    const v = readdirSync('/usr/lib/postgresql').sort().reverse()[0];
    return v ? `/usr/lib/postgresql/${v}/bin` : null;
  } catch {
    return null;
  }
})();

// Runs `script` with node inside the network namespace of `pid`; resolves with its output.
function inside(pid: number, script: string): { lines: string[]; wait: (re: RegExp) => Promise<void>; done: Promise<string> } {
  const proc = spawn('nsenter', [`--net=/proc/${pid}/ns/net`, '--', node, '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters: (() => void)[] = [];
  proc.stdout.setEncoding('utf8').on('data', (c: string) => {
    out += c;
    for (const w of waiters.splice(0)) w();
  });
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  return {
    lines: [],
    async wait(re) {
      const deadline = Date.now() + 20_000;
      while (!re.test(out)) {
        if (Date.now() > deadline) throw new Error(`client: timed out waiting for ${re}; saw:\n${out}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
    },
    done: new Promise((resolve) => proc.on('close', () => resolve(out))),
  };
}

describe.skipIf(why !== null)('examples/stack.yml: Node API + worker + Redis + PostgreSQL', () => {
  it('starts in order, serves, and stops in reverse with every request in flight answered', async () => {
    const dir = tempDir();
    chmodSync(dir, 0o777);
    copyFileSync(join(ROOT, 'examples/stack.yml'), join(dir, 'stack.yml'));
    // The stack runs as nobody, who may not be able to enter the checkout's directory: a
    // clone in root's home or in a `mktemp -d` (mode 0700) would fail with "Cannot find
    // module .../bin/graceful.js". So the checkout is bind-mounted at dir/checkout, a path
    // nobody can enter, in the namespace's own mount namespace (unshare --mount-proc makes
    // one; the mount is private to it and goes with it): the same files, bin/graceful.js,
    // dist/, examples/ and node_modules/, whatever the path of the checkout.
    const checkout = join(dir, 'checkout');
    mkdirSync(checkout);
    for (const app of ['express-pg-redis.js', 'worker.js']) symlinkSync(join('checkout/examples', app), join(dir, app));
    const report = join(dir, 'stack.json');
    const inner = `mount --bind "$0" checkout && ip link set lo up && exec setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"`;
    const run: Run = start([], {
      via: ['unshare', '--net', '--pid', '--fork', '--mount-proc', 'sh', '-c', inner, ROOT, node, join(checkout, relative(ROOT, CLI)), 'up', '-f', 'stack.yml', '--platform-timeout', '0', '--report-file', report],
      cwd: dir,
      env: { PATH: `${pgBin}:${process.env.PATH}` },
    });
    await run.stderr.waitFor(/api: node express-pg-redis\.js \(pid \d+\) ready in/, 'the api to be ready', 60_000);
    await run.stdout.waitFor(/worker +\| worker ready/, 'the worker to be ready', 20_000);
    const graceful = onlyChild(run.pid);

    // Six requests that each hold a database connection 1.5 s, then use Redis; the stop
    // begins once PostgreSQL shows all six sleeping.
    const client = inside(
      graceful,
      `const pg = require('pg');
       const reqs = Array.from({ length: 6 }, () => fetch('http://127.0.0.1:3000/slow?ms=1500').then((r) => r.status, (e) => String(e.cause?.code ?? e.message)));
       const db = new pg.Client('postgres://postgres@127.0.0.1:5432/postgres');
       (async () => {
         await db.connect();
         for (;;) {
           const { rows } = await db.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND state = 'active'");
           if (rows[0].n >= 6) break;
           await new Promise((r) => setTimeout(r, 20));
         }
         await db.end();
         console.log('inflight 6');
         console.log('statuses', JSON.stringify(await Promise.all(reqs)));
       })();`,
    );
    await client.wait(/inflight 6/);
    process.kill(graceful, 'SIGTERM');
    const out = await client.done;
    expect(out).toContain('statuses [200,200,200,200,200,200]');
    const exit = await exitOf(run, 60_000);
    expect(exit.code).toBe(0);

    const r = readJson(report);
    expect(r.order.started.map((e: { name: string }) => e.name).slice(0, 2).sort()).toEqual(['pgdata', 'redis']);
    const at = (list: { name: string; afterMs: number }[], name: string) => list.find((e) => e.name === name)!.afterMs;
    expect(at(r.order.started, 'postgres')).toBeGreaterThanOrEqual(at(r.order.ended, 'pgdata'));
    expect(at(r.order.started, 'api')).toBeGreaterThanOrEqual(Math.max(at(r.order.ready, 'postgres'), at(r.order.ready, 'redis')));
    // The stop: api and worker together, then postgres and redis, each after what needs it.
    expect(r.order.stopRequested.slice(0, 2).map((e: { name: string }) => e.name).sort()).toEqual(['api', 'worker']);
    expect(at(r.order.stopRequested, 'postgres')).toBeGreaterThanOrEqual(at(r.order.ended, 'api'));
    expect(at(r.order.stopRequested, 'redis')).toBeGreaterThanOrEqual(Math.max(at(r.order.ended, 'api'), at(r.order.ended, 'worker')));
    for (const name of ['api', 'worker', 'postgres', 'redis']) expect(r.processes[name].report.verdict, name).toBe('clean');
    expect(r.processes.pgdata.report.verdict).toBe('exited');
    expect(r.processes.api.report.exit.shutdownMs).toBeGreaterThan(800);
    expect(r.processes.postgres.report.stop.signal).toBe('SIGINT');
    expect(leftovers()).toEqual([]);
  }, 120_000);
});
