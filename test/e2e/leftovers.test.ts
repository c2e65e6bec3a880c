// Nothing graceful makes outlives it for long (issue 24): a SIGKILLed graceful cannot remove
// its sockets, so they live in its runtime directory under its pid, and the next graceful
// removes those whose graceful is gone. A restarted container's PID 1 is pid 1 again: it
// replaces its own. Nothing is left in the temporary directory.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childrenOf, exitOf, GRACEFUL, start, tempDir, useHarness, waitGone } from './harness.js';

useHarness();

// Each run gets its own runtime and temporary directories: what is in them is its alone.
function dirs() {
  const runtime = tempDir();
  const tmp = tempDir();
  return { runtime, tmp, env: { XDG_RUNTIME_DIR: runtime, TMPDIR: tmp } };
}

const inRuntime = (runtime: string) => (existsSync(join(runtime, 'graceful')) ? readdirSync(join(runtime, 'graceful')).sort() : []);

describe('sockets of a SIGKILLed graceful', () => {
  it('are in the runtime directory under its pid, and the next graceful removes them; the temporary directory stays empty', async () => {
    const { runtime, tmp, env } = dirs();
    const first = start(['run', '--ready', 'notify', '--', 'python3', 'fixtures/notify.py'], { env });
    const child = await first.ready();
    expect(inRuntime(runtime)).toEqual([`${first.pid}.1.notify`, `${first.pid}.2.status`].sort());
    first.signal('SIGKILL');
    await exitOf(first);
    process.kill(child, 'SIGKILL');
    await waitGone([first.pid, child]);
    // Left behind: the two sockets, and nothing else anywhere.
    expect(inRuntime(runtime)).toEqual([`${first.pid}.1.notify`, `${first.pid}.2.status`].sort());
    expect(readdirSync(tmp)).toEqual([]);

    const next = start(['run', '--', 'node', '-e', 'console.log("ready " + process.pid)'], { env });
    await next.ready();
    expect(inRuntime(runtime)).toEqual([`${next.pid}.1.status`]);
    expect((await exitOf(next)).code).toBe(0);
    expect(inRuntime(runtime)).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it("a restarted container's PID 1 replaces its own", async () => {
    const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']);
    if (probe.status !== 0) {
      console.warn('skipping the PID 1 leftover test: unshare --pid --fork --mount-proc failed here; it needs root');
      return;
    }
    const { runtime, env } = dirs();
    const asPid1 = (args: string[]) => start([], { env, via: ['unshare', '--pid', '--fork', '--mount-proc', ...GRACEFUL, 'run', '--platform-timeout', '0', ...args] });
    const first = asPid1(['--', 'node', 'fixtures/http-server.js', '0']);
    await first.ready();
    expect(inRuntime(runtime)).toEqual(['1.1.status']);
    // The container is killed: unshare and everything in its namespace.
    const [graceful] = childrenOf(first.pid);
    process.kill(graceful!.pid, 'SIGKILL');
    await exitOf(first);
    expect(inRuntime(runtime)).toEqual(['1.1.status']);
    const again = asPid1(['--', 'node', '-e', 'console.log("ready " + process.pid)']);
    await again.ready();
    expect(inRuntime(runtime)).toEqual(['1.1.status']);
    expect((await exitOf(again)).code).toBe(0);
    expect(inRuntime(runtime)).toEqual([]);
  });

  // A pid that is gone here may be alive in another PID namespace that shares the directory
  // (unshare --pid; containers sharing /tmp): its sockets are held, and stay. Before, such a
  // graceful removed them, and `graceful reload` found no control socket, nor the library
  // its status channel (seen as failures of reload.test.ts and app-examples.test.ts when the
  // PID 1 tests ran beside them).
  it("a graceful in another PID namespace leaves a live graceful's sockets alone, and two PID 1s have a name each", async () => {
    const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']);
    if (probe.status !== 0) {
      console.warn('skipping the PID namespace leftover test: unshare --pid --fork --mount-proc failed here; it needs root');
      return;
    }
    const { runtime, env } = dirs();
    const asPid1 = (args: string[]) => start([], { env, via: ['unshare', '--pid', '--fork', '--mount-proc', ...GRACEFUL, 'run', '--platform-timeout', '0', ...args] });
    const host = start(['run', '--control', join(runtime, 'control.sock'), '--', 'node', 'fixtures/http-server.js', '0'], { env });
    await host.ready();
    expect(inRuntime(runtime)).toEqual([`${host.pid}.1.status`]);
    const pid1 = asPid1(['--', 'node', 'fixtures/http-server.js', '0']);
    await pid1.ready();
    expect(inRuntime(runtime)).toEqual([`${host.pid}.1.status`, '1.1.status'].sort());
    // A second PID 1, beside the first: 1.1.status is the first's, held; it takes 1.2.
    const second = asPid1(['--', 'node', 'fixtures/http-server.js', '0']);
    await second.ready();
    expect(inRuntime(runtime)).toEqual([`${host.pid}.1.status`, '1.1.status', '1.2.status'].sort());
    // unshare passes no signal on: graceful, its child, is told.
    process.kill(childrenOf(second.pid)[0]!.pid, 'SIGTERM');
    expect((await exitOf(second)).code).toBe(0);
    expect(inRuntime(runtime)).toEqual([`${host.pid}.1.status`, '1.1.status'].sort());
    process.kill(childrenOf(pid1.pid)[0]!.pid, 'SIGTERM');
    host.signal('SIGTERM');
    expect((await exitOf(pid1)).code).toBe(0);
    expect((await exitOf(host)).code).toBe(0);
    expect(inRuntime(runtime)).toEqual([]);
  });
});
