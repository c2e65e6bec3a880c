// graceful as PID 1, as in a container: a new PID namespace (`unshare --pid --fork
// --mount-proc`, root only), where the kernel reparents every orphan to graceful and drops
// any signal PID 1 has no handler for.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childrenOf, CLI, exitOf, GRACEFUL, fixture, onlyChild, readJson, start, tempDir, treePids, useHarness, zombiesOf, type Run } from './harness.js';

useHarness();

// No types are installed for ws: required, it is `any`.
const WebSocket = createRequire(import.meta.url)('ws');

const node = process.execPath;

// Can this machine make PID namespaces? (CI runs as root: yes.)
const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { encoding: 'utf8' });
const canUnshare = probe.status === 0;
if (!canUnshare) {
  console.warn(`skipping the PID 1 tests: unshare --pid --fork --mount-proc failed here (${(probe.stderr || probe.error?.message || '').trim()}); they need root`);
}

// graceful run <args> as PID 1 of a new PID namespace. The platform check is off: this
// machine has /.dockerenv, and docker's 10s deadline is not what these tests are about.
function asPid1(args: string[], nodeFlags: string[] = []): Run {
  return start([], {
    // Node's own flags (the heap test's) need the npm build; everything else runs the
    // graceful under test (GRACEFUL_BIN: the standalone executable).
    via: ['unshare', '--pid', '--fork', '--mount-proc', ...(nodeFlags.length > 0 ? [node, ...nodeFlags, CLI] : GRACEFUL), 'run', '--platform-timeout', '0', ...args],
  });
}

// graceful's inspector (started with --inspect), through the DevTools protocol: live() is
// its heap's used size after two full collections.
async function inspect(run: Run): Promise<{ live(): Promise<number>; close(): Promise<void> }> {
  const url = (await run.stderr.waitFor(/ws:\/\/\S+/, "the inspector's address"))[0];
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const pending = new Map<number, (result: any) => void>();
  ws.on('message', (data: unknown) => {
    const message = JSON.parse(String(data));
    pending.get(message.id)?.(message.result);
    pending.delete(message.id);
  });
  let id = 0;
  const call = (method: string) =>
    new Promise<any>((resolve) => {
      pending.set(++id, resolve);
      ws.send(JSON.stringify({ id, method }));
    });
  return {
    async live() {
      await call('HeapProfiler.collectGarbage');
      await call('HeapProfiler.collectGarbage');
      return (await call('Runtime.getHeapUsage')).usedSize;
    },
    close: () =>
      new Promise((resolve) => {
        ws.once('close', () => resolve());
        ws.close();
      }),
  };
}

