// --ready: each probe, the start-up time it reports, and --ready-timeout.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitOf, fixture, freePort, readJson, start, tempDir, useHarness } from './harness.js';

useHarness();

const node = process.execPath;
const hasPython = spawnSync('python3', ['--version']).status === 0;
if (!hasPython) console.warn('skipping the --ready notify tests: python3 (the sd_notify fixture) is not installed');


// Runs graceful with `ready` on `command`, waits for "ready in", stops it, returns the report.
async function readyThenStop(ready: string, command: string[], extra: string[] = []) {
  const report = join(tempDir(), 'r.json');
  const run = start(['run', '--ready', ready, '--report-file', report, ...extra, '--', ...command]);
  await run.stderr.waitFor(/ready in \d+/, `graceful to see the child ready (${ready})`);
  run.signal('SIGTERM');
  expect((await exitOf(run)).code).toBe(0);
  return { run, r: readJson(report) };
}

describe('--ready', () => {
  it('tcp:PORT: the start-up time is reported', async () => {
    const port = await freePort();
    const { run, r } = await readyThenStop(`tcp:${port}`, [node, fixture('http-server.js'), String(port)]);
    expect(r.ready).toMatchObject({ probe: `tcp:127.0.0.1:${port}`, timeoutMs: 60000 });
    expect(r.ready.afterMs).toBeGreaterThan(0);
    expect(r.verdict).toBe('clean');
    expect(run.stderr.text).toMatch(/stopped cleanly: ready in [\d.]+m?s, SIGTERM received/);
  });

  it('http://: a 2xx answer', async () => {
    const port = await freePort();
    const { r } = await readyThenStop(`http://127.0.0.1:${port}/`, [node, fixture('http-server.js'), String(port)]);
    expect(r.ready.afterMs).toBeGreaterThan(0);
  });

  it('log:REGEX: a line of output matches, and the output passes through unchanged', async () => {
    const { run, r } = await readyThenStop('log:^ready \\d+$', [node, fixture('drains-for.js'), '0']);
    expect(r.ready.afterMs).toBeGreaterThan(0);
    expect(run.stdout.text).toMatch(/^ready \d+\nsignal SIGTERM\ndrained\n$/);
  });

  it('exec:COMMAND: ready once the command exits 0, not before', async () => {
    // The probe succeeds only once the child has made the file: it fails until then.
    const dir = tempDir();
    const flag = join(dir, 'up');
    const program = `process.on('SIGTERM', () => process.exit(0)); setTimeout(() => require('fs').writeFileSync(${JSON.stringify(flag)}, ''), 300); setInterval(() => {}, 1e9);`;
    const { r } = await readyThenStop(`exec:test -e ${flag}`, [node, '-e', program]);
    expect(r.ready.probe).toBe(`exec:test -e ${flag}`);
    expect(r.ready.afterMs).toBeGreaterThanOrEqual(300);
  });

  it("ipc: process.send('ready')", async () => {
    const program = "process.on('SIGTERM', () => process.exit(0)); setTimeout(() => process.send('ready'), 50); setInterval(() => {}, 1e9);";
    const { r } = await readyThenStop('ipc', [node, '-e', program]);
    expect(r.ready.afterMs).toBeGreaterThanOrEqual(50);
  });

  it.skipIf(!hasPython)('notify: READY=1 on NOTIFY_SOCKET (sd_notify)', async () => {
    const { r } = await readyThenStop('notify', ['python3', fixture('notify.py'), '--ready-after', '100']);
    expect(r.ready.afterMs).toBeGreaterThanOrEqual(100);
  });

  it.skipIf(!hasPython)('notify: EXTEND_TIMEOUT_USEC extends the start, STOPPING=1 starts the grace period', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start([
      // The timeout must outlast python's own start-up (its first EXTEND is sent after it),
      // which takes over 300 ms on a loaded 2-core machine.
      'run', '--ready', 'notify', '--ready-timeout', '1500ms', '--report-file', report, '--',
      'python3', fixture('notify.py'), '--extend', '5000', '--ready-after', '2500', '--stopping-after', '100',
    ]);
    expect((await exitOf(run)).code).toBe(0);
    const r = readJson(report);
    expect(r.ready.afterMs).toBeGreaterThanOrEqual(2500); // past the 1.5s timeout, as extended
    expect(r.stop).toMatchObject({ trigger: 'child-stopping', signal: null, escalated: false });
    expect(r.verdict).toBe('clean');
  });

  it('--ready-timeout: not ready in time, the child is stopped and graceful exits 124', async () => {
    const port = await freePort();
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--ready', `tcp:${port}`, '--ready-timeout', '400ms', '--report-file', report, '--', node, fixture('drains-for.js'), '0']);
    await run.ready();
    const exit = await exitOf(run);
    expect(exit.code).toBe(124);
    expect(run.stdout.text).toMatch(/signal SIGTERM/);
    const r = readJson(report);
    expect(r).toMatchObject({ verdict: 'not-ready', exitStatus: 124, ready: { afterMs: null }, stop: { trigger: 'ready-timeout', signal: 'SIGTERM' } });
    expect(run.stderr.text).toMatch(/not ready within 400ms \(--ready-timeout\): stopping/);
    expect(run.stderr.text).toMatch(/was not ready in time: .*exit status 124 \[not-ready\]/);
  });

  it.each([
    ['tcp:70000', /--ready: expected a port from 1 to 65535, got "70000"/],
    ['tcp:0', /--ready: expected a port from 1 to 65535, got "0"/],
    ['log:(', /--ready: not a regular expression/],
    ['carrier-pigeon', /--ready: unknown kind; expected tcp:PORT/],
  ])('rejects --ready %s in one line', async (value, line) => {
    const run = start(['run', '--ready', value, '--', 'true']);
    expect((await exitOf(run)).code).toBe(2);
    expect(run.stderr.text.trimEnd().split('\n')).toEqual([expect.stringMatching(line)]);
  });
});
