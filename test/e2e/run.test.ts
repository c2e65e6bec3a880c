// graceful run, end to end: the built CLI on real fixtures, asserting what the OS saw.
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, exitOf, GRACEFUL, fixture, pastEchoWindow, readJson, start, tempDir, treePids, useHarness, waitGone } from './harness.js';

useHarness();

const node = process.execPath;

describe('stopping', () => {
  it('a child that handles SIGTERM in 1s: exit 0 about 1s after SIGTERM, verdict clean', async () => {
    const report = join(tempDir(), 'report.json');
    const run = start(['run', '--report-file', report, '--', node, fixture('drains-for.js'), '1000']);
    const child = await run.ready();
    const sentAt = run.signal('SIGTERM');
    const exit = await exitOf(run);

    expect(exit.code).toBe(0);
    const took = exit.at - sentAt;
    expect(took).toBeGreaterThanOrEqual(950);
    expect(took).toBeLessThan(2500);
    expect(run.stdout.count(/signal SIGTERM/)).toBe(1);
    expect(run.stderr.text).toMatch(/stopped cleanly: SIGTERM received, SIGTERM sent at \+\d+ms, exited with code 0 at \+1\.\d+s; exit status 0 \[clean\]/);
    const r = readJson(report);
    expect(r).toMatchObject({
      schema: 'graceful.report/v1',
      pid: child,
      stop: { trigger: 'SIGTERM', signal: 'SIGTERM', escalated: false, killSignal: null, killSentAfterMs: null, graceMs: 30000 },
      exit: { code: 0, signal: null },
      exitStatus: 0,
      verdict: 'clean',
    });
    expect(r.stop.signalSentAfterMs).toBeLessThan(50);
    expect(r.exit.shutdownMs).toBeGreaterThanOrEqual(1000);
    expect(r.exit.shutdownMs).toBeLessThan(1500);
    expect(statSync(report).mode & 0o777).toBe(0o600);
    expect(alive(child)).toBe(false);
  });

  it('a child that ignores SIGTERM with --timeout 2s: SIGKILL 2s after the request, 137, escalated', async () => {
    const report = join(tempDir(), 'report.json');
    const run = start(['run', '--timeout', '2s', '--report-file', report, '--', node, fixture('ignores-sigterm.js')]);
    await run.ready();
    const sentAt = run.signal('SIGTERM');
    await run.stdout.waitFor(/signal SIGTERM/, 'the child to receive SIGTERM');
    const exit = await exitOf(run);

    expect(exit.code).toBe(137);
    const took = exit.at - sentAt;
    expect(took).toBeGreaterThanOrEqual(2000);
    expect(took).toBeLessThan(3000);
    const r = readJson(report);
    expect(r.stop).toMatchObject({ escalated: true, forced: false, killSignal: 'SIGKILL', graceMs: 2000 });
    // Measured by graceful from the stop request, on its monotonic clock.
    expect(r.stop.killSentAfterMs).toBeGreaterThanOrEqual(2000);
    expect(r.stop.killSentAfterMs).toBeLessThanOrEqual(2100);
    expect(r.exit).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(r.verdict).toBe('escalated');
    expect(run.stderr.text).toMatch(/grace period of 2s over: sent SIGKILL/);
    // At the deadline: "+2s", or a few milliseconds after it on a busy machine.
    expect(run.stderr.text).toMatch(/had to be killed: .*SIGKILL sent at \+2(\.0\d)?s .*exit status 137 \[escalated\]/);
  });

  it('a child without a handler dies of the stop signal: 143, verdict signal-default', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--report-file', report, '--', node, fixture('no-handler.js')]);
    await run.ready();
    run.signal('SIGTERM');
    const exit = await exitOf(run);
    expect(exit.code).toBe(143);
    expect(readJson(report)).toMatchObject({ verdict: 'signal-default', exit: { signal: 'SIGTERM' }, exitStatus: 143 });
    expect(run.stderr.text).toMatch(/no-handler\.js \(pid \d+\) died of SIGTERM: SIGTERM received, SIGTERM sent at \+\d+ms, died of SIGTERM at \+\d+ms; exit status 143 \[signal-default\]/);
  });

  // Issue 24, item 6: whether a handler ran is not visible from outside. Python's own SIGINT
  // handler raises KeyboardInterrupt; a program that cleans up and re-raises it is ended by
  // Python with SIGINT, exactly as a program with no handler. The summary says what is known.
  it("Python's KeyboardInterrupt re-raised after its handler ran: died of SIGINT, and nothing said of a handler", async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--report-file', report, '--', '/usr/bin/python3', fixture('reraises-interrupt.py')]);
    const pid = await run.ready();
    run.signal('SIGINT');
    expect((await exitOf(run)).code).toBe(130);
    expect(run.stdout.text).toMatch(/cleaned up\n/);
    expect(readJson(report)).toMatchObject({ verdict: 'signal-default', exit: { signal: 'SIGINT' }, exitStatus: 130 });
    expect(run.stderr.text).toMatch(new RegExp(`reraises-interrupt\\.py \\(pid ${pid}\\) died of SIGINT: SIGINT received, SIGINT sent at \\+\\d+ms, died of SIGINT at \\+\\d+ms; exit status 130 \\[signal-default\\]`));
    expect(run.stderr.text).not.toMatch(/handler/);
  });

  it('--success-exit-status SIGTERM maps that death to 0, and the verdict still tells', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--success-exit-status', '143,SIGTERM', '--report-file', report, '--', node, fixture('no-handler.js')]);
    await run.ready();
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    expect(readJson(report)).toMatchObject({ verdict: 'signal-default', exitStatus: 0 });
  });

  it('a failure status after the stop is passed through: verdict failed', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--report-file', report, '--', node, fixture('drains-for.js'), '0', '3']);
    await run.ready();
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(3);
    expect(readJson(report).verdict).toBe('failed');
  });

  it('forwards SIGINT as SIGINT by default, and --stop-signal rewrites it', async () => {
    const a = start(['run', '--', node, fixture('catch-signals.js')]);
    await a.ready();
    a.signal('SIGINT');
    expect((await exitOf(a)).code).toBe(0);
    expect(a.stdout.text).toMatch(/signal SIGINT/);

    const b = start(['run', '--stop-signal', 'term', '--', node, fixture('catch-signals.js')]);
    await b.ready();
    b.signal('SIGINT');
    expect((await exitOf(b)).code).toBe(0);
    expect(b.stdout.text).toMatch(/signal SIGTERM/);
    expect(b.stdout.text).not.toMatch(/signal SIGINT/);
  });

  it('a second SIGINT while stopping kills at once; a copy within 200 ms does not', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--report-file', report, '--', node, fixture('ignores-sigterm.js')]);
    await run.ready();
    run.signal('SIGINT');
    run.signal('SIGINT'); // the same keypress forwarded again by a wrapper (npm, yarn)
    await run.stdout.waitFor(/signal SIGINT/, 'the first SIGINT to reach the child');
    await pastEchoWindow(run.stderr, /SIGINT received: stopping/, 'graceful to take the first SIGINT');
    expect(run.proc.exitCode).toBe(null);
    const forcedAt = run.signal('SIGINT');
    const exit = await exitOf(run);
    expect(exit.code).toBe(137);
    expect(exit.at - forcedAt).toBeLessThan(1000);
    expect(run.stdout.count(/signal SIGINT/)).toBe(1);
    expect(readJson(report).stop).toMatchObject({ forced: true, escalated: true, killSignal: 'SIGKILL' });
  });

  it('a repeated SIGTERM is passed on again but does not escalate', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--report-file', report, '--', node, fixture('drains-for.js'), '800']);
    await run.ready();
    run.signal('SIGTERM');
    await run.stdout.waitFor(/signal SIGTERM/, 'the first SIGTERM');
    await pastEchoWindow(run.stderr, /SIGTERM received: stopping/, 'graceful to take the first SIGTERM');
    run.signal('SIGTERM');
    await run.stdout.waitFor(/signal SIGTERM[\s\S]*signal SIGTERM/, 'the second SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    expect(readJson(report)).toMatchObject({ verdict: 'clean', stop: { repeats: 1, escalated: false } });
  });

  it('--no-kill never escalates', async () => {
    const run = start(['run', '--no-kill', '--timeout', '500ms', '--', node, fixture('ignores-sigterm.js')]);
    const child = await run.ready();
    run.signal('SIGTERM');
    await run.stdout.waitFor(/signal SIGTERM/, 'SIGTERM to reach the child');
    // The negative, proved once: well past the would-be deadline, the child still runs.
    await new Promise((r) => setTimeout(r, 1500));
    expect(alive(child)).toBe(true);
    expect(run.proc.exitCode).toBe(null);
    process.kill(child, 'SIGKILL');
    expect((await exitOf(run)).code).toBe(137);
  });
});

