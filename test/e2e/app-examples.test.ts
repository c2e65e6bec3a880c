// The examples (examples/) on real PostgreSQL and Redis, each under `graceful run` with work
// in flight at the stop, and each through `graceful check`. PostgreSQL and Redis are started
// for this file on loopback (services.ts) and stopped by pid after it.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Phase } from '../../src/app/protocol.js';
import { exitOf, fixture, freePort, readJson, ROOT, start, tempDir, useHarness, type Run } from './harness.js';
import { servicesMissing, startPostgres, startRedis, type Service } from './services.js';

useHarness();

const node = process.execPath;
const example = (name: string) => join(ROOT, 'examples', name);
// No types are installed for these two: required, they are `any`.
const require = createRequire(import.meta.url);
const WebSocket = require('ws');
const pgLib = require('pg');

// Redis and PostgreSQL come together (.ci/run installs both); without them, the examples
// that need them are skipped, saying why.
const missing = servicesMissing();
if (missing) console.warn(`skipping the examples that need PostgreSQL and Redis: ${missing}`);

let pg: Service | null = null;
let redis: Service | null = null;
beforeAll(async () => {
  if (!missing) [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
}, 90_000);
afterAll(async () => {
  await Promise.all([pg?.stop(), redis?.stop()]);
});

function get(port: number, path: string, agent: http.Agent | false = false): Promise<{ status: number | null; body: string; error: string | null }> {
  return new Promise((resolve) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? null, body, error: null }));
      })
      .on('error', (e: NodeJS.ErrnoException) => resolve({ status: null, body: '', error: e.code ?? e.message }));
  });
}

// graceful run -- node examples/<name>, waiting for its "listening"/"ready" line.
async function run(name: string, env: Record<string, string>, ready = /listening on \S+ \(pid (\d+)\)/): Promise<Run> {
  // --verbose: graceful shows every phase the program reports, its start included.
  const r = start(['run', '--verbose', '--', node, example(name)], { env });
  await r.stdout.waitFor(ready, `${name} to be ready`, 20_000);
  return r;
}

// graceful check on an example: its exit status, failed checks and checklist.
async function check(args: string[], name: string, env: Record<string, string>) {
  const report = join(tempDir(), 'check.json');
  const r = start(['check', '--report-file', report, ...args, '--', node, example(name)], { env });
  const { code } = await exitOf(r, 60_000);
  const checks = readJson(report).checks as { name: string; ok: boolean | null; detail: string }[];
  return { code, failed: checks.filter((c) => c.ok === false).map((c) => `${c.name}: ${c.detail}`), checks, stderr: r.stderr.text };
}