async function until(check: () => boolean, what: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms}ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(!canUnshare)('as PID 1', () => {
  it('reaps 100 orphans as they exit: no zombie 1s later', async () => {
    const report = join(tempDir(), 'r.json');
    const run = asPid1(['--report-file', report, '--', node, fixture('orphans.js'), '100', '300']);
    await run.ready();
    const graceful = onlyChild(run.pid);
    await run.stdout.waitFor(/orphans done 1/, 'the orphans to be due to exit');
    await until(() => zombiesOf(graceful) === 0, 'no zombie under graceful', 1000);
    process.kill(graceful, 'SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    const r = readJson(report);
    expect(r.reaper).toMatchObject({ pid1: true });
    expect(r.reaper.reaped).toBeGreaterThanOrEqual(100);
  });

  it('reaps orphans in rounds, none left after each, and keeps nothing per orphan: its heap grows by less than 16 bytes each', async () => {
    // Each SIGUSR1 (forwarded by graceful) makes 200 orphans that exit at once, a fork each.
    // graceful's live heap is asked of graceful itself, to the byte, over its inspector,
    // after a warm-up round and again 400 orphans later, with nothing running in between.
    // V8's optimizing tiers are off: the code they compile as reaping gets hot is not
    // memory kept per orphan, and would be counted (measured: ~16 bytes per orphan of code
    // over 4000 orphans, next to none without them). Measured: 0.9 KB of growth over 400;
    // one record kept per orphan, { pid }, made it 18.7 KB. From outside, its RSS moves by
    // 1-4 MB as V8's heap fills before its first major collection: it took thousands of
    // orphans and ~20 s to see 2 KB each that way.
    const report = join(tempDir(), 'r.json');
    const run = asPid1(['--report-file', report, '--', node, fixture('orphans-on-usr1.js'), '200'], ['--no-opt', '--no-maglev', '--no-sparkplug', '--inspect=127.0.0.1:0']);
    await run.ready();
    const graceful = onlyChild(run.pid);
    const heap = await inspect(run);
    const round = async (k: number) => {
      process.kill(graceful, 'SIGUSR1');
      await run.stdout.waitFor(new RegExp(`orphans made ${k}\\n`), `round ${k} of orphans to be made`);
      // Every orphan reaped: graceful's one child is the fixture again.
      await until(() => childrenOf(graceful).length === 1 && zombiesOf(graceful) === 0, `no orphan left under graceful after round ${k}`, 10_000);
    };
    let grown: number;
    try {
      await round(1);
      const before = await heap.live();
      await round(2);
      await round(3);
      grown = (await heap.live()) - before;
    } finally {
      // An open inspector session keeps a process from exiting.
      await heap.close();
    }
    expect(grown).toBeLessThan(400 * 16);
    process.kill(graceful, 'SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    expect(readJson(report).reaper.reaped).toBeGreaterThanOrEqual(600);
  });

  it('SIGTERM, SIGINT and SIGHUP to PID 1 reach the child', async () => {
    for (const stop of ['SIGTERM', 'SIGINT'] as const) {
      const run = asPid1(['--', node, fixture('catch-signals.js')]);
      await run.ready();
      const graceful = onlyChild(run.pid);
      process.kill(graceful, 'SIGHUP');
      await run.stdout.waitFor(/signal SIGHUP/, 'SIGHUP to reach the child');
      process.kill(graceful, 'SIGUSR1');
      await run.stdout.waitFor(/signal SIGUSR1/, 'SIGUSR1 to reach the child');
      process.kill(graceful, stop);
      await run.stdout.waitFor(new RegExp(`signal ${stop}`), `${stop} to reach the child`);
      expect((await exitOf(run)).code).toBe(0);
    }
  });

  it.each([
    ['3', 3],
    ['SIGABRT', 134],
  ])('passes the exit status on: exits-with %s -> %i', async (what, status) => {
    const run = asPid1(['--', node, fixture('exits-with.js'), what]);
    expect((await exitOf(run)).code).toBe(status);
  });

  it('stops a double-forked daemon with the tree and names it in the report', async () => {
    const report = join(tempDir(), 'r.json');
    const run = asPid1(['--report-file', report, '--', node, fixture('daemonizes.js')]);
    await run.ready();
    const { daemon } = treePids(run.stdout); // its pid inside the namespace
    process.kill(onlyChild(run.pid), 'SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stdout.text).toContain('daemon signal SIGTERM');
    const r = readJson(report);
    expect(r.descendants.atStop).toContainEqual({ pid: daemon, command: expect.stringContaining('sh -c') });
    expect(r.descendants.leaked).toEqual([]);
  });

  it('kills a daemon that ignores SIGTERM at the deadline: nothing of the tree survives', async () => {
    const report = join(tempDir(), 'r.json');
    const run = asPid1(['--timeout', '1s', '--report-file', report, '--', node, fixture('daemonizes.js'), '--daemon-ignores-term']);
    await run.ready();
    const { daemon } = treePids(run.stdout);
    process.kill(onlyChild(run.pid), 'SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    const r = readJson(report);
    expect(r.verdict).toBe('escalated');
    expect(r.stop.killSentAfterMs).toBeGreaterThanOrEqual(1000);
    expect(r.descendants.killed).toContainEqual({ pid: daemon, command: expect.stringContaining("trap '' TERM") });
    expect(r.descendants.leaked).toEqual([]);
    // The harness's leak check proves that no process of the tree outlived graceful.
  });
});