describe('the shutdown sequence', () => {
  it('--pre-stop runs first, through sh, its output on stderr, its time counted', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start([
      'run',
      '--pre-stop',
      'echo "hook out $GRACEFUL_CHILD_PID"; echo "hook err" >&2; sleep 0.3',
      '--report-file',
      report,
      '--',
      node,
      fixture('drains-for.js'),
      '0',
    ]);
    const child = await run.ready();
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stderr.text).toContain(`hook out ${child}`);
    expect(run.stderr.text).toContain('hook err');
    expect(run.stdout.text).not.toContain('hook');
    const r = readJson(report);
    expect(r.stop.preStop).toMatchObject({ exitCode: 0, cancelled: false, error: null });
    expect(r.stop.preStop.durationMs).toBeGreaterThanOrEqual(300);
    expect(r.stop.signalSentAfterMs).toBeGreaterThanOrEqual(300);
    expect(r.verdict).toBe('clean');
  });

  it('a pre-stop that fails is reported and the stop goes on', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--pre-stop', 'exit 4', '--report-file', report, '--', node, fixture('drains-for.js'), '0']);
    await run.ready();
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    expect(readJson(report).stop.preStop).toMatchObject({ exitCode: 4 });
    expect(run.stderr.text).toMatch(/pre-stop failed with code 4.*stopping anyway/);
  });

  it('a pre-stop that hangs is ended at the deadline, with everything it started', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--timeout', '1s', '--pre-stop', 'sleep 60; true', '--report-file', report, '--', node, fixture('ignores-sigterm.js')]);
    await run.ready();
    const sentAt = run.signal('SIGTERM');
    const exit = await exitOf(run);
    expect(exit.code).toBe(137);
    expect(exit.at - sentAt).toBeLessThan(2500);
    const r = readJson(report);
    expect(r.stop.preStop.cancelled).toBe(true);
    expect(r.stop.signal).toBe(null); // the grace period ran out before the stop signal
    expect(r.stop.killSentAfterMs).toBeGreaterThanOrEqual(1000);
    // The leak check of the harness proves the hook's sleep is gone too.
  });

  it('--stop-delay keeps the child serving before the signal', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--stop-delay', '600ms', '--report-file', report, '--', node, fixture('drains-for.js'), '0']);
    await run.ready();
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    const r = readJson(report);
    expect(r.stop.signalSentAfterMs).toBeGreaterThanOrEqual(600);
    expect(r.stop.signalSentAfterMs).toBeLessThan(1000);
  });
});

