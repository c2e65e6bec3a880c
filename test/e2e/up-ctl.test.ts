// graceful ctl on a running graceful up (issue 26 item 3): db <- api <- worker (restart:
// true), and web (listen:, 2 instances) on api. Each command is sent as a user types it, and
// what the OS saw is asserted: which pids are gone or new, in which order things stopped,
// what graceful ctl printed and exited with, the stack's lines and its report.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, exitOf, fixture, freePort, readJson, start, tempDir, useHarness, waitGone, type Run } from './harness.js';

useHarness();

const node = process.execPath;

// graceful ctl <words> against the stack `up`: its exit status, stdout and stderr.
async function ctl(up: Run, ...words: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const c = start(['ctl', '--pid', String(up.pid), ...words]);
  const exit = await exitOf(c, 30_000);
  return { code: exit.code, out: c.stdout.text, err: c.stderr.text };
}

// The pid a process printed ("db | ready 123"), the last one.
function pidOf(up: Run, name: string): number {
  const all = [...up.stdout.text.matchAll(new RegExp(`^${name} +\\| ready (\\d+)`, 'gm'))];
  return Number(all.at(-1)![1]);
}

describe('graceful ctl', () => {
  it('status, restart, scale, reload, stop (refused, then with its dependents), start, and refusals, each in the stack\'s order and report', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const dir = tempDir();
    const file = join(dir, 'graceful.yml');
    const report = join(dir, 'stack.json');
    writeFileSync(
      file,
      `
processes:
  db:
    command: [${node}, ${fixture('drains-for.js')}, "100"]
    ready: log:^ready
  api:
    command: [${node}, ${fixture('drains-for.js')}, "50"]
    depends_on: [db]
    ready: log:^ready
    restart: always
    restart_delay: 200ms
  worker:
    command: [${node}, ${fixture('drains-for.js')}, "20"]
    depends_on: { api: { condition: ready, restart: true } }
    ready: log:^ready
  web:
    command: [${node}, ${fixture('listen-http.js')}]
    listen: tcp://127.0.0.1:${port}
    instances: 2
    ready: ipc
    depends_on: [api]
`,
    );
    const up = start(['up', '-f', file, '--report-file', report]);
    await up.stderr.waitFor(/web: .* ready in \d+/, 'web ready', 20_000);
    await up.stderr.waitFor(/worker: .* ready in \d+/, 'worker ready', 20_000);
    const first = { db: pidOf(up, 'db'), api: pidOf(up, 'api'), worker: pidOf(up, 'worker') };

    // status: one row per process, with the pids the processes printed.
    const status = await ctl(up, 'status');
    expect(status.code, status.err).toBe(0);
    const rows = status.out.trim().split('\n');
    expect(rows[0]).toMatch(/^NAME +STATE +PID +READY +UPTIME +RESTARTS$/);
    for (const name of ['db', 'api', 'worker'] as const) expect(rows.find((r) => r.startsWith(name))).toMatch(new RegExp(`^${name} +ready +${first[name]} +yes +[\\d.]+m?s +0$`));
    expect(rows.find((r) => r.startsWith('web'))).toMatch(/^web +ready +\d+ +yes +[\d.]+m?s +0$/);
    const webInstances = [...up.stdout.text.matchAll(/starting (\d+) generation 1 instance/g)].map((m) => Number(m[1]));
    expect(webInstances).toHaveLength(2);

    // restart api: worker (restart: true) stops first, then api; api starts again, then worker. web is not touched.
    let from = up.stderr.text.length;
    const restart = await ctl(up, 'restart', 'api');
    expect(restart.code, restart.err).toBe(0);
    expect(restart.err).toContain('graceful ctl restart api: stopping worker, then api; then starting api, then worker');
    expect(restart.err).toMatch(/graceful ctl restart api: done in [\d.]+m?s; up: api \(pid (\d+)\), worker \(pid (\d+)\)/);
    const after = up.stderr.text.slice(from);
    const order = ['worker: stop asked by graceful up', 'api: stop asked by graceful up', 'api: starting again', 'worker: starting again'].map((t) => after.indexOf(t));
    expect(order.every((i) => i >= 0), after).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(alive(first.api) || alive(first.worker)).toBe(false);
    expect(alive(first.db)).toBe(true);
    for (const pid of webInstances) expect(alive(pid), 'web untouched').toBe(true);
    const api2 = pidOf(up, 'api');
    expect(api2).not.toBe(first.api);

    // scale web 3, then reload it: through its own graceful run.
    const scale = await ctl(up, 'scale', 'web', '3');
    expect(scale.code, scale.err).toBe(0);
    expect(scale.err).toMatch(/graceful ctl scale web: scaled from 2 to 3 instance\(s\): 3 serve \(pids \d+, \d+, \d+\)/);
    const reload = await ctl(up, 'reload', 'web');
    expect(reload.code, reload.err).toBe(0);
    expect(reload.err).toMatch(/graceful ctl reload web: reload 1 \(control\): switched .* to generation 3 \(3 instance\(s\)/);
    await waitGone(webInstances);

    // stop api: refused while worker and web run; nothing stops.
    const refused = await ctl(up, 'stop', 'api');
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('graceful ctl stop api: refused: worker, web depend on api and run: stop them first, or give --with-dependents to stop them before api');
    expect(up.stderr.text).toContain('graceful: warning: graceful ctl stop api: refused: worker, web depend on api and run');
    expect(alive(api2)).toBe(true);

    // stop api --with-dependents: worker and web first, then api; held: not restarted by restart: always.
    from = up.stderr.text.length;
    const stop = await ctl(up, 'stop', 'api', '--with-dependents');
    expect(stop.code, stop.err).toBe(0);
    expect(stop.err).toMatch(/graceful ctl stop api --with-dependents: done in [\d.]+m?s; stopped worker, web, api/);
    const stopped = up.stderr.text.slice(from);
    expect(stopped.indexOf('api: stop asked by graceful up')).toBeGreaterThan(stopped.indexOf('web: stop asked by graceful up'));
    expect(stopped.indexOf('api: stop asked by graceful up')).toBeGreaterThan(stopped.indexOf('worker: stop asked by graceful up'));
    expect(alive(api2)).toBe(false);
    // Three restart delays: a restart: always process that ended would be back by then.
    const mark = up.stderr.text.length;
    await new Promise((r) => setTimeout(r, 600));
    expect(up.stderr.text.slice(mark)).not.toMatch(/starting again/);
    const held = await ctl(up, 'status');
    for (const name of ['api', 'worker', 'web']) expect(held.out).toMatch(new RegExp(`^${name} +stopped \\(graceful ctl\\) +- +- +- +\\d+$`, 'm'));
    expect(held.out).toMatch(/^db +ready /m);

    // start api: api alone (worker and web stay stopped).
    const startApi = await ctl(up, 'start', 'api');
    expect(startApi.code, startApi.err).toBe(0);
    expect(startApi.err).toMatch(/graceful ctl start api: done in [\d.]+m?s; up: api \(pid \d+\)/);
    const later = await ctl(up, 'status');
    expect(later.out).toMatch(/^api +ready /m);
    expect(later.out).toMatch(/^worker +stopped \(graceful ctl\)/m);

    // Refusals: a process with no listen:, one that runs already, one not in the stack; a bad command.
    const noListen = await ctl(up, 'scale', 'api', '2');
    expect(noListen.code).toBe(1);
    expect(noListen.err).toContain('graceful ctl scale api: refused: api has no listen: in the stack file');
    const running = await ctl(up, 'start', 'db');
    expect(running.code).toBe(1);
    expect(running.err).toContain('graceful ctl start db: refused: db is running already');
    const unknown = await ctl(up, 'restart', 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('graceful ctl restart nope: refused: no process "nope" in the stack (db, api, worker, web)');
    const bad = await ctl(up, 'restart');
    expect(bad.code).toBe(2);
    expect(bad.err).toBe('graceful: ctl restart: expected NAME, got ""; see graceful ctl --help\n');

    up.signal('SIGTERM');
    expect((await exitOf(up, 30_000)).code).toBe(0);
    const r = readJson(report);
    expect(r.commands.map((c: any) => `${c.command} ${c.name} ${c.outcome}`)).toEqual([
      'restart api accepted',
      'restart api done',
      'scale web done',
      'reload web done',
      'stop api refused',
      'stop api accepted',
      'stop api done',
      'start api accepted',
      'start api done',
      'scale api refused',
      'start db refused',
      'restart nope refused',
    ]);
    for (let i = 1; i < r.commands.length; i++) expect(r.commands[i].afterMs).toBeGreaterThanOrEqual(r.commands[i - 1].afterMs);
    // Nothing to steer any more.
    const gone = await ctl(up, 'status');
    expect(gone.code).toBe(69);
    expect(gone.err).toMatch(/^graceful: ctl failed: no graceful up control socket for pid \d+/);
  });
});
