// The seed's second step, audited: after draining, the program releases its resources itself,
// in the reverse order of acquisition. A real service on real Postgres and Redis clients
// (fixtures/db-app.js), checked with each defect and with its correct twin.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, fixture, freePort, readJson, start, tempDir, useHarness } from './harness.js';
import { servicesMissing, startPostgres, startRedis, type Service } from './services.js';

useHarness();

const missing = servicesMissing();
if (missing) console.log(`resources.test.ts skipped: ${missing}`);

describe.skipIf(missing !== null)('connections-closed, cleanup-order, files-closed on a real service', () => {
  let pg: Service & { log(): string };
  let redis: Service;
  beforeAll(async () => {
    [pg, redis] = (await Promise.all([startPostgres(), startRedis()])) as [Service & { log(): string }, Service];
  }, 60_000);
  afterAll(async () => {
    await Promise.all([pg?.stop(), redis?.stop()]);
  });

  // The in-flight requests do their work 600 ms after the stop signal: graceful check sends
  // it a while after them (longer with both cores busy), and the stop must find them in flight.
  async function check(flags: string[]) {
    const port = await freePort();
    const dir = tempDir();
    const report = join(dir, 'check.json');
    const run = start(
      ['check', '--ready', `tcp:${port}`, '--inflight', `http://127.0.0.1:${port}/work?ms=600&after=stop`, '--inflight-count', '5', '--report-file', report, '--', process.execPath, fixture('db-app.js'), String(port), pg.url, redis.url, ...flags],
      { env: { LOG_FILE: join(dir, 'app.log') } },
    );
    const exit = await exitOf(run, 25_000);
    const r = readJson(report);
    const line = (name: string) => run.stderr.text.split('\n').find((l) => new RegExp(`^\\s+(ok|FAIL|n/a|not run)\\s+${name}\\s`).test(l)) ?? '';
    const pid = Number(/ready (\d+)/.exec(run.stdout.text)?.[1]);
    return { exit, r, line, pid, stderr: run.stderr.text, failed: r.checks.filter((c: any) => c.ok === false).map((c: any) => c.name) };
  }

  it('the twin that drains, then closes the pool, then Redis, passes every check', async () => {
    const { exit, failed, line, stderr, pid } = await check([]);
    expect(failed, stderr).toEqual([]);
    expect(exit.code).toBe(0);
    // Judged by the audit (every process, any language), the services named by what listens there.
    expect(line('connections-closed')).toMatch(new RegExp(`ok\\s+connections-closed\\s+all 3 outbound connection\\(s\\) ended before exit: node db-app\\.js \\(pid ${pid}\\): redis 127\\.0\\.0\\.1:${redis.port}, postgres 127\\.0\\.0\\.1:${pg.port} \\(x2\\)$`));
    expect(line('cleanup-order')).toMatch(new RegExp(`ok\\s+cleanup-order\\s+node db-app\\.js \\(pid ${pid}\\): stopped listening \\+[\\d.]+m?s, 5 connection\\(s\\) it served done \\+[\\d.]+m?s, postgres 127\\.0\\.0\\.1:${pg.port} closed \\+[\\d.]+m?s, redis 127\\.0\\.0\\.1:${redis.port} closed \\+[\\d.]+m?s \\(the reverse order of opening\\)$`));
    expect(line('files-closed')).toMatch(new RegExp(`ok\\s+files-closed\\s+no file open for writing when node db-app\\.js \\(pid ${pid}\\) exited$`));
  });

  it('exiting with both connections (and a transaction) open fails connections-closed, naming each', async () => {
    const { failed, line, stderr, pid } = await check(['--leak']);
    expect(failed, stderr).toEqual(['connections-closed']);
    expect(line('connections-closed')).toMatch(new RegExp(`FAIL\\s+connections-closed\\s+node db-app\\.js \\(pid ${pid}\\) had 3 connections still open when it exited, closed by the kernel, not by the program: redis 127\\.0\\.0\\.1:${redis.port}, postgres 127\\.0\\.0\\.1:${pg.port} \\(x2\\): close each connection once the work that needs it is done`));
    // What the database saw: the client vanished with its transaction open.
    const deadline = Date.now() + 5000;
    while (!/unexpected EOF on client connection with an open transaction/.test(pg.log()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(pg.log()).toMatch(/unexpected EOF on client connection with an open transaction/);
  });

  it('closing Redis before draining fails cleanup-order, and in-flight with the reason it saw', async () => {
    const { failed, line, stderr, pid } = await check(['--early']);
    expect(failed, stderr).toEqual(['inflight', 'cleanup-order']);
    expect(line('inflight')).toMatch(new RegExp(`FAIL\\s+inflight\\s+0/5 in-flight requests completed; 5 HTTP 500: redis 127\\.0\\.0\\.1:${redis.port} was closed at \\+[\\d.]+m?s while they were in flight: release dependencies only after the server has drained`));
    expect(line('cleanup-order')).toMatch(
      new RegExp(`FAIL\\s+cleanup-order\\s+node db-app\\.js \\(pid ${pid}\\) closed redis 127\\.0\\.0\\.1:${redis.port} at \\+[\\d.]+m?s, (before it stopped listening|while 5 connection\\(s\\) it was serving were still open) .*\\(observed: .*redis 127\\.0\\.0\\.1:${redis.port} closed \\+[\\d.]+m?s.*\\): stop accepting first`),
    );
  });

  it('a log file left open for writing fails files-closed, naming it', async () => {
    const { failed, line, pid } = await check(['--keep-file']);
    expect(failed).toEqual(['files-closed']);
    expect(line('files-closed')).toMatch(new RegExp(`FAIL\\s+files-closed\\s+node db-app\\.js \\(pid ${pid}\\) exited with /.*/app\\.log open for writing: close \\(and so flush\\) files`));
  });
});