// The program's phases, as graceful shows them when the program reports them on its status
// channel: "graceful: node examples/x.js (pid 42): drained 5 in 722ms".
const phasesOf = (stderr: string, label: string) =>
  stderr
    .split('\n')
    .map((l) => /^graceful: (.*?) \(pid \d+\): (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && m[1]!.includes(label))
    .map((m) => m[2]!);

describe.skipIf(missing !== null)('examples/express-pg-redis.js', () => {
  const env = async () => ({ DATABASE_URL: pg!.url, REDIS_URL: redis!.url, PORT: String(await freePort()) });

  it('finishes the queries in flight, then closes PostgreSQL, then Redis; exits 0', async () => {
    const e = await env();
    const port = Number(e.PORT);
    const app = await run('express-pg-redis.js', e);
    const client = createClient({ url: redis!.url });
    await client.connect();
    await client.del('slow');
    const agent = new http.Agent({ keepAlive: true });
    const slow = Array.from({ length: 5 }, () => get(port, '/slow?ms=800', agent));
    await until(async () => (await pgBusy()) >= 5, 'five queries running in PostgreSQL');
    app.signal('SIGTERM');
    await app.stderr.waitFor(/express-pg-redis\.js \(pid \d+\): SIGTERM received/, 'the app to begin its stop');
    const during = await get(port, '/readyz');
    const replies = await Promise.all(slow);
    const exit = await exitOf(app);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(exit.code).toBe(0);
    // Every request wrote to Redis after its query: Redis was still open when they finished.
    expect(await client.get('slow')).toBe('5');
    await client.close();
    // Not ready: 503, or refused once the listener is closed (reset if the connection raced its close).
    expect(String(during.status ?? during.error)).toMatch(/^(503|ECONNREFUSED|ECONNRESET)$/);
    const phases = phasesOf(app.stderr.text, 'express-pg-redis.js');
    // "drained" counts every request answered during the drain: the five, and the /readyz
    // request when its connection reached the listener before it closed (answered 503 from
    // the accept queue) rather than during the stop delay or after the close.
    const drained = phases.find((l) => l.startsWith('drained'));
    expect(drained).toMatch(during.status === 503 ? /^drained [56] in/ : /^drained 5 in/);
    expect(phases.filter((l) => /^(not accepting|drained|closed|shutdown done)/.test(l)).map((l) => l.replace(/[\d.]+m?s\b/g, 'T').replace(/^drained \d+/, 'drained N'))).toEqual([
      'not accepting new work (http) at +T; 5 in flight',
      'drained N in T',
      'closed postgres in T',
      'closed redis in T',
      'shutdown done in T: everything closed; exit status 0',
    ]);
    expect(app.stderr.text).toMatch(/graceful: \S+ \S+express-pg-redis\.js \(pid \d+\) stopped cleanly: SIGTERM received, SIGTERM sent at \+0ms, exited with code 0 at \+[\d.]+m?s; its own shutdown: drained [56] in [\d.]+m?s, closed postgres in [\d.]+m?s, closed redis in [\d.]+m?s; exit status 0 \[clean\]/);
    agent.destroy();
  });

  it('passes graceful check with queries in flight and new requests probed', async () => {
    const e = await env();
    const base = `http://127.0.0.1:${e.PORT}`;
    const r = await check(['--ready', `${base}/readyz`, '--inflight', `${base}/slow?ms=1000`, '--probe', `${base}/visits`], 'express-pg-redis.js', e);
    expect(r.failed).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.checks.find((c) => c.name === 'inflight')?.detail).toBe('10/10 in-flight requests completed with 2xx');
    // Said by the program itself on graceful's status channel: the drain (the 10, and a probe that came on a
    // kept-alive connection meanwhile, if one did), then postgres, then redis.
    const order = r.checks.find((c) => c.name === 'cleanup-order')!;
    expect(order.ok).toBe(true);
    expect(order.detail).toMatch(/^from its own phases \(graceful-supervisor\/app\): drained \d+ in [\d.]+m?s, then closed postgres in [\d.]+m?s, then closed redis in [\d.]+m?s: the reverse of opening \(redis, postgres\)$/);
    // And seen by graceful check's trace: every connection closed by the program.
    expect(r.checks.find((c) => c.name === 'connections-closed')).toMatchObject({ ok: true });
  });

  // How many of the example's queries are running in PostgreSQL now (pg_sleep).
  async function pgBusy(): Promise<number> {
    const pool = new pgLib.Pool({ connectionString: pg!.url, max: 1 });
    try {
      const { rows } = await pool.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND state = 'active'");
      return rows[0].n as number;
    } finally {
      await pool.end();
    }
  }
});

describe.skipIf(missing !== null)("the README's ten lines", () => {
  it('run as written (on a free port), open redis then postgres, and close them in reverse', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## The library: graceful-supervisor/app'));
    const code = /```js\n([^]*?)```/.exec(section)![1]!;
    expect(code.trim().split('\n')).toHaveLength(10);
    const port = await freePort();
    const pgUrl = new URL(pg!.url);
    const app = start(['run', '--verbose', '--', node, '--input-type=module', '-e', code.replace('listen(3000', `listen(${port}`)], {
      env: { REDIS_URL: redis!.url, PGHOST: pgUrl.hostname, PGPORT: pgUrl.port, PGUSER: pgUrl.username, PGDATABASE: pgUrl.pathname.slice(1) },
    });
    await app.stderr.waitFor(/\(pid \d+\): ready \S+ after start$/m, 'the snippet to be ready', 20_000);
    expect((await get(port, '/readyz')).status).toBe(200);
    app.signal('SIGTERM');
    expect((await exitOf(app)).code).toBe(0);
    expect(phasesOf(app.stderr.text, 'node').filter((l) => /^(opened|closed)/.test(l)).map((l) => l.replace(/ in \S+$/, ''))).toEqual([
      'opened redis',
      'opened postgres',
      'closed postgres',
      'closed redis',
    ]);
  });
});

