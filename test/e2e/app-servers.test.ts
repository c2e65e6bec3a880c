// The library's other sources, from CommonJS (fixtures/app-servers.cjs): an http2 server's
// streams finish and its sessions get GOAWAY; a net server stops listening and waits for
// its connections; a job worker stops taking jobs and finishes those it has.
import http2 from 'node:http2';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { exitOf, fixture, start, useHarness, type Run } from './harness.js';

useHarness();

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
    await run.stdout.waitFor(/(got \/slow\n[^]*){2}/, 'both streams to arrive');
    run.signal('SIGTERM');
    expect(await Promise.all(replies)).toEqual([
      { status: 200, body: 'slept 500ms\n', error: null },
      { status: 200, body: 'slept 500ms\n', error: null },
    ]);
    expect(await Promise.all(goaways)).toEqual(['goaway', 'goaway']);
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stderr.text).toMatch(/^app-servers\.cjs: not accepting new work \(h2\) at \+\d+ms; 2 in flight$/m);
    expect(run.stderr.text).toMatch(/^app-servers\.cjs: drained 2 in \d+ms$/m);
    idle.destroy();
    busy.destroy();
  });

  it('net: stops listening, waits for an open connection to end, then exits 0', async () => {
    const { run, port } = await startApp('net');
    const client = net.connect(port, '127.0.0.1');
    await new Promise((r) => client.once('connect', r));
    run.signal('SIGTERM');
    await run.stderr.waitFor(/not accepting new work \(echo\) at \+\d+ms; 1 in flight/, 'the listener to close');
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
    expect(run.stderr.text).toMatch(/^app-servers\.cjs: drained 1 in \d+ms$/m);
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
    expect(run.stderr.text).toMatch(/^app-servers\.cjs: drained 0 in \d+ms; cut 1 at the drain deadline$/m);
  });

  it('worker: no job starts after the stop, every job started finishes, and it exits 0', async () => {
    const { run } = await startApp('worker');
    await run.stdout.waitFor(/job 3 started/, 'three jobs');
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    const started = [...run.stdout.text.matchAll(/job (\d+) started/g)].map((m) => m[1]);
    const done = [...run.stdout.text.matchAll(/job (\d+) done/g)].map((m) => m[1]);
    expect(done.sort()).toEqual(started.sort());
    const m = run.stderr.text.match(/not accepting new work \(jobs\) at \+\d+ms; (\d+) in flight/);
    expect(Number(m?.[1])).toBeGreaterThan(0);
    expect(run.stderr.text).toContain(`drained ${m?.[1]} in `);
  });
});
