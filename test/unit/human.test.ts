// How a command is named in what people read: shortened to fit, never cut in the middle of
// the program's or the script's name (issue 11: "/usr/bin/node /tmp/x/p/fixtures/ignores-sigt...").
import { describe, expect, it } from 'vitest';
import type { Event, SignalName } from '../../src/core/types.js';
import { resolveRunOptions } from '../../src/config/options.js';
import { describeCommand, statusLine, stepLines, summaryLine, timeLeft } from '../../src/report/human.js';
import { buildReport } from '../../src/report/json.js';
import { basePolicy, Sim, type Input } from './sim.js';

describe('describeCommand', () => {
  it('shows a command that fits as a shell would, quoting what needs it', () => {
    expect(describeCommand(['node', 'app.js', '--port', '3000'])).toBe('node app.js --port 3000');
    expect(describeCommand(['sh', '-c', "echo 'hi'"])).toBe(`sh -c 'echo '\\''hi'\\'''`);
    expect(describeCommand(['/usr/bin/node', '/tmp/x/p/fixtures/ignores-sigterm.js'])).toBe('/usr/bin/node /tmp/x/p/fixtures/ignores-sigterm.js');
  });

  it('shortens the executable to its base name, then the middle of the path, keeping the script name', () => {
    const long = '/tmp/tmp.Xb3kQ9/a/much/longer/checkout/path/than/usual/graceful/fixtures/ignores-sigterm.js';
    expect(describeCommand(['/usr/bin/node', long])).toBe('node /tmp/.../fixtures/ignores-sigterm.js');
    expect(describeCommand(['/usr/bin/node', '/tmp/x/p/fixtures/ignores-sigterm.js'], 40)).toBe('node /tmp/.../ignores-sigterm.js');
    expect(describeCommand(['/usr/bin/node', '/tmp/x/p/fixtures/ignores-sigterm.js'], 30)).toBe('node .../ignores-sigterm.js');
  });

  it('lets the arguments after the script go before the script', () => {
    const long = '/srv/releases/2024-06-01T12-00-00/app/server.js';
    expect(describeCommand(['/usr/local/bin/node', long, '--port', '3000', '--workers', '16', '--verbose'], 40)).toBe('node .../server.js --port 3000 ...');
    expect(describeCommand(['python3', '-m', 'http.server', '8000', '--bind', '127.0.0.1', '--directory', '/srv/files'], 30)).toBe('python3 -m http.server ...');
  });

  it('leaves URLs and words with spaces whole, and cuts only a name too long for any room', () => {
    expect(describeCommand(['curl', 'http://127.0.0.1:3000/a/very/long/path/to/something', '-o', '/dev/null'])).toBe('curl http://127.0.0.1:3000/a/very/long/path/to/something ...');
    expect(describeCommand(['node', 'a-script-with-an-extremely-long-name.js'], 20)).toBe('node a-script-wit...');
  });
});

// The summary line on a fake clock: every figure the user reads is pinned, so that a wrong
// number in the renderer fails here.
const died = (signal: SignalName, signo: number, survivors = 0) => ({ type: 'child-exited' as const, code: null, signal, signo, survivors });