describe('examples/fastify.js', () => {
  it('drains kept-alive requests, logs each of them before the log closes, and exits at once', async () => {
    const port = await freePort();
    const accessLog = join(tempDir(), 'access.log');
    const app = await run('fastify.js', { PORT: String(port), ACCESS_LOG: accessLog });
    const agent = new http.Agent({ keepAlive: true });
    expect((await get(port, '/readyz', agent)).status).toBe(200);
    const slow = Array.from({ length: 3 }, () => get(port, '/slow?ms=600', agent));
    await app.stdout.waitFor(/("url":"\/slow\?ms=600"[^]*){3}/, "three requests in Fastify's log");
    const stopAt = app.signal('SIGTERM');
    const replies = await Promise.all(slow);
    const exit = await exitOf(app);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(exit.code).toBe(0);
    // Fastify's keepAliveTimeout is 72 s; the exit follows the responses.
    expect(exit.at - stopAt).toBeLessThan(3_000);
    const logged = readFileSync(accessLog, 'utf8').trim().split('\n').map((l) => l.split(' ').slice(1).join(' '));
    expect(logged).toEqual(['GET /readyz 200', 'GET /slow?ms=600 200', 'GET /slow?ms=600 200', 'GET /slow?ms=600 200']);
    // The phases, through Fastify's logger: JSON lines with the phase as data.
    const phases = app.stdout.text.split('\n').filter((l) => l.includes('"shutdown"')).map((l) => JSON.parse(l).shutdown);
    expect(phases.map((p: { phase: string }) => p.phase)).toEqual(['opened', 'ready', 'stopping', 'not-accepting', 'drained', 'closing', 'closed', 'done']);
    expect(phases[4]).toMatchObject({ completed: 3, cut: 0 });
    expect(phases[6]).toMatchObject({ name: 'access log', outcome: 'closed' });
    agent.destroy();
  });

  it('passes graceful check', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const r = await check(['--ready', `${base}/readyz`, '--inflight', `${base}/slow?ms=800`, '--probe', `${base}/readyz`], 'fastify.js', { PORT: String(port) });
    expect(r.failed).toEqual([]);
    expect(r.code).toBe(0);
  });
});

describe.skipIf(missing !== null)('examples/worker.js', () => {
  it('stops taking jobs, finishes those it has, loses none, then closes Redis', async () => {
    const client = createClient({ url: redis!.url });
    await client.connect();
    await client.del(['jobs', 'jobs:processing', 'jobs:done']);
    await client.rPush('jobs', Array.from({ length: 8 }, (_, i) => JSON.stringify({ id: i + 1, ms: 500 })));
    const worker = await run('worker.js', { REDIS_URL: redis!.url }, /worker ready \(pid \d+\)/);
    await worker.stdout.waitFor(/job 2 started/, 'two jobs running');
    worker.signal('SIGTERM');
    const exit = await exitOf(worker);
    expect(exit.code).toBe(0);
    const started = [...worker.stdout.text.matchAll(/job (\d+) started/g)].map((m) => m[1]!).sort();
    const done = [...worker.stdout.text.matchAll(/job (\d+) done/g)].map((m) => m[1]!).sort();
    expect(done).toEqual(started);
    expect(started.length).toBeGreaterThanOrEqual(2);
    expect(Object.keys(await client.hGetAll('jobs:done')).sort()).toEqual(started);
    expect(await client.lLen('jobs:processing')).toBe(0);
    expect(await client.lLen('jobs')).toBe(8 - started.length);
    await client.close();
    const phases = phasesOf(worker.stderr.text, 'worker.js');
    expect(phases.find((l) => l.startsWith('drained'))).toBe(`drained ${started.length} in ${/drained \d+ in (\S+)/.exec(worker.stderr.text)?.[1]}`);
    expect(phases.slice(-3).map((l) => l.replace(/[\d.]+m?s\b/g, 'T'))).toEqual(['closing redis (timeout T)', 'closed redis in T', 'shutdown done in T: everything closed; exit status 0']);
  });

  // graceful check's cleanup-order fails this worker today: a program that never listened
  // is judged as if its listener were closed by the kernel at exit, so closing Redis before
  // exiting counts as "before the work was done" (src/core/judge.ts, the `early` list). Every
  // other check passes; the whole check is expected to pass once that is fixed.
  it('passes graceful check, every check of it', async () => {
    const r = await check(['--ready', 'log:worker ready'], 'worker.js', { REDIS_URL: redis!.url });
    expect(r.failed).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.checks.find((c) => c.name === 'connections-closed')).toMatchObject({ ok: true });
    // A worker never listened: its order has no listener to close first.
    expect(r.checks.find((c) => c.name === 'cleanup-order')).toMatchObject({ ok: true });
  });
});

