// Leak-proof stops: a double-forked daemon leaves the child's session and process group,
// but graceful, as a child subreaper, adopts it and stops it; the report names it. And if
// graceful itself is killed, the child is not left running unsupervised.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, exitOf, fixture, readJson, start, tempDir, treePids, useHarness, waitGone } from './harness.js';

useHarness();

const node = process.execPath;

describe('a double-forked daemon under the child', () => {
  it('is stopped with the tree: it gets SIGTERM and exits; the report names it', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--report-file', report, '--', node, fixture('daemonizes.js')]);
    await run.ready();
    const { daemon } = treePids(run.stdout);
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stdout.text).toContain('daemon signal SIGTERM');
    expect(alive(daemon!)).toBe(false);
    const r = readJson(report);
    expect(r.descendants.atStop).toContainEqual({ pid: daemon, command: expect.stringContaining('sh -c') });
    expect(r.descendants.killed).toEqual([]);
    expect(r.descendants.leaked).toEqual([]);
    expect(r.reaper).toMatchObject({ pid1: false });
    expect(r.reaper.reaped).toBeGreaterThanOrEqual(1);
  });

  it('that ignores SIGTERM is killed at the deadline, and the report says so', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--timeout', '1s', '--report-file', report, '--', node, fixture('daemonizes.js'), '--daemon-ignores-term']);
    await run.ready();
    const { daemon } = treePids(run.stdout);
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0); // the main process exited 0 on SIGTERM
    expect(alive(daemon!)).toBe(false);
    const r = readJson(report);
    expect(r.verdict).toBe('escalated');
    expect(r.stop.killSentAfterMs).toBeGreaterThanOrEqual(1000);
    expect(r.descendants.killed).toContainEqual({ pid: daemon, command: expect.stringContaining("trap '' TERM") });
    expect(r.descendants.leaked).toEqual([]);
    expect(run.stderr.text).toMatch(/stopped, but the rest of its tree had to be killed/);
  });

  it('escapes with --no-subreaper: graceful cannot see it (why the subreaper is on by default)', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--no-subreaper', '--report-file', report, '--', node, fixture('daemonizes.js')]);
    await run.ready();
    const { daemon } = treePids(run.stdout);
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    expect(alive(daemon!)).toBe(true);
    expect(readJson(report)).toMatchObject({ reaper: null, descendants: { leaked: [] } });
    process.kill(daemon!, 'SIGKILL');
    await waitGone([daemon!]);
  });
});

describe('graceful itself killed with SIGKILL', () => {
  it('the child gets the stop signal from the kernel (parent-death signal), not left unsupervised', async () => {
    const run = start(['run', '--', node, fixture('catch-signals.js')]);
    const child = await run.ready();
    run.signal('SIGKILL');
    await run.stdout.waitFor(/signal SIGTERM/, 'the child to get SIGTERM when graceful died');
    await waitGone([child]);
  });

  it('with --stop-signal, that signal', async () => {
    const run = start(['run', '--stop-signal', 'SIGINT', '--', node, fixture('catch-signals.js')]);
    const child = await run.ready();
    run.signal('SIGKILL');
    await run.stdout.waitFor(/signal SIGINT/, 'the child to get SIGINT when graceful died');
    await waitGone([child]);
  });
});