describe('the summary line', () => {
  it('states the grace period that applied: EXTEND_TIMEOUT_USEC moves it, and the line says so', () => {
    const sim = Sim.started({ timeoutMs: 1000 });
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.now = 200;
    sim.feed({ type: 'extend-timeout', ms: 3300 }); // until 3500
    sim.advanceTo(3500);
    sim.now = 3502;
    sim.feed(died('SIGKILL', 9));
    expect(summaryLine(sim.state.facts, sim.policy, sim.status!)).toBe(
      'app (pid 100) had to be killed: SIGTERM received, SIGTERM sent at +0ms, SIGKILL sent at +3.50s (grace period of 3.50s over), died of SIGKILL at +3.50s; exit status 137 [escalated]',
    );
  });

  it('kill mode mixed: the SIGKILL to the rest of the tree is for the main exit, not the grace period', () => {
    const sim = Sim.started({ timeoutMs: 20_000, killMode: 'mixed' });
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.now = 4;
    sim.feed({ type: 'child-exited', code: 0, signal: null, signo: null, survivors: 2 });
    sim.now = 6;
    sim.feed({ type: 'tree-empty' });
    expect(summaryLine(sim.state.facts, sim.policy, sim.status!)).toBe(
      'app (pid 100) stopped, but the rest of its tree had to be killed: SIGTERM received, SIGTERM sent at +0ms, SIGKILL sent at +4ms (the main process exited, kill mode mixed), exited with code 0 at +4ms, the rest of its tree gone at +6ms; exit status 0 [escalated]',
    );
  });

  it('a second Ctrl+C is named as the reason for the kill', () => {
    const sim = Sim.started({ timeoutMs: 30_000 });
    sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
    sim.now = 800;
    sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
    sim.now = 801;
    sim.feed(died('SIGKILL', 9));
    expect(summaryLine(sim.state.facts, sim.policy, sim.status!)).toBe(
      'app (pid 100) was killed on request: SIGINT received, SIGINT sent at +0ms, SIGKILL sent at +800ms (second Ctrl+C), died of SIGKILL at +801ms; exit status 137 [escalated]',
    );
  });
});

// Feeds `input` and returns the step lines printed off a terminal for it.
function steps(sim: Sim, input: Input, verbose = false): string[] {
  const prev = sim.state;
  const actions = sim.feed(input);
  return stepLines(prev, { ...input, at: sim.now } as Event, sim.state, actions, sim.policy, verbose);
}
const summary = (sim: Sim) => summaryLine(sim.state.facts, sim.policy, sim.status!);
const exited = (code: number, survivors = 0) => ({ type: 'child-exited' as const, code, signal: null, signo: null, survivors });

describe('the summary line, every way a run ends', () => {
  it('clean, after a pre-stop hook and a stop delay', () => {
    const sim = Sim.started({ preStop: 'deregister', stopDelayMs: 500, timeoutMs: 5000 });
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.now = 300;
    sim.feed({ type: 'pre-stop-exited', code: 0, signal: null, error: null });
    sim.advanceTo(800);
    sim.now = 2034;
    sim.feed(exited(0));
    expect(summary(sim)).toBe('app (pid 100) stopped cleanly: SIGTERM received, pre-stop done after 300ms, SIGTERM sent at +800ms, exited with code 0 at +2.03s; exit status 0 [clean]');
  });

  it('died of the stop signal: nothing said of a handler (none, or one that re-raised it, look the same)', () => {
    const sim = Sim.started();
    sim.now = 7000;
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.now = 7005;
    sim.feed(died('SIGTERM', 15));
    expect(summary(sim)).toBe('app (pid 100) died of SIGTERM: SIGTERM received, SIGTERM sent at +0ms, died of SIGTERM at +5ms; exit status 143 [signal-default]');
  });

  it('killed at the deadline, with --kill-signal and a stop signal of its own', () => {
    const sim = Sim.started({ timeoutMs: 12_000, stopSignal: 'SIGQUIT', killSignal: 'SIGABRT' });
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.advanceTo(12_000);
    sim.now = 12_040;
    sim.feed(died('SIGABRT', 6));
    expect(summary(sim)).toBe('app (pid 100) had to be killed: SIGTERM received, SIGQUIT sent at +0ms, SIGABRT sent at +12s (grace period of 12s over), died of SIGABRT at +12.0s; exit status 134 [escalated]');
  });

  it('ready, then stopped: the start time comes first', () => {
    const sim = Sim.started({ readyTimeoutMs: 5000 });
    sim.now = 1200;
    sim.feed({ type: 'ready' });
    sim.now = 61_000;
    sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
    sim.now = 61_040;
    sim.feed(exited(0));
    expect(summary(sim)).toBe('app (pid 100) stopped cleanly: ready in 1.20s, SIGINT received, SIGINT sent at +0ms, exited with code 0 at +40ms; exit status 0 [clean]');
  });

  it('not ready within --ready-timeout', () => {
    const sim = Sim.started({ readyTimeoutMs: 5000 });
    sim.advanceTo(5000);
    sim.now = 5300;
    sim.feed(exited(0));
    expect(summary(sim)).toBe('app (pid 100) was not ready in time: not ready within 5s (--ready-timeout), SIGTERM sent at +0ms, exited with code 0 at +300ms; exit status 124 [not-ready]');
  });

  it('it said it was stopping (STOPPING=1), and took too long', () => {
    const sim = Sim.started({ timeoutMs: 3000 });
    sim.now = 100;
    sim.feed({ type: 'child-stopping' });
    sim.advanceTo(3100);
    sim.now = 3101;
    sim.feed(died('SIGKILL', 9));
    expect(summary(sim)).toBe('app (pid 100) had to be killed: it said it is stopping (STOPPING=1), SIGKILL sent at +3s (grace period of 3s over), died of SIGKILL at +3.00s; exit status 137 [escalated]');
  });

  it('over --max-memory: exit status 125', () => {
    const sim = Sim.started();
    sim.now = 9000;
    sim.feed({ type: 'stop', trigger: 'memory-limit' });
    sim.now = 9250;
    sim.feed(exited(0));
    expect(summary(sim)).toBe('app (pid 100) stopped cleanly: over --max-memory, SIGTERM sent at +0ms, exited with code 0 at +250ms; exit status 125 [clean]');
  });

  it('graceful check stopped it; it exited with a failure', () => {
    const sim = Sim.started();
    sim.feed({ type: 'stop', trigger: 'check' });
    sim.now = 80;
    sim.feed(exited(3));
    expect(summary(sim)).toBe('app (pid 100) stopped with a failure: stop asked by graceful check, SIGTERM sent at +0ms, exited with code 3 at +80ms; exit status 3 [failed]');
  });

  it('ended on its own, and the rest of its tree had to be killed', () => {
    const sim = Sim.started({ timeoutMs: 2000 });
    sim.now = 1500;
    sim.feed(exited(3, 1));
    sim.advanceTo(3500);
    sim.now = 3520;
    sim.feed({ type: 'tree-empty' });
    expect(summary(sim)).toBe('app (pid 100) crashed: exited with code 3 after 1.50s, SIGTERM sent to the rest of its tree, SIGKILL sent to the rest of its tree at +2s, the rest of its tree gone at +2.02s; exit status 3 [crashed]');
  });
});