describe('examples/websocket.js', () => {
  it('sends every client a close frame (1001), waits for them, and exits 0', async () => {
    const port = await freePort();
    const app = await run('websocket.js', { PORT: String(port) });
    const clients = await Promise.all(
      Array.from({ length: 3 }, () => new Promise<{ closed: Promise<[number, string]> }>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}`);
        const closed = new Promise<[number, string]>((done) => ws.on('close', (code: number, reason: Buffer) => done([code, String(reason)])));
        ws.on('message', (m: Buffer) => String(m) === 'welcome' && resolve({ closed }));
        ws.on('error', reject);
      })),
    );
    app.signal('SIGTERM');
    expect(await Promise.all(clients.map((c) => c.closed))).toEqual(Array(3).fill([1001, 'server shutting down']));
    expect((await exitOf(app)).code).toBe(0);
    const phases = phasesOf(app.stderr.text, 'websocket.js');
    expect(phases.find((l) => l.startsWith('not accepting'))).toMatch(/^not accepting new work \(websocket, http\) at \+\S+; 3 in flight$/);
    expect(phases.find((l) => l.startsWith('drained'))).toMatch(/^drained 3 in \S+$/);
  });

  it('passes graceful check', async () => {
    const port = await freePort();
    const r = await check(['--ready', `tcp:${port}`], 'websocket.js', { PORT: String(port) });
    expect(r.failed).toEqual([]);
    expect(r.code).toBe(0);
  });
});

describe.skipIf(missing !== null)('a budget every resource can count on (fixtures/app-pg-redis.js)', () => {
  it('PostgreSQL hangs at its close: it gets its share, and both Redis connections still get their QUIT', async () => {
    const admin = createClient({ url: redis!.url });
    await admin.connect();
    await admin.sendCommand(['CONFIG', 'RESETSTAT']);
    const report = join(tempDir(), 'r.json');
    // As in issue 25: graceful run --timeout 6s, a request in flight that holds the drain 2 s.
    const app = start(['run', '--timeout', '6s', '--report-file', report, '--', node, fixture('app-pg-redis.js')], {
      env: { DATABASE_URL: pg!.url, REDIS_URL: redis!.url, HANG: 'pg' },
    });
    const port = Number((await app.stdout.waitFor(/ready \d+ port (\d+)/, 'the app to be ready', 20_000))[1]);
    const slow = get(port, '/slow?ms=2000');
    await app.stdout.waitFor(/got \/slow/, 'the slow request to arrive');
    app.signal('SIGTERM');
    expect((await slow).status).toBe(200);
    expect((await exitOf(app)).code).toBe(1);
    const phases = readJson(report).phases as Phase[];
    const closes = phases.flatMap((p) => (p.phase === 'closing' ? [[p.name, p.timeoutMs]] : p.phase === 'closed' ? [[p.name, p.outcome]] : []));
    expect(closes.map(([name, what]) => `${name} ${typeof what === 'number' ? 'closing' : what}`)).toEqual([
      'postgres closing', 'postgres timeout', 'bull-redis closing', 'bull-redis closed', 'redis closing', 'redis closed',
    ]);
    // Each had at least a third of what was left when the closes began: none was given 0 ms.
    const stopping = phases.find((p) => p.phase === 'stopping') as Extract<Phase, { phase: 'stopping' }>;
    const [pgMs, bullMs] = closes.filter(([, w]) => typeof w === 'number').map(([, w]) => w as number);
    expect(pgMs).toBeLessThan(stopping.budgetMs / 2);
    expect(bullMs).toBeGreaterThan(500);
    // Redis itself answered two QUITs.
    const stats = String(await admin.sendCommand(['INFO', 'commandstats']));
    expect(/cmdstat_quit:calls=(\d+)/.exec(stats)?.[1]).toBe('2');
    await admin.close();
    expect(app.stderr.text).toMatch(/its own shutdown: drained 1 in [\d.]+m?s, postgres did not close within [\d.]+m?s, closed bull-redis in \d+ms, closed redis in \d+ms, not everything closed; exit status 1 \[failed\]/);
  });
});

describe.skipIf(missing !== null)('a start that fails (examples/express-pg-redis.js, PostgreSQL unreachable)', () => {
  it('closes Redis, which it had opened, says the start failed, and exits 1 without a stack trace', async () => {
    const closedPort = await freePort();
    const admin = createClient({ url: redis!.url });
    await admin.connect();
    await admin.sendCommand(['CONFIG', 'RESETSTAT']);
    const app = start(['run', '--verbose', '--', node, example('express-pg-redis.js')], {
      env: { DATABASE_URL: `postgres://postgres@127.0.0.1:${closedPort}/postgres`, REDIS_URL: redis!.url, PORT: String(await freePort()) },
    });
    expect((await exitOf(app, 20_000)).code).toBe(1);
    const phases = phasesOf(app.stderr.text, 'express-pg-redis.js').filter((l) => !l.includes('reports its phases')).map((l) => l.replace(/[\d.]+m?s\b/g, 'T'));
    expect(phases).toEqual([
      'opened redis in T',
      `the start failed (postgres failed to open: connect ECONNREFUSED 127.0.0.1:${closedPort}): stopping within T (GRACEFUL_STOP_TIMEOUT_MS): drain until +T, then close resources`,
      'not accepting new work (no server registered) at +T; 0 in flight',
      'drained 0 in T',
      'closing redis (timeout T)',
      'closed redis in T',
      'shutdown done in T: everything closed; exit status 1',
    ]);
    expect(app.stderr.text).not.toMatch(/^\s+at /m);
    // Redis saw its client leave by the client's own close, not by a crash: it is gone, and no connection of it is left.
    const clients = String(await admin.sendCommand(['CLIENT', 'LIST']));
    expect(clients.trim().split('\n')).toHaveLength(1);
    await admin.close();
  });
});