describe('forwarding', () => {
  it('passes SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH on without stopping', async () => {
    const run = start(['run', '--', node, fixture('catch-signals.js')]);
    await run.ready();
    for (const sig of ['SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const) {
      run.signal(sig);
      await run.stdout.waitFor(new RegExp(`signal ${sig}`), `${sig} to reach the child`);
    }
    expect(run.proc.exitCode).toBe(null);
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
  });
});

describe.each(['group', 'mixed', 'process'] as const)('a subtree, --kill-mode %s', (mode) => {
  it('SIGTERM: the tree is stopped as the mode says', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--kill-mode', mode, '--timeout', '5s', '--report-file', report, '--', node, fixture('spawns-tree.js')]);
    await run.ready();
    const pids = treePids(run.stdout);
    expect(Object.keys(pids).sort()).toEqual(['inner-sh', 'node', 'sh', 'sleep']);
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    const rest = [pids.sh!, pids['inner-sh']!, pids.sleep!];
    const r = readJson(report);
    if (mode === 'process') {
      // Only the main process was signalled: the subtree outlives graceful, as asked.
      expect(rest.every(alive)).toBe(true);
      for (const pid of rest) process.kill(pid, 'SIGKILL');
      await waitGone(rest);
      return;
    }
    // Nothing of the tree survives graceful.
    expect([pids.node!, ...rest].filter(alive)).toEqual([]);
    if (mode === 'group') expect(r.stop.escalated).toBe(false); // all died of SIGTERM
    if (mode === 'mixed') expect(r.stop).toMatchObject({ escalated: true, killSignal: 'SIGKILL' });
  });
});