describe('the step lines, off a terminal', () => {
  it('a stop to the end: its grace period, the stop signal, the kill when it is over', () => {
    const sim = Sim.started({ timeoutMs: 30_000 });
    sim.now = 1000;
    expect(steps(sim, { type: 'stop-requested', signal: 'SIGTERM' })).toEqual([
      'SIGTERM received: stopping app (pid 100); grace period 30s',
      'sent SIGTERM to app (pid 100) and its process tree; SIGKILL in 30s',
    ]);
    sim.now = 1500;
    expect(steps(sim, { type: 'stop-requested', signal: 'SIGTERM' })).toEqual(['SIGTERM received again: sent SIGTERM again']);
    sim.now = 2000;
    expect(steps(sim, { type: 'extend-timeout', ms: 45_000 })).toEqual([]);
    sim.now = 47_000;
    expect(steps(sim, { type: 'timer', timer: 'deadline' })).toEqual(['grace period of 46s over: sent SIGKILL to app (pid 100) and its process tree']);
  });

  it('kill mode mixed, another kill signal: the figures follow the policy', () => {
    const sim = Sim.started({ timeoutMs: 1500, killMode: 'mixed', killSignal: 'SIGQUIT' });
    expect(steps(sim, { type: 'stop-requested', signal: 'SIGINT' })).toEqual([
      'SIGINT received: stopping app (pid 100); grace period 1.50s',
      'sent SIGINT to app (pid 100); SIGQUIT in 1.50s',
    ]);
    sim.now = 400;
    expect(steps(sim, { type: 'stop-requested', signal: 'SIGINT' })).toEqual(['SIGINT received again: sent SIGQUIT to app (pid 100) and its process tree']);
  });

  it('a pre-stop hook and a stop delay: the countdown left when the signal goes', () => {
    const sim = Sim.started({ preStop: 'deregister', stopDelayMs: 500, timeoutMs: 5000 });
    expect(steps(sim, { type: 'stop-requested', signal: 'SIGTERM' })).toEqual([
      'SIGTERM received: stopping app (pid 100); grace period 5s',
      'running pre-stop: deregister',
    ]);
    sim.now = 100;
    expect(steps(sim, { type: 'stop-requested', signal: 'SIGTERM' })).toEqual(['SIGTERM received again: already stopping']);
    sim.now = 340;
    expect(steps(sim, { type: 'pre-stop-exited', code: 1, signal: null, error: null })).toEqual([
      'pre-stop failed with code 1 after 340ms; stopping anyway',
      'waiting 500ms before signalling (--stop-delay)',
    ]);
    sim.now = 840;
    expect(steps(sim, { type: 'timer', timer: 'stop-delay' })).toEqual(['sent SIGTERM to app (pid 100) and its process tree; SIGKILL in 4.16s']);
  });

  it('--no-kill: no countdown is promised', () => {
    const sim = Sim.started({ kill: false });
    expect(steps(sim, { type: 'stop-requested', signal: 'SIGTERM' })).toEqual([
      'SIGTERM received: stopping app (pid 100); no kill (--no-kill)',
      'sent SIGTERM to app (pid 100) and its process tree',
    ]);
  });

  it('what is left of the tree, and readiness', () => {
    const sim = Sim.started({ readyTimeoutMs: 60_000 });
    sim.now = 1234;
    expect(steps(sim, { type: 'ready' })).toEqual(['app (pid 100) ready in 1.23s']);
    sim.now = 5000;
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.now = 5100;
    expect(steps(sim, exited(0, 2))).toEqual(['app (pid 100) exited with code 0; 2 process(es) of its tree remain']);
    sim.now = 35_000;
    expect(steps(sim, { type: 'timer', timer: 'deadline' })).toEqual(['grace period of 30s over: sent SIGKILL to app (pid 100) and its process tree']);
  });

  it('Ctrl+C in terminal mode (as TERM=dumb or --verbose show it): the child had it from the terminal; the time it has left', () => {
    const sim = new Sim({ ...basePolicy, timeoutMs: 20_000 });
    sim.feed({ type: 'started', pid: 100, terminal: true });
    sim.now = 300;
    expect(steps(sim, { type: 'stop-requested', signal: 'SIGINT', delivered: true })).toEqual([
      'SIGINT received: stopping app (pid 100); grace period 20s',
      'app (pid 100) got SIGINT from the terminal; SIGKILL in 20s',
    ]);
  });
});

