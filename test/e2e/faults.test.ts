// Fault injection: signal storms, stops at awkward moments, a broken or full stderr, an
// unwritable report. graceful must not crash, hang, lose the child's status, or leave a
// process behind (the harness checks that last one after every test).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, exitOf, GRACEFUL, fixture, pastEchoWindow, readJson, start, tempDir, useHarness, waitGone } from './harness.js';

useHarness();

const node = process.execPath;

describe('signal storms', () => {
  it('200 SIGTERMs in a burst: one shutdown, no crash, no escalation', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--report-file', report, '--', node, fixture('drains-for.js'), '500']);
    await run.ready();
    for (let i = 0; i < 200; i++) run.signal('SIGTERM');
    const exit = await exitOf(run);
    expect(exit.code).toBe(0);
    const r = readJson(report);
    expect(r).toMatchObject({ verdict: 'clean', stop: { trigger: 'SIGTERM', escalated: false } });
    // Standard signals coalesce while pending: graceful saw some of the 200, one stop.
    expect(run.stdout.count(/signal SIGTERM/)).toBeGreaterThanOrEqual(1);
    expect(run.stdout.count(/drained/)).toBe(1);
    expect(run.stderr.text.match(/stopped cleanly/g)).toHaveLength(1);
  });

  it('SIGINT then SIGTERM: the SIGTERM is passed on again, it does not force', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--report-file', report, '--', node, fixture('drains-for.js'), '600']);
    await run.ready();
    run.signal('SIGINT');
    await run.stdout.waitFor(/signal SIGINT/, 'the child to get SIGINT');
    await pastEchoWindow(run.stderr, /SIGINT received: stopping/, 'graceful to take the SIGINT');
    run.signal('SIGTERM');
    await run.stdout.waitFor(/signal SIGTERM/, 'the child to get SIGTERM as well');
    expect((await exitOf(run)).code).toBe(0);
    expect(readJson(report).stop).toMatchObject({ trigger: 'SIGINT', signal: 'SIGINT', repeats: 1, escalated: false });
  });
});

describe('stops at awkward moments', () => {
  it('before graceful has even started the child: nothing is left behind', async () => {
    // Sent as soon as the process exists: graceful may not have its handlers yet (it then
    // dies of it, with no child started), or it has them and stops the child at once.
    const run = start(['run', '--', node, fixture('drains-for.js'), '0']);
    run.signal('SIGTERM');
    const exit = await exitOf(run);
    expect([0, 143, null]).toContain(exit.code);
    // The harness's leak check proves that no child outlived it either way.
  });

  it('before the child is ready: stopped, and said not to have been ready', async () => {
    const report = join(tempDir(), 'r.json');
    // The child never listens on this port: it is never ready.
    const run = start(['run', '--ready', 'tcp:1', '--report-file', report, '--', node, fixture('drains-for.js'), '0']);
    await run.ready();
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    expect(readJson(report)).toMatchObject({ verdict: 'clean', ready: { afterMs: null }, stop: { trigger: 'SIGTERM' } });
  });

  it('during --pre-stop: a repeated SIGTERM waits for it; a second Ctrl+C kills, hook included', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--pre-stop', 'echo hook-started >&2; sleep 30', '--report-file', report, '--', node, fixture('ignores-sigterm.js')]);
    await run.ready();
    run.signal('SIGTERM');
    await run.stderr.waitFor(/hook-started/, 'the pre-stop hook to run');
    await pastEchoWindow(run.stderr, /SIGTERM received: stopping/, 'graceful to take the first SIGTERM');
    run.signal('SIGTERM');
    await run.stderr.waitFor(/SIGTERM received again: already stopping/, 'the repeat to be noted');
    expect(run.proc.exitCode).toBe(null);
    run.signal('SIGINT');
    const exit = await exitOf(run);
    expect(exit.code).toBe(137);
    const r = readJson(report);
    expect(r.stop).toMatchObject({ forced: true, signal: null, preStop: { cancelled: true } });
    // The hook's sleep is gone too: the harness's leak check.
  });

  it('the child exits by itself between the stop request and the signal: nothing is sent', async () => {
    const report = join(tempDir(), 'r.json');
    // It ends on its own 300 ms after it starts, inside the 1s --stop-delay.
    const run = start(['run', '--stop-delay', '1s', '--report-file', report, '--', node, fixture('exits-with.js'), '0', '300']);
    const child = await run.ready();
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    expect(alive(child)).toBe(false);
    const r = readJson(report);
    expect(r.stop).toMatchObject({ signal: null, signalSentAfterMs: null, escalated: false });
    expect(r.verdict).toBe('clean');
  });
});

describe('a broken stderr', () => {
  it('closed (EPIPE): graceful goes on supervising, and exits with the child status', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--verbose', '--report-file', report, '--', node, fixture('drains-for.js'), '100', '4']);
    run.proc.stderr!.destroy(); // graceful's next write gets EPIPE
    await run.ready();
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(4);
    expect(readJson(report)).toMatchObject({ verdict: 'failed', exitStatus: 4 });
  });

  it('full (nobody reads it): graceful does not block, and still escalates on time', async () => {
    const report = join(tempDir(), 'r.json');
    // The child fills the shared stderr pipe and blocks writing more; graceful must still
    // run its timers, kill it at the deadline, and exit.
    const proc = spawn(
      GRACEFUL[0]!,
      [...GRACEFUL.slice(1), 'run', '--verbose', '--timeout', '1s', '--report-file', report, '--', 'sh', '-c', "trap '' TERM; echo ready $$; yes 'filling the pipe' >&2"],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
    );
    proc.stderr!.pause(); // never read: the pipe fills up
    let out = '';
    proc.stdout!.setEncoding('utf8').on('data', (c) => (out += c));
    const deadline = Date.now() + 10_000;
    while (!/ready \d+/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const child = Number(/ready (\d+)/.exec(out)![1]);
    process.kill(proc.pid!, 'SIGTERM');
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => resolve(-1), 10_000);
      proc.once('exit', (c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
    proc.stderr!.destroy();
    expect(code).toBe(137);
    await waitGone([child]);
    expect(readJson(report)).toMatchObject({ verdict: 'escalated', stop: { killSentAfterMs: expect.any(Number) } });
  });
});

describe('an unwritable --report-file', () => {
  it('says so at start and at the end; the child is still supervised to the end', async () => {
    const path = '/proc/no-such-dir/report.json';
    const run = start(['run', '--report-file', path, '--', node, fixture('drains-for.js'), '100', '3']);
    await run.ready();
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(3);
    expect(run.stderr.text).toMatch(new RegExp(`--report-file ${path}: its directory is not writable \\(ENOENT\\); the run goes on without it`));
    expect(run.stderr.text).toMatch(new RegExp(`--report-file ${path}: could not be written: ENOENT`));
    expect(run.stdout.text).toMatch(/drained/);
  });
});