describe.each(['group', 'mixed'] as const)('a subtree that ignores SIGTERM, --kill-mode %s', (mode) => {
  it('is killed at the deadline (group) or when the main process exits (mixed)', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--kill-mode', mode, '--timeout', '1s', '--report-file', report, '--', node, fixture('spawns-tree.js'), '--subtree-ignores-term']);
    await run.ready();
    const pids = Object.values(treePids(run.stdout));
    run.signal('SIGTERM');
    const exit = await exitOf(run);
    expect(exit.code).toBe(0); // the main process exited 0 on SIGTERM
    expect(pids.filter(alive)).toEqual([]);
    const r = readJson(report);
    expect(r.stop.escalated).toBe(true);
    expect(r.exit).toMatchObject({ code: 0 });
    expect(r.stop.treeGoneAfterMs).not.toBe(null);
    // group: the rest had the remainder of the grace period; mixed: killed as soon as the main process exited.
    if (mode === 'group') expect(r.stop.killSentAfterMs).toBeGreaterThanOrEqual(1000);
    if (mode === 'mixed') expect(r.stop.killSentAfterMs).toBeLessThan(1000);
  });
});

describe('the child ending on its own', () => {
  it.each([
    ['0', 0, 'exited'],
    ['3', 3, 'crashed'],
    ['SIGABRT', 134, 'crashed'],
  ])('exits-with %s: status %i, verdict %s', async (what, status, verdict) => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--report-file', report, '--', node, fixture('exits-with.js'), what]);
    expect((await exitOf(run)).code).toBe(status);
    expect(readJson(report)).toMatchObject({ stop: null, exitStatus: status, verdict });
  });

  it('stops what the main process left running, with the full sequence', async () => {
    const report = join(tempDir(), 'r.json');
    const script = 'sleep 1000 & echo "tree sleep $!"; exit 5';
    const run = start(['run', '--report-file', report, '--', 'sh', '-c', script]);
    const exit = await exitOf(run);
    expect(exit.code).toBe(5);
    const { sleep } = treePids(run.stdout);
    expect(alive(sleep!)).toBe(false);
    expect(readJson(report)).toMatchObject({ verdict: 'crashed', stop: { trigger: 'child-exit', signal: 'SIGTERM', escalated: false } });
  });
});

