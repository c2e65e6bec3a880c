// graceful on a real terminal: `script` (util-linux) gives it a pseudo-terminal, and Ctrl+C
// is typed as the byte 0x03, so the kernel's line discipline sends SIGINT to the
// terminal's foreground process group, as it does for a person at a keyboard.
import { describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { CLI, exitOf, fixture, pastEchoWindow, start, useHarness } from './harness.js';

useHarness();

const CTRL_C = '\x03';

// graceful under a 24x100 pseudo-terminal; `exec` so that graceful leads the foreground group.
function onTerminal(args: string[], env: Record<string, string | undefined> = {}) {
  const command = ['stty rows 24 cols 100;', 'exec', process.execPath, CLI, ...args].map((a, i) => (i < 2 ? a : `'${a}'`)).join(' ');
  return start([], { via: ['script', '-qfec', command, '/dev/null'], env: { NO_COLOR: undefined, TERM: 'xterm', ...env } });
}

describe('on a terminal', () => {
  it('Ctrl+C once: the child gets exactly one SIGINT, the countdown shows, then the summary', async () => {
    const run = onTerminal(['run', '--', process.execPath, fixture('drains-for.js'), '1500']);
    await run.ready();
    run.proc.stdin!.write(CTRL_C);
    await run.stdout.waitFor(/signal SIGINT/, 'the child to get SIGINT');
    await run.stdout.waitFor(/SIGINT sent, \d+s left, Ctrl\+C again to force/, 'the countdown line');
    const exit = await exitOf(run);
    expect(exit.code).toBe(0);
    expect(run.stdout.count(/signal SIGINT/)).toBe(1);
    expect(run.stdout.text).toMatch(/stopped cleanly: SIGINT received, .*exit status 0 .*\[clean\]/);
    // Colour on a terminal, and the scroll region given back at the end.
    expect(run.stdout.text).toContain('\x1b[32m[clean]');
    expect(run.stdout.text).toContain('\x1b[r');
  });

  it('Ctrl+C twice: the second forces the kill', async () => {
    const run = onTerminal(['run', '--', process.execPath, fixture('ignores-sigterm.js')]);
    await run.ready();
    const firstAt = performance.now();
    run.proc.stdin!.write(CTRL_C);
    await run.stdout.waitFor(/signal SIGINT/, 'the child to get the first SIGINT');
    await pastEchoWindow(firstAt);
    run.proc.stdin!.write(CTRL_C);
    const exit = await exitOf(run);
    expect(exit.code).toBe(137);
    expect(run.stdout.count(/signal SIGINT/)).toBe(1);
    expect(run.stdout.text).toMatch(/was killed on request: SIGINT received, SIGINT sent at \+\d+ms, SIGKILL sent at \+[\d.]+m?s \(second Ctrl\+C\)/);
  });

  it('NO_COLOR turns colour off, the countdown stays', async () => {
    const run = onTerminal(['run', '--', process.execPath, fixture('drains-for.js'), '300'], { NO_COLOR: '1' });
    await run.ready();
    run.proc.stdin!.write(CTRL_C);
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stdout.text).toMatch(/SIGINT sent, \d+s left/);
    expect(run.stdout.text).not.toMatch(/\x1b\[3\dm/);
  });

  it('CI set in the environment does not turn colour off on a terminal', async () => {
    const run = onTerminal(['run', '--', process.execPath, fixture('drains-for.js'), '100'], { CI: 'true' });
    await run.ready();
    run.proc.stdin!.write(CTRL_C);
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stdout.text).toContain('\x1b[32m[clean]');
  });

  it('TERM=dumb: plain step lines, no cursor movement, no colour', async () => {
    const run = onTerminal(['run', '--', process.execPath, fixture('drains-for.js'), '100'], { TERM: 'dumb' });
    await run.ready();
    run.proc.stdin!.write(CTRL_C);
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stdout.text).toMatch(/graceful: sent SIGINT to .* SIGKILL in 30s/);
    expect(run.stdout.text).toMatch(/stopped cleanly: SIGINT received/);
    expect(run.stdout.text).not.toContain('\x1b');
  });

  it('the child still reads and writes the terminal', async () => {
    const reader = 'process.stdin.once("data", (d) => { console.log("got " + String(d).trim() + " tty=" + process.stdin.isTTY); process.exit(0); }); console.log("ready " + process.pid);';
    const run = onTerminal(['run', '--', process.execPath, '-e', reader]);
    await run.ready();
    run.proc.stdin!.write('hello\r');
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stdout.text).toMatch(/got hello tty=true/);
  });
});