describe('the live countdown on a terminal', () => {
  const live = (sim: Sim, at: number) => statusLine(sim.state, sim.policy, at)?.what;

  it('counts the seconds left to the kill, rounded up, and offers the force', () => {
    const sim = Sim.started({ timeoutMs: 30_000 });
    expect(live(sim, 0)).toBe(undefined);
    sim.now = 1000;
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    expect(live(sim, 1000)).toBe('SIGTERM sent, 30s left, Ctrl+C again to force');
    expect(live(sim, 1001)).toBe('SIGTERM sent, 30s left, Ctrl+C again to force');
    expect(live(sim, 2000)).toBe('SIGTERM sent, 29s left, Ctrl+C again to force');
    expect(live(sim, 30_999)).toBe('SIGTERM sent, 1s left, Ctrl+C again to force');
    expect(live(sim, 31_000)).toBe('SIGTERM sent, 0s left, Ctrl+C again to force');
    sim.advanceTo(31_000);
    expect(live(sim, 31_000)).toBe('SIGKILL sent, waiting for it to exit');
    expect(statusLine(sim.state, sim.policy, 31_000)).toEqual({ command: ['app'], pid: 100, what: 'SIGKILL sent, waiting for it to exit' });
  });

  it('says what it waits for: the hook, the delay, the rest of the tree; the kill signal by its name', () => {
    const hook = Sim.started({ preStop: 'deregister', timeoutMs: 10_000 });
    hook.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    expect(live(hook, 2500)).toBe('running pre-stop, 8s left, Ctrl+C again to force');
    const delay = Sim.started({ stopDelayMs: 5000, timeoutMs: 10_000 });
    delay.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    expect(live(delay, 4000)).toBe('serving until the stop signal (--stop-delay), 6s left, Ctrl+C again to force');
    const rest = Sim.started({ timeoutMs: 10_000, killSignal: 'SIGQUIT' });
    rest.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    rest.now = 1000;
    rest.feed(exited(0, 1));
    expect(live(rest, 1000)).toBe('main process exited, waiting for the rest of its tree, 9s left, Ctrl+C again to force');
    rest.advanceTo(10_000);
    expect(live(rest, 10_000)).toBe('SIGQUIT sent to the rest of its tree');
    const patient = Sim.started({ kill: false });
    patient.feed({ type: 'stop-requested', signal: 'SIGINT' });
    expect(live(patient, 60_000)).toBe('SIGINT sent');
  });

  it('leaves the force out where the caller says it once for all (graceful up\'s rows)', () => {
    const sim = Sim.started({ timeoutMs: 30_000 });
    sim.now = 1000;
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    expect(statusLine(sim.state, sim.policy, 2000, false)?.what).toBe('SIGTERM sent, 29s left');
    expect(timeLeft(31_000, 2000)).toBe('29s left');
    expect(timeLeft(31_000, 30_001)).toBe('1s left');
    expect(timeLeft(31_000, 40_000)).toBe('0s left');
  });
});