describe('input', () => {
  it('stdout belongs to the child: graceful adds nothing to it', async () => {
    const run = start(['run', '--verbose', '--', node, '-e', 'process.stdout.write("exact\\n")']);
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stdout.text).toBe('exact\n');
    expect(run.stderr.text).toMatch(/exited with code 0/);
  });

  it('a burst of output reaches the reader complete and in order, the child exiting at once', async () => {
    const bytes = 20 * 1024 * 1024;
    const run = start(['run', '-q', '--', node, fixture('prints-a-lot.js'), String(bytes)]);
    expect((await exitOf(run, 30_000)).code).toBe(0);
    const out = run.stdout.text;
    expect(out.length).toBe(bytes);
    // The fixture repeats one 64 KiB block of the alphabet: a lost or moved byte breaks it.
    let broken = -1;
    for (let i = 0; i < out.length; i++) {
      if (out.charCodeAt(i) !== 97 + ((i % 65536) % 26)) {
        broken = i;
        break;
      }
    }
    expect(broken).toBe(-1);
  });

  it('options after the command belong to the child, untouched', async () => {
    const args = ['--timeout', '10x', '--', 'a b', "'q'", '$HOME', 'line\nbreak', '*'];
    const run = start(['run', '--', node, '-e', 'console.log(JSON.stringify(process.argv.slice(1)))', '--', ...args]);
    expect((await exitOf(run)).code).toBe(0);
    expect(JSON.parse(run.stdout.text)).toEqual(args);
  });

  it('environment variables set options; flags win', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--timeout', '700ms', '--', node, fixture('ignores-sigterm.js')], {
      env: { GRACEFUL_TIMEOUT: '20s', GRACEFUL_REPORT_FILE: report, GRACEFUL_STOP_SIGNAL: 'SIGINT' },
    });
    await run.ready();
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(137);
    expect(run.stdout.text).toMatch(/signal SIGINT/);
    expect(readJson(report).stop).toMatchObject({ graceMs: 700, signal: 'SIGINT' });
  });

  it('--preset pm2: SIGINT, 1.1s grace period', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--preset', 'pm2', '--report-file', report, '--', node, fixture('ignores-sigterm.js')]);
    await run.ready();
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(137);
    expect(run.stdout.text).toMatch(/signal SIGINT/);
    expect(readJson(report)).toMatchObject({ policy: { preset: 'pm2', timeoutMs: 1100 }, stop: { signal: 'SIGINT', graceMs: 1100 } });
  });

  it('warns when the grace period does not fit in the platform deadline', async () => {
    const run = start(['run', '--timeout', '40s', '--', 'true'], { env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' } });
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stderr.text).toMatch(/warning: --timeout 40s does not fit in the 30s that kubernetes \(KUBERNETES_SERVICE_HOST is set\) allows/);
  });

  const bad: [string, string[], Record<string, string>, number, RegExp][] = [
    ['a bad duration', ['run', '--timeout', '10x', '--', 'true'], {}, 2, /^graceful: --timeout: expected a duration like 30s.*got "10x"; see graceful run --help$/],
    ['an unknown signal', ['run', '--stop-signal', 'SIGFOO', '--', 'true'], {}, 2, /^graceful: --stop-signal: expected a signal name.*got "SIGFOO"/],
    ['a bad variable', ['run', '--', 'true'], { GRACEFUL_TIMEOUT: 'soon' }, 2, /^graceful: GRACEFUL_TIMEOUT: expected a duration.*got "soon"/],
    ['a missing command', ['run'], {}, 2, /^graceful: run: missing the command to run/],
    ['a missing command after --', ['run', '--timeout', '1s', '--'], {}, 2, /^graceful: run: missing the command to run/],
    ['an unknown option', ['run', '--timout', '1s', '--', 'true'], {}, 2, /^graceful: unknown option '--timout' \(Did you mean --timeout\?\)/],
    ['a bad kill mode', ['run', '--kill-mode', 'cgroup', '--', 'true'], {}, 2, /^graceful: --kill-mode: expected one of group, mixed, process, got "cgroup"/],
    ['a stop delay longer than the timeout', ['run', '--timeout', '1s', '--stop-delay', '2s', '--', 'true'], {}, 2, /^graceful: --stop-delay: 2s leaves nothing/],
    ['a command that does not exist', ['run', '--', 'no-such-command-here'], {}, 127, /^graceful: no-such-command-here: command not found in PATH/],
    ['a path that does not exist', ['run', '--', './nope/nothing'], {}, 127, /^graceful: \.\/nope\/nothing: no such file/],
    ['a directory', ['run', '--', '/tmp'], {}, 126, /^graceful: \/tmp: is a directory/],
  ];
  it('a file without execute permission: one line, status 126', async () => {
    const file = join(tempDir(), 'script.sh');
    writeFileSync(file, '#!/bin/sh\necho hi\n', { mode: 0o644 });
    const run = start(['run', '--', file]);
    expect((await exitOf(run)).code).toBe(126);
    expect(run.stderr.text).toBe(`graceful: ${file}: permission denied; make it executable (chmod +x ${file}) or run it through its interpreter\n`);
  });

  it.each(bad.map(([name, args, env, status, line]) => ({ name, args, env, status, line })))('$name: one line, status $status', async ({ args, env, status, line }) => {
    const run = start(args, { env });
    const exit = await exitOf(run);
    expect(exit.code).toBe(status);
    const lines = run.stderr.text.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
    expect(run.stdout.text).toBe('');
  });
});

describe('arguments that are not valid UTF-8', () => {
  it('reach the child byte for byte', async () => {
    // Node cannot spawn with such bytes itself: a shell builds them and execs graceful.
    const script = `exec "$0" ${GRACEFUL.slice(1).map((a) => JSON.stringify(a)).join(' ')} run -q -- sh -c 'printf %s "$1" | od -An -tx1' sh "$(printf 'a\\377b\\n$HOME')"`;
    const run = start([], { via: ['sh', '-c', script, GRACEFUL[0]!] });
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stdout.text.trim().split(/\s+/)).toEqual(['61', 'ff', '62', '0a', '24', '48', '4f', '4d', '45']);
  });
});
