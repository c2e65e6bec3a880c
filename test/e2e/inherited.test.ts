// What graceful's process already had as children when it started (what an `exec` handed it)
// is not the program's tree (issue 24): not signalled, not waited for, not reported, not
// killed. The entrypoint idioms are written here exactly as entrypoints write them.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childrenOf, exitOf, GRACEFUL, start, tempDir, useHarness, waitGone } from './harness.js';

useHarness();

// graceful as a shell word list (its path may hold spaces: quoted).
const graceful = GRACEFUL.map((w) => `'${w}'`).join(' ');
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('a logger an entrypoint started before exec: bash -c "exec > >(exec tee log) 2>&1; exec graceful run -- app"', () => {
  it('is left alone: the app drains and exits 0, and the log gets its last lines and the summary', async () => {
    const dir = tempDir();
    const log = join(dir, 'log');
    const run = start([], { via: ['bash', '-c', `exec > >(exec tee '${log}') 2>&1; exec ${graceful} run -- node fixtures/drains-for.js 300`] });
    const app = await run.ready();
    // bash became graceful (exec: same pid); tee is its child, from before the program.
    const tee = childrenOf(run.pid).find((c) => c.cmd.startsWith('tee'));
    expect(tee, `tee among ${JSON.stringify(childrenOf(run.pid))}`).toBeDefined();
    run.signal('SIGTERM');
    const exit = await exitOf(run);
    expect(exit.code).toBe(0);
    await waitGone([app, tee!.pid]);
    const text = readFileSync(log, 'utf8');
    expect(text).toContain('signal SIGTERM');
    expect(text).toContain('drained');
    expect(text).toMatch(/graceful: node fixtures\/drains-for\.js 300 \(pid \d+\) stopped cleanly: SIGTERM received, SIGTERM sent at \+0ms, exited with code 0 at \+3\d\dms; exit status 0 \[clean\]/);
  });

  it('as PID 1 of a container, the log still gets graceful\'s last line before the namespace ends', async () => {
    const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']);
    if (probe.status !== 0) {
      console.warn('skipping the PID 1 logger test: unshare --pid --fork --mount-proc failed here; it needs root');
      return;
    }
    const dir = tempDir();
    const log = join(dir, 'log');
    const run = start([], {
      via: ['unshare', '--pid', '--fork', '--mount-proc', 'bash', '-c', `exec > >(exec tee '${log}') 2>&1; exec ${graceful} run --platform-timeout 0 -- node fixtures/drains-for.js 100`],
    });
    await run.ready();
    // unshare's child is bash become graceful: PID 1 inside.
    const [pid1] = childrenOf(run.pid);
    process.kill(pid1!.pid, 'SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    expect(readFileSync(log, 'utf8')).toMatch(/stopped cleanly: .*exit status 0 \[clean\]\n$/);
  });
});

describe('a background job the shell left: sleep 1000 & exec graceful run -- sleep 1', () => {
  it('is not part of the tree: graceful exits with the program, reports nothing left, and the sleep lives on', async () => {
    const dir = tempDir();
    const pidFile = join(dir, 'sleep.pid');
    const run = start([], { via: ['sh', '-c', `sleep 1000 & echo $! > '${pidFile}'; exec ${graceful} run -- sleep 1`] });
    const exit = await exitOf(run);
    const sleeper = Number(readFileSync(pidFile, 'utf8'));
    try {
      expect(exit.code).toBe(0);
      expect(run.stderr.text).not.toMatch(/remain|left behind|SIGTERM|SIGKILL/);
      expect(run.stderr.text).toMatch(/sleep 1 \(pid \d+\) ended on its own: exited with code 0 after (99\dms|1\.\d\ds); exit status 0 \[exited\]/);
      // (999ms: graceful dates the start once spawn() returns, and under load sleep's clock may have begun a moment before)
      expect(alive(sleeper)).toBe(true);
    } finally {
      process.kill(sleeper, 'SIGKILL');
      await waitGone([sleeper]);
    }
  });
});

describe('graceful up with a logger it was handed', () => {
  it('neither stops it nor reports it as left by the stack', async () => {
    const dir = tempDir();
    const log = join(dir, 'log');
    const stack = join(dir, 'Procfile');
    writeFileSync(stack, 'web: node fixtures/drains-for.js 100\n');
    const run = start([], { via: ['bash', '-c', `exec > >(exec tee '${log}') 2>&1; exec ${graceful} up -f '${stack}'`] });
    await run.stdout.waitFor(/ready \d+/, 'the program to start');
    const tee = childrenOf(run.pid).find((c) => c.cmd.startsWith('tee'));
    expect(tee).toBeDefined();
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    await waitGone([tee!.pid]);
    const text = readFileSync(log, 'utf8');
    expect(text).not.toMatch(/left by its programs|stopped after the stack/);
    expect(text).toMatch(/web \| drained/);
    // The logger lived to the end: graceful's last line reached it.
    expect(text).toMatch(/graceful: stack stopped in \d+ms: web in that order; exit status 0\n$/);
  });
});
