// The library's other sources, from CommonJS (fixtures/app-servers.cjs): an http2 server's
// streams finish and its sessions get GOAWAY; a net server stops listening and waits for
// its connections; a job worker stops taking jobs and finishes those it has.
import { spawnSync } from 'node:child_process';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { exitOf, fixture, start, tempDir, useHarness, type Run } from './harness.js';

useHarness();

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
if (!hasOpenssl) console.warn('skipping the http2 allowHTTP1 test: openssl (to make its certificate) is not installed');

async function startApp(kind: string, ...args: string[]): Promise<{ run: Run; port: number }> {
  const run = start([], { via: [process.execPath, fixture('app-servers.cjs'), kind, ...args] });
  const m = await run.stdout.waitFor(/ready \d+ port (\d+)/, 'the app to be ready');
  return { run, port: Number(m[1]) };
}

describe('the library from CommonJS, on other sources of work', () => {
  it('http2: streams in flight finish, every session gets GOAWAY, idle ones too, and it exits 0', async () => {
    const { run, port } = await startApp('http2');
    const idle = http2.connect(`http://127.0.0.1:${port}`);
    const busy = http2.connect(`http://127.0.0.1:${port}`);
    const goaways = [idle, busy].map((s) => new Promise<string>((resolve) => s.once('goaway', () => resolve('goaway'))));
    await new Promise((r) => idle.once('connect', r));
    const request = (path: string) =>
      new Promise<{ status: number | null; body: string; error: string | null }>((resolve) => {
        const stream = busy.request({ ':path': path });
        let [status, body]: [number | null, string] = [null, ''];
        stream.on('response', (h) => (status = Number(h[':status'])));
        stream.setEncoding('utf8');
        stream.on('data', (c: string) => (body += c));
        stream.on('end', () => resolve({ status, body, error: null }));
        stream.on('error', (e) => resolve({ status, body, error: e.message }));
      });
    const replies = [request('/slow?ms=500'), request('/slow?ms=500')];
    await run.stdout.waitFor(/(got \/slow over HTTP\/2.0\n[^]*){2}/, 'both streams to arrive');
    run.signal('SIGTERM');
    expect(await Promise.all(replies)).toEqual([
      { status: 200, body: 'slept 500ms\n', error: null },
      { status: 200, body: 'slept 500ms\n', error: null },
    ]);
    expect(await Promise.all(goaways)).toEqual(['goaway', 'goaway']);
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stderr.text).toMatch(/^app-servers\.cjs: not accepting new work \(h2\) at \+[\d.]+m?s; 2 in flight$/m);
    expect(run.stderr.text).toMatch(/^app-servers\.cjs: drained 2 in [\d.]+m?s$/m);
    idle.destroy();
    busy.destroy();
  });

  it.skipIf(!hasOpenssl)('http2 over TLS with allowHTTP1: HTTP/1.1 kept-alive connections, idle or busy, and HTTP/2 sessions do not hold the exit', async () => {
    const dir = tempDir();
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const run = start([], { via: [process.execPath, fixture('app-servers.cjs'), 'h2tls'], env: { TLS_KEY: key, TLS_CERT: cert } });
    const port = Number((await run.stdout.waitFor(/ready \d+ port (\d+)/, 'the app to be ready'))[1]);
    const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
    const get = (path: string) =>
      new Promise<{ status: number | null; connection: string | null; error: string | null }>((resolve) => {
        https
          .get({ host: '127.0.0.1', port, path, agent }, (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? null, connection: res.headers.connection ?? null, error: null }));
          })
          .on('error', (e: NodeJS.ErrnoException) => resolve({ status: null, connection: null, error: e.code ?? e.message }));
      });
    expect(await Promise.all([get('/'), get('/')])).toEqual(Array(2).fill({ status: 200, connection: 'keep-alive', error: null }));
    // And an idle HTTP/2 session on the same server.
    const h2 = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
    const goaway = new Promise((resolve) => h2.once('goaway', () => resolve('goaway')));
    await new Promise((r) => h2.once('connect', r));
    // One response not started at the stop (told Connection: close), one whose headers went out before it (kept alive).
    const slow = [get('/slow?ms=500'), get('/slow?ms=500&flush')];
    await run.stdout.waitFor(/(got \/slow over HTTP\/1.1\n[^]*){2}/, 'the HTTP/1.1 requests to arrive');
    const stopAt = run.signal('SIGTERM');
    expect(await Promise.all(slow)).toEqual([
      { status: 200, connection: 'close', error: null },
      { status: 200, connection: 'keep-alive', error: null },
    ]);
    const exit = await exitOf(run);
    expect(exit.code).toBe(0);
    // Held by a kept-alive connection, it would have waited for the drain deadline, 29 s on.
    expect(exit.at - stopAt).toBeLessThan(3_000);
    expect(run.stderr.text).toMatch(/^app-servers\.cjs: drained 2 in [\d.]+m?s$/m);
    expect(await goaway).toBe('goaway');
    agent.destroy();
    h2.destroy();
  });

  it('net: stops listening, waits for an open connection to end, then exits 0', async () => {
    const { run, port } = await startApp('net');
    const client = net.connect(port, '127.0.0.1');
    await new Promise((r) => client.once('connect', r));
    run.signal('SIGTERM');
    await run.stderr.waitFor(/not accepting new work \(echo\) at \+[\d.]+m?s; 1 in flight/, 'the listener to close');
    const refused = await new Promise<string>((resolve) => {
      const late = net.connect(port, '127.0.0.1');
      late.once('connect', () => resolve('connected'));
      late.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    expect(refused).toBe('ECONNREFUSED');
    // The connection still works until its client ends it.
    client.write('still here');
    const echo = await new Promise<string>((resolve) => client.once('data', (d) => resolve(String(d))));
    expect(echo).toBe('still here');
    const endedAt = performance.now();
    client.end();
    const exit = await exitOf(run);
    expect(exit.code).toBe(0);
    expect(exit.at - endedAt).toBeLessThan(2_000);
    expect(run.stderr.text).toMatch(/^app-servers\.cjs: drained 1 in [\d.]+m?s$/m);
  });

  it('net: a connection still open at the drain deadline is cut, and the exit status says so', async () => {
    const { run, port } = await startApp('net', '--timeout', '1000');
    const client = net.connect(port, '127.0.0.1');
    await new Promise((r) => client.once('connect', r));
    const closed = new Promise((r) => client.once('close', r));
    client.on('error', () => undefined);
    run.signal('SIGTERM');
    await closed;
    expect((await exitOf(run)).code).toBe(1);
    expect(run.stderr.text).toMatch(/^app-servers\.cjs: drained 0 in [\d.]+m?s; cut 1 at the drain deadline$/m);
  });

  it('worker: no job starts after the stop, every job started finishes, and it exits 0', async () => {
    const { run } = await startApp('worker');
    await run.stdout.waitFor(/job 3 started/, 'three jobs');
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    const started = [...run.stdout.text.matchAll(/job (\d+) started/g)].map((m) => m[1]);
    const done = [...run.stdout.text.matchAll(/job (\d+) done/g)].map((m) => m[1]);
    expect(done.sort()).toEqual(started.sort());
    const m = run.stderr.text.match(/not accepting new work \(jobs\) at \+[\d.]+m?s; (\d+) in flight/);
    expect(Number(m?.[1])).toBeGreaterThan(0);
    expect(run.stderr.text).toContain(`drained ${m?.[1]} in `);
  });
});
