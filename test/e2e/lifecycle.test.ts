// Lifecycle policies of graceful run: restarts with backoff and a start limit, the memory
// limit, resource stats, the health endpoint. Each stop goes through the one shutdown path.
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitOf, fixture, freePort, readJson, start, tempDir, useHarness } from './harness.js';

useHarness();

const node = process.execPath;


// GET http://127.0.0.1:port/path: status and JSON body, or null if nothing answers.
function get(port: number, path: string): Promise<{ status: number; body: any } | null> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', () => resolve(null));
    req.end();
  });
}

async function until<T>(probe: () => Promise<T | null | false>, what: string, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`not within ${ms}ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('--restart', () => {
  it('a child crashing 3 times then staying up is restarted after 200, 400, 800 ms (--backoff)', async () => {
    const report = join(tempDir(), 'r.json');
    const state = join(tempDir(), 'starts');
    const run = start([
      // --min-uptime 10s: every crash is an unstable start, however slow the machine.
      'run', '--restart', 'on-failure', '--restart-delay', '200ms', '--backoff', '--min-uptime', '10s', '--report-file', report,
      '--', node, fixture('crashes-then-runs.js'), '3', state,
    ]);
    await run.ready(15_000);
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    const r = readJson(report);
    expect(r.runs.map((x: any) => x.exitStatus)).toEqual([1, 1, 1, 0]);
    expect(r.restart).toMatchObject({ mode: 'on-failure', restarts: 3, gaveUp: false });
    // The gap between one run's end and the next one's start is the delay, plus the spawn.
    const gaps = r.runs.slice(1).map((x: any, i: number) => Date.parse(x.startedAt) - Date.parse(r.runs[i].endedAt));
    [200, 400, 800].forEach((delay, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(delay - 5);
      expect(gaps[i]).toBeLessThan(delay + 1000);
    });
    expect(run.stderr.text).toMatch(/exited with code 1 after [\d.]+m?s, an unstable start \(under --min-uptime 10s\); restarting in 200ms \(restart 1\)/);
    expect(run.stderr.text).toMatch(/restarting in 800ms \(restart 3\)/);
  });

  it('gives up past the start limit, exiting with the last status', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--restart', 'always', '--restart-delay', '50ms', '--max-restarts', '2', '--min-uptime', '10s', '--report-file', report, '--', node, fixture('exits-with.js'), '7']);
    expect((await exitOf(run, 15_000)).code).toBe(7);
    const r = readJson(report);
    expect(r.runs).toHaveLength(3);
    expect(r.restart).toMatchObject({ restarts: 2, gaveUp: true });
    expect(run.stderr.text).toMatch(/giving up: 3 unstable runs within 10s, more than --max-restarts 2/);
  });

  it('a long life of restarts: the report lists the last 100 runs and counts the rest', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--restart', 'always', '--restart-delay', '0ms', '--min-uptime', '0ms', '--report-file', report, '--', 'true']);
    await run.stderr.waitFor(/\(restart 130\)/, '130 restarts', 30_000);
    run.signal('SIGTERM');
    // 0 from `true` itself, or 143 when the SIGTERM reached a child that had not exited yet.
    expect([0, 143]).toContain((await exitOf(run)).code);
    const r = readJson(report);
    const total = r.restart.restarts + 1;
    expect(total).toBeGreaterThanOrEqual(130);
    expect(r.runs).toHaveLength(100);
    expect(r.runsOmitted).toBe(total - 100);
    // Oldest first, and the last one is the run the rest of the report describes.
    expect(r.runs.at(-1).pid).toBe(r.pid);
    expect(new Set(r.runs.map((x: { pid: number }) => x.pid)).size).toBe(100);
  });

  it('SIGTERM during a restart delay exits at once: no new child', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--restart', 'always', '--restart-delay', '5s', '--report-file', report, '--', node, fixture('exits-with.js'), '3']);
    await run.stderr.waitFor(/restarting in 5s/, 'the restart delay to begin');
    const sentAt = run.signal('SIGTERM');
    const exit = await exitOf(run);
    expect(exit.at - sentAt).toBeLessThan(1000);
    expect(exit.code).toBe(3);
    expect(run.stdout.count(/ready \d+/)).toBe(1); // only the first child ever started
    expect(readJson(report).runs).toHaveLength(1);
    expect(run.stderr.text).toMatch(/SIGTERM received while waiting to restart: not restarting/);
  });

  it('a stop request is final: SIGTERM to a running child is not followed by a restart', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--restart', 'always', '--report-file', report, '--', node, fixture('drains-for.js'), '0', '5']);
    await run.ready();
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(5);
    expect(readJson(report).runs).toHaveLength(1);
  });
});

describe('--max-memory', () => {
  it('over the limit: a graceful stop (trigger memory-limit), then a restart; the start limit ends it', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start([
      // --min-uptime 10s: both runs count as unstable, however slowly a loaded machine runs them.
      'run', '--max-memory', '150M', '--monitor-interval', '100ms', '--restart', 'on-failure', '--max-restarts', '1', '--min-uptime', '10s',
      '--report-file', report, '--', node, fixture('grows-memory.js'), '20',
    ]);
    expect((await exitOf(run, 20_000)).code).toBe(125);
    const r = readJson(report);
    expect(r.runs.map((x: any) => x.trigger)).toEqual(['memory-limit', 'memory-limit']);
    expect(r.runs[0].exit).toEqual({ code: 0, signal: null }); // it handled SIGTERM: a graceful stop
    expect(run.stdout.count(/signal SIGTERM/)).toBe(2);
    expect(r.stats.peakRssBytes).toBeGreaterThan(150 * 1024 * 1024);
    expect(run.stderr.text).toMatch(/use [\d.]+M, over --max-memory 150M/);
  });

  it('without --restart: a graceful stop and exit status 125', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--max-memory', '100M', '--monitor-interval', '100ms', '--report-file', report, '--', node, fixture('grows-memory.js'), '20']);
    expect((await exitOf(run, 15_000)).code).toBe(125);
    expect(readJson(report)).toMatchObject({ stop: { trigger: 'memory-limit', signal: 'SIGTERM' }, exitStatus: 125, verdict: 'clean' });
  });
});

describe('--stats', () => {
  it("reports the tree's peak RSS and CPU time", async () => {
    const report = join(tempDir(), 'r.json');
    // It runs for 1.5 s by itself: many samples at 50 ms, even on a loaded machine.
    const run = start(['run', '--stats', '--monitor-interval', '50ms', '--report-file', report, '--', node, fixture('exits-with.js'), '0', '1500']);
    expect((await exitOf(run)).code).toBe(0);
    const { stats } = readJson(report);
    expect(stats.peakRssBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(stats.samples).toBeGreaterThanOrEqual(2);
    expect(run.stderr.text).toMatch(/resources: peak RSS [\d.]+M for the whole tree, CPU time \d+/);
  });
});

describe('--health-port', () => {
  it('/readyz flips to 503 on SIGTERM before the child is signalled (--stop-delay); /healthz stays 200', async () => {
    const port = await freePort();
    const run = start(['run', '--health-port', String(port), '--stop-delay', '1s', '--', node, fixture('drains-for.js'), '0']);
    const child = await run.ready();
    const ready = await until(async () => ((await get(port, '/readyz'))?.status === 200 ? get(port, '/readyz') : null), '/readyz 200');
    expect(ready!.body).toMatchObject({ state: 'running', ready: true, running: true, pid: child, restarts: 0 });
    run.signal('SIGTERM');
    const draining = await until(async () => {
      const r = await get(port, '/readyz');
      return r?.status === 503 ? r : null;
    }, '/readyz 503');
    expect(run.stdout.text).not.toMatch(/signal SIGTERM/); // the child has not been signalled yet
    expect(draining.body).toMatchObject({ ready: false, running: true, state: 'delaying' });
    expect((await get(port, '/healthz'))?.status).toBe(200);
    expect((await get(port, '/nope'))?.status).toBe(404);
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stdout.text).toMatch(/signal SIGTERM/);
  });

  it('a port in use: one line, status 2, nothing started', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const run = start(['run', '--health-port', String(port), '--', node, fixture('drains-for.js'), '0']);
    expect((await exitOf(run)).code).toBe(2);
    expect(run.stderr.text).toMatch(new RegExp(`^graceful: --health-port ${port}: cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\); choose another port\\n$`));
    expect(run.stdout.text).toBe('');
    await new Promise((resolve) => server.close(resolve));
  });
});
