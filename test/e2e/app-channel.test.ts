// graceful's side of graceful-supervisor/app's status channel (docs/app-protocol.md): the program's
// phases reach graceful's step lines, countdown, summary, JSON report and check, and graceful
// tells the program its deadline before the stop signal.
import { get } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitOf, fixture, readJson, start, tempDir, useHarness } from './harness.js';

useHarness();

const node = process.execPath;
const port = (text: string) => Number(/ready \d+ port (\d+)/.exec(text)![1]);
function slow(url: string): Promise<number | string> {
  return new Promise((resolve) => get(url, (res) => (res.resume(), res.on('end', () => resolve(res.statusCode!)))).on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message)));
}

describe('the status channel of graceful-supervisor/app', () => {
  it('run: the phases are shown, reported and summed up; the program plans from graceful\'s deadline', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--timeout', '20s', '--ready', 'app', '--report-file', report, '--', node, fixture('app-http.js')]);
    await run.ready();
    const inflight = slow(`http://127.0.0.1:${port(run.stdout.text)}/slow?ms=600`);
    await run.stdout.waitFor(/got \/slow/, 'the request to reach the program');
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    expect(await inflight).toBe(200);
    const r = readJson(report);
    expect(r.ready).toMatchObject({ probe: 'app' });
    expect(r.ready.afterMs).toBeGreaterThan(0);
    expect(r.phases.map((p: any) => p.phase)).toEqual(['hello', 'opened', 'opened', 'ready', 'stopping', 'not-accepting', 'drained', 'closing', 'closed', 'closing', 'closed', 'done']);
    const stopping = r.phases.find((p: any) => p.phase === 'stopping');
    // Planned from the deadline message graceful sent just before SIGTERM: 20 s less what had passed.
    expect(stopping).toMatchObject({ trigger: 'SIGTERM', budgetFrom: 'graceful' });
    expect(stopping.budgetMs).toBeGreaterThan(19_000);
    expect(stopping.budgetMs).toBeLessThanOrEqual(20_000);
    expect(r.phases.find((p: any) => p.phase === 'not-accepting')).toMatchObject({ inflight: 1 });
    expect(r.phases.find((p: any) => p.phase === 'drained')).toMatchObject({ completed: 1, cut: 0 });
    expect(r.phases.filter((p: any) => p.phase === 'closed').map((p: any) => p.name)).toEqual(['cache', 'db']);
    expect(r.phases.every((p: any) => p.afterStopMs === null || p.afterStopMs >= 0)).toBe(true);
    expect(run.stderr.text).toMatch(/: not accepting new work \(http\) at \+[\d.]+m?s; 1 in flight/);
    expect(run.stderr.text).toMatch(/stopped cleanly: ready in [\d.]+m?s, SIGTERM received, SIGTERM sent at \+[\d.]+m?s, exited with code 0 at \+[\d.]+m?s; its own shutdown: drained 1 in [\d.]+m?s, closed cache in [\d.]+m?s, closed db in [\d.]+m?s; exit status 0 \[clean\]/);
  });

  it('check: cleanup-order is read from the program\'s own phases', async () => {
    const report = join(tempDir(), 'c.json');
    const run = start(['check', '--ready', 'app', '--report-file', report, '--', node, fixture('app-http.js')]);
    expect((await exitOf(run, 20_000)).code).toBe(0);
    const order = readJson(report).checks.find((c: any) => c.name === 'cleanup-order');
    expect(order).toMatchObject({ ok: true });
    expect(order.detail).toMatch(/^from its own phases \(graceful-supervisor\/app\): drained 0 in [\d.]+m?s, then closed cache in [\d.]+m?s, then closed db in [\d.]+m?s: the reverse of opening \(db, cache\)$/);
    // graceful's own channel is not one of the program's connections.
    expect(readJson(report).checks.find((c: any) => c.name === 'connections-closed')).toMatchObject({ ok: true, detail: 'no process of the program opened an outbound connection (1 process(es) audited)' });
  });

  it('check: a resource that does not close in its time fails cleanup-order, named', async () => {
    const report = join(tempDir(), 'c.json');
    // Each close takes 3 s against the library's 5 s per resource, within a total of 4 s: the second is cut short.
    const run = start(['check', '--ready', 'app', '--timeout', '4s', '--report-file', report, '--', node, fixture('app-http.js'), '--close-ms', '3000']);
    await exitOf(run, 20_000);
    const order = readJson(report).checks.find((c: any) => c.name === 'cleanup-order');
    expect(order).toMatchObject({ ok: false });
    expect(order.detail).toMatch(/^(cache|db) did not close within [\d.]+m?s.*\(from its own phases \(graceful-supervisor\/app\): .*\): drain first, then close resources in the reverse order of opening, each within its time$/);
  });

  it('run: a repeated SIGTERM, which graceful forwards, cuts nothing: every request in flight completes, exit 0 (issue 25)', async () => {
    const run = start(['run', '--timeout', '20s', '--ready', 'app', '--', node, fixture('app-http.js')]);
    await run.ready();
    const base = `http://127.0.0.1:${port(run.stdout.text)}`;
    const inflight = [slow(`${base}/slow?ms=1500`), slow(`${base}/slow?ms=1500`), slow(`${base}/slow?ms=1500`)];
    await run.stdout.waitFor(/(got \/slow\n[^]*){3}/, 'three requests to reach the program');
    run.signal('SIGTERM');
    await run.stderr.waitFor(/SIGTERM received/, 'the program to begin its stop');
    await new Promise((r) => setTimeout(r, 500));
    run.signal('SIGTERM'); // a platform repeating itself
    expect(await Promise.all(inflight)).toEqual([200, 200, 200]);
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stderr.text).not.toMatch(/SIGTERM again: exiting now/);
    expect(run.stderr.text).toMatch(/stopped cleanly: .*its own shutdown: drained 3 in [\d.]+m?s/);
  });

  it("run: the program's default delay follows the platform graceful reports: 5 s on Kubernetes, none with --stop-delay (--preset kubernetes's auto included) or elsewhere", async () => {
    const delayOf = async (args: string[]) => {
      const report = join(tempDir(), 'r.json');
      const run = start(['run', ...args, '--report-file', report, '--', node, fixture('app-http.js')]);
      await run.stdout.waitFor(/ready \d+ port/, 'the app to be ready');
      run.signal('SIGTERM');
      expect((await exitOf(run, 30_000)).code).toBe(0);
      // Seen once in a full run under load: no stopping phase in the report. Say what graceful
      // and the app said then.
      const r = readJson(report);
      const stopping = r.phases.find((p: any) => p.phase === 'stopping');
      expect(stopping, `${args.join(' ')}: phases ${JSON.stringify(r.phases)}; stderr:\n${run.stderr.text}`).toBeDefined();
      return stopping.delayMs as number;
    };
    expect(await delayOf(['--preset', 'kubernetes', '--stop-delay', '0s'])).toBe(5_000);
    expect(await delayOf(['--preset', 'kubernetes'])).toBe(0);
    expect(await delayOf(['--preset', 'kubernetes', '--stop-delay', '300ms'])).toBe(0);
    expect(await delayOf(['--preset', 'docker'])).toBe(0);
    expect(await delayOf([])).toBe(0);
  }, 60_000);

  it("run: on Heroku the program delays itself (5 s): the platform's SIGTERM reaches it at once, and graceful's --stop-delay cannot hold it back", async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--preset', 'heroku', '--stop-delay', 'auto', '--report-file', report, '--', node, fixture('app-http.js')]);
    const app = Number((await run.stdout.waitFor(/ready (\d+) port/, 'the app to be ready'))[1]);
    // Heroku's stop: SIGTERM to every process of the dyno at once.
    run.signal('SIGTERM');
    process.kill(app, 'SIGTERM');
    expect((await exitOf(run, 30_000)).code).toBe(0);
    const r = readJson(report);
    expect(r.phases.find((p: any) => p.phase === 'stopping').delayMs).toBe(5_000);
    // The app's SIGTERM is the platform's, at the request: graceful sent none of its own.
    expect(r.stop.signalSentAfterMs).toBe(0);
    expect(r.forwarded).toEqual({});
  }, 60_000);
});