// A WebSocket client that completes the handshake, then never reads nor answers anything:
// a phone that went out of coverage. Resolves once upgraded; `closed` when the server ends it.
async function silentWebSocket(port: number): Promise<{ closed: Promise<number> }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise((r) => socket.once('connect', r));
  socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await new Promise<void>((resolve) => {
    let seen = '';
    const onData = (d: Buffer) => {
      seen += d.toString('latin1');
      if (seen.includes('\r\n\r\n')) {
        // From now on it answers nothing (its data is read and dropped): the close frame
        // is never answered. A phone that vanished reads nothing either; to the server both
        // are the same silence.
        resolve();
      }
    };
    socket.on('data', onData);
  });
  return { closed: new Promise((r) => socket.once('close', () => r(performance.now()))) };
}

describe('examples/websocket.js with a client that never answers the close frame', () => {
  it('ends it after 5 s, counts it as ended, and the stop is clean (exit 0)', async () => {
    const port = await freePort();
    const report = join(tempDir(), 'r.json');
    const app = start(['run', '--report-file', report, '--', node, example('websocket.js')], { env: { PORT: String(port) } });
    await app.stdout.waitFor(/listening on/, 'the server to listen', 20_000);
    const silent = await silentWebSocket(port);
    const polite = new WebSocket(`ws://127.0.0.1:${port}`);
    await new Promise((r) => polite.once('message', r));
    const politeClosed = new Promise<number>((r) => polite.once('close', (code: number) => r(code)));
    const stopAt = app.signal('SIGTERM');
    expect(await politeClosed).toBe(1001);
    const endedAt = await silent.closed;
    const exit = await exitOf(app);
    expect(exit.code).toBe(0);
    // The documented wait: 5 s after the close frame (not the 29 s drain deadline).
    expect(endedAt - stopAt).toBeGreaterThan(4_900);
    expect(endedAt - stopAt).toBeLessThan(7_000);
    const drained = (readJson(report).phases as Phase[]).find((p) => p.phase === 'drained');
    expect(drained).toMatchObject({ completed: 1, cut: 0, ended: 1 });
    expect(app.stderr.text).toMatch(/stopped cleanly: .*its own shutdown: drained 1 in [45](\.\d+)?s; ended 1 that did not answer the close frame, closed ticker in \d+ms; exit status 0 \[clean\]/);
  });
});

// Polls `ok` every 20 ms until it holds, under a ceiling.
async function until(ok: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await ok())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
