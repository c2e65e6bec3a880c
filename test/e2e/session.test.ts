// The child's place among processes (its own session and group), job control, SIGCONT,
// and how much graceful says.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exitOf, fixture, start, useHarness } from './harness.js';

useHarness();

const node = process.execPath;

// pid, state, pgid and session of a process, from /proc.
function stat(pid: number) {
  const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: f[0], pgid: Number(f[2]), sid: Number(f[3]) };
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the child', () => {
  it('runs in a session and process group of its own, outside graceful\'s', async () => {
    const run = start(['run', '--', node, fixture('catch-signals.js')]);
    const child = await run.ready();
    expect(stat(child)).toMatchObject({ pgid: child, sid: child });
    expect(stat(run.pid).sid).not.toBe(child);
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
  });

  it('stopped (SIGSTOP) during a stop still handles it: SIGCONT follows the stop signal', async () => {
    const run = start(['run', '--timeout', '5s', '--', node, fixture('drains-for.js'), '0']);
    const child = await run.ready();
    process.kill(child, 'SIGSTOP');
    await until(() => stat(child).state === 'T', 'the child to be stopped');
    const sentAt = run.signal('SIGTERM');
    const exit = await exitOf(run);
    expect(exit.code).toBe(0);
    expect(exit.at - sentAt).toBeLessThan(2000); // handled, not killed at the 5s deadline
    expect(run.stdout.text).toMatch(/signal SIGTERM/);
  });

  it('Ctrl+Z (SIGTSTP) stops the child and graceful; SIGCONT resumes both', async () => {
    const run = start(['run', '--', node, fixture('catch-signals.js')]);
    const child = await run.ready();
    run.signal('SIGTSTP');
    await until(() => stat(child).state === 'T' && stat(run.pid).state === 'T', 'the child and graceful to stop');
    run.signal('SIGCONT');
    await until(() => stat(child).state !== 'T' && stat(run.pid).state !== 'T', 'both to resume');
    await run.stdout.waitFor(/signal SIGCONT/, 'the child to see SIGCONT');
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
  });
});

describe('what graceful says', () => {
  it('--quiet: nothing but errors', async () => {
    const run = start(['run', '--quiet', '--', node, fixture('drains-for.js'), '0']);
    await run.ready();
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stderr.text).toBe('');
    const failing = start(['run', '-q', '--', 'no-such-command-here']);
    expect((await exitOf(failing)).code).toBe(127);
    expect(failing.stderr.text).toMatch(/command not found/);
  });

  it('default off a terminal: a plain line per step, then the summary, no escape codes', async () => {
    const run = start(['run', '--timeout', '1s', '--', node, fixture('ignores-sigterm.js')], { env: { NO_COLOR: undefined } });
    await run.ready();
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(137);
    const lines = run.stderr.text.trimEnd().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^graceful: SIGTERM received: stopping .*ignores-sigterm\.js'? \(pid \d+\); grace period 1s$/),
      expect.stringMatching(/^graceful: sent SIGTERM to .* and its process tree; SIGKILL in 1s$/),
      expect.stringMatching(/^graceful: grace period of 1s over: sent SIGKILL to .* and its process tree$/),
      expect.stringMatching(/^graceful: .* had to be killed: .* \[escalated\]$/),
    ]);
    expect(run.stderr.text).not.toContain('\x1b');
  });

  it('--verbose: the start and forwarded signals too', async () => {
    const run = start(['run', '--verbose', '--', node, fixture('catch-signals.js')]);
    const child = await run.ready();
    run.signal('SIGUSR2');
    await run.stdout.waitFor(/signal SIGUSR2/, 'SIGUSR2 to reach the child');
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stderr.text).toMatch(new RegExp(`started .*catch-signals\\.js'? \\(pid ${child}\\) in its own session`));
    expect(run.stderr.text).toMatch(/forwarded SIGUSR2 to .* and its process tree/);
  });
});