describe('the JSON report', () => {
  const options = (sim: Sim) => ({ ...resolveRunOptions({ command: ['app'], flags: {}, env: {}, exists: () => false, pid: 1 }), policy: sim.policy });
  const extras = { descendants: { atStop: [], atMainExit: [], atAppExit: null, killed: [], leaked: [] }, reaper: null };
  const wall = (at: number) => Date.UTC(2026, 0, 1) + at;

  it('has the figures of the summary line, to the millisecond', () => {
    const sim = Sim.started({ timeoutMs: 1000 });
    sim.now = 250;
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.now = 450;
    sim.feed({ type: 'extend-timeout', ms: 3300 }); // until 3750
    sim.advanceTo(3750);
    sim.now = 3753;
    sim.feed(died('SIGKILL', 9));
    const report = buildReport(sim.state.facts, options(sim), sim.status!, wall, extras);
    expect(report.stop).toEqual({
      trigger: 'SIGTERM',
      requestedAt: '2026-01-01T00:00:00.250Z',
      preStop: null,
      signal: 'SIGTERM',
      signalSentAfterMs: 0,
      sigcontSent: false,
      graceMs: 3500,
      repeats: 0,
      escalated: true,
      forced: false,
      killReason: 'deadline',
      traffic: null,
      killSignal: 'SIGKILL',
      killSentAfterMs: 3500,
      treeGoneAfterMs: null,
    });
    expect(report.exit).toEqual({ code: null, signal: 'SIGKILL', shutdownMs: 3503, uptimeMs: 3753 });
    expect(report).toMatchObject({ startedAt: '2026-01-01T00:00:00.000Z', exitStatus: 137, verdict: 'escalated', policy: { timeoutMs: 1000, killSignal: 'SIGKILL' } });
    expect(summary(sim)).toBe('app (pid 100) had to be killed: SIGTERM received, SIGTERM sent at +0ms, SIGKILL sent at +3.50s (grace period of 3.50s over), died of SIGKILL at +3.50s; exit status 137 [escalated]');
  });

  it('a pre-stop hook, a forced kill, and the rest of the tree', () => {
    const sim = Sim.started({ preStop: 'deregister', timeoutMs: 30_000 });
    sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
    sim.now = 120;
    sim.feed({ type: 'pre-stop-exited', code: 0, signal: null, error: null });
    sim.now = 900;
    sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
    sim.now = 910;
    sim.feed({ ...died('SIGKILL', 9), survivors: 1 });
    sim.now = 960;
    sim.feed({ type: 'tree-empty' });
    const report = buildReport(sim.state.facts, options(sim), sim.status!, wall, extras);
    expect(report.stop).toMatchObject({
      preStop: { command: 'deregister', durationMs: 120, exitCode: 0, signal: null, error: null, cancelled: false },
      signalSentAfterMs: 120,
      graceMs: 30_000,
      repeats: 0,
      forced: true,
      killReason: 'second-signal',
      killSentAfterMs: 900,
      treeGoneAfterMs: 960,
    });
    expect(report.exit).toMatchObject({ shutdownMs: 910 });
    expect(summary(sim)).toBe('app (pid 100) was killed on request: SIGINT received, pre-stop done after 120ms, SIGINT sent at +120ms, SIGKILL sent at +900ms (second Ctrl+C), died of SIGKILL at +910ms, the rest of its tree gone at +960ms; exit status 137 [escalated]');
  });

  // npm start dies of SIGTERM at once; node server.js, behind it, drains and exits 0 later:
  // the work ended when the app did, and both reports say so from the one timeline.
  it('behind a launcher that did not wait: the shutdown time, the status and the verdict are the app\'s', () => {
    const sim = new Sim({ ...basePolicy, timeoutMs: 5000 }, ['npm', 'start']);
    sim.feed({ type: 'started', pid: 100 });
    sim.now = 50;
    sim.feed({ type: 'app-found', pid: 200, command: 'node server.js' });
    sim.now = 1000;
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.now = 1011;
    sim.feed({ ...died('SIGTERM', 15, 1), appAlive: true });
    sim.now = 2200;
    sim.feed({ type: 'app-exited', code: 0, signal: null, signo: null, known: true, survivors: 0 });
    sim.feed({ type: 'tree-empty' });
    expect(sim.status).toBe(0);
    const report = buildReport(sim.state.facts, options(sim), sim.status!, wall, extras);
    expect(report.exit).toEqual({ code: null, signal: 'SIGTERM', shutdownMs: 1200, uptimeMs: 1011 });
    expect(report.app).toEqual({ pid: 200, command: 'node server.js', exit: { code: 0, signal: null, known: true }, exitAfterMs: 1200, signalSentAfterMs: null, outlivedLauncher: true });
    expect(report).toMatchObject({ exitStatus: 0, verdict: 'clean' });
    expect(summary(sim)).toBe(
      'node server.js (pid 200) stopped cleanly: SIGTERM received, SIGTERM sent at +0ms, exited with code 0 at +1.20s; its launcher npm start (pid 100) died of SIGTERM at +11ms without waiting for it: in a container, PID 1 exiting kills the program mid-request: run the program directly (CMD ["node", "server.js"]), put `exec` before the command in the package.json script, or keep graceful as PID 1; exit status 0 [clean]',
    );
  });

  // The clock is performance.now(): fractions of a millisecond. Each figure is rounded once,
  // by the timeline, so the report's figures are whole and agree with the summary's.
  it('every duration is whole milliseconds, however fractional the clock', () => {
    const sim = new Sim({ ...basePolicy, timeoutMs: 5000, preStop: 'deregister' }, ['npm', 'start']);
    sim.now = 0.4;
    sim.feed({ type: 'started', pid: 100 });
    sim.now = 3.3;
    sim.feed({ type: 'app-found', pid: 200, command: 'node server.js' });
    sim.now = 10.6;
    sim.feed({ type: 'app-phase', pid: 200, phase: { phase: 'ready', uptimeMs: 10 } });
    sim.now = 1000.7;
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.now = 1120.2;
    sim.feed({ type: 'pre-stop-exited', code: 0, signal: null, error: null });
    sim.now = 1131.9;
    sim.feed({ ...died('SIGTERM', 15, 1), appAlive: true });
    sim.now = 2200.5;
    sim.feed({ type: 'app-exited', code: 0, signal: null, signo: null, known: true, survivors: 0 });
    sim.now = 2201.8;
    sim.feed({ type: 'tree-empty' });
    const report = buildReport(sim.state.facts, options(sim), sim.status!, wall, extras);
    const fractional: string[] = [];
    const walk = (value: unknown, path: string): void => {
      if (typeof value === 'number' && /Ms$/.test(path) && !Number.isInteger(value)) fractional.push(`${path}: ${value}`);
      if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`);
    };
    walk(report, 'report');
    expect(fractional).toEqual([]);
    expect(report.exit).toMatchObject({ shutdownMs: 1200, uptimeMs: 1132 });
    expect(report.app).toMatchObject({ exitAfterMs: 1200 });
    expect(report.stop).toMatchObject({ signalSentAfterMs: 120, preStop: { durationMs: 120 }, treeGoneAfterMs: 1201 });
  });
});
