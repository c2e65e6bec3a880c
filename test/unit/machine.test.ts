// The shutdown machine on a fake clock: exact times, every branch of the sequence.
import { describe, expect, it } from 'vitest';
import { ECHO_WINDOW_MS } from '../../src/core/machine.js';
import { exitStatus, timeline } from '../../src/core/timeline.js';
import type { Policy } from '../../src/core/types.js';
import { basePolicy, Sim } from './sim.js';

const exitCode = (code: number) => ({ type: 'child-exited' as const, code, signal: null, signo: null, survivors: 0 });
const died = (signal: string, signo: number, survivors = 0) => ({ type: 'child-exited' as const, code: null, signal, signo, survivors });

describe('a stop request', () => {
  it('sends the received signal at once, arms the deadline from the request, exits with the child', () => {
    const sim = Sim.started();
    sim.now = 1000;
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    expect(sim.sends()).toEqual(['1000 SIGTERM tree']);
    expect(sim.armed.get('deadline')).toBe(31_000);
    sim.advanceTo(2000);
    sim.feed(exitCode(0));
    expect(sim.status).toBe(0);
    expect(sim.armed.size).toBe(0);
    const tl = timeline(sim.state.facts, sim.policy);
    expect(tl).toMatchObject({ verdict: 'clean', shutdownMs: 1000, signalSentAfterMs: 0, escalated: false });
  });

  it('sends before it arms or cancels a timer: the child does not wait on bookkeeping', () => {
    const sim = Sim.started({ sigcont: true });
    const actions = sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    expect(actions.map((a) => a.type)).toEqual(['send', 'send', 'cancel', 'arm']);
  });

  it('escalates exactly at the deadline: 137, escalated', () => {
    const sim = Sim.started({ timeoutMs: 2000 });
    sim.now = 500;
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.advanceTo(10_000);
    expect(sim.sends()).toEqual(['500 SIGTERM tree', '2500 SIGKILL tree']);
    expect(sim.state.phase.kind).toBe('killed');
    sim.feed(died('SIGKILL', 9));
    expect(sim.status).toBe(137);
    expect(timeline(sim.state.facts, sim.policy)).toMatchObject({ verdict: 'escalated', killSentAfterMs: 2000 });
  });

  it('follows the stop signal with SIGCONT when asked (systemd)', () => {
    const sim = Sim.started({ sigcont: true });
    sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
    expect(sim.sends()).toEqual(['0 SIGINT tree', '0 SIGCONT tree']);
  });

  it('--stop-signal rewrites the signal; a death by it is signal-default', () => {
    const sim = Sim.started({ stopSignal: 'SIGQUIT' });
    sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
    expect(sim.sends()).toEqual(['0 SIGQUIT tree']);
    sim.now = 3;
    sim.feed(died('SIGQUIT', 3));
    expect(sim.status).toBe(131);
    expect(timeline(sim.state.facts, sim.policy).verdict).toBe('signal-default');
  });

  it('--no-kill arms no deadline and never escalates, even on a second SIGINT', () => {
    const sim = Sim.started({ kill: false });
    sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
    sim.now = 300;
    sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
    sim.advanceTo(10_000_000);
    expect(sim.armed.size).toBe(0);
    expect(sim.sends()).toEqual(['0 SIGINT tree', '300 SIGINT tree']);
  });

  it('a second SIGINT forces the kill at once; a repeated SIGTERM is sent again', () => {
    const sim = Sim.started();
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.now = 250;
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.now = 300;
    sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
    expect(sim.sends()).toEqual(['0 SIGTERM tree', '250 SIGTERM tree', '300 SIGKILL tree']);
    expect(sim.armed.has('deadline')).toBe(false);
    expect(sim.state.facts.stop).toMatchObject({ repeats: 1, forced: true, killSentAt: 300, trigger: 'SIGTERM' });
    // Already killing: more requests are counted, nothing more is sent.
    sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
    expect(sim.sends()).toHaveLength(3);
  });

  it('SIGINT then SIGTERM: the SIGTERM is passed on as it came; --stop-signal still rewrites it', () => {
    const sim = Sim.started();
    sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
    sim.now = 500;
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    expect(sim.sends()).toEqual(['0 SIGINT tree', '500 SIGTERM tree']);
    const rewritten = Sim.started({ stopSignal: 'SIGQUIT' });
    rewritten.feed({ type: 'stop-requested', signal: 'SIGINT' });
    rewritten.now = 500;
    rewritten.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    expect(rewritten.sends()).toEqual(['0 SIGQUIT tree', '500 SIGQUIT tree']);
  });

  it('a copy of the first SIGINT within the echo window is the same keypress, not a force', () => {
    const sim = Sim.started();
    sim.now = 1000;
    sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
    sim.now = 1000 + ECHO_WINDOW_MS - 1;
    sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
    expect(sim.sends()).toEqual(['1000 SIGINT tree']);
    expect(sim.state.facts.stop!.repeats).toBe(1);
    sim.now = 1000 + ECHO_WINDOW_MS;
    sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
    expect(sim.sends()).toEqual(['1000 SIGINT tree', `${1000 + ECHO_WINDOW_MS} SIGKILL tree`]);
  });

  it('a stop before the child exists starts when it does, with the deadline from the request', () => {
    const sim = new Sim({ ...basePolicy, timeoutMs: 1000 });
    sim.now = 5;
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    expect(sim.sends()).toEqual([]);
    sim.now = 20;
    sim.feed({ type: 'started', pid: 7 });
    expect(sim.sends()).toEqual(['20 SIGTERM tree']);
    expect(sim.armed.get('deadline')).toBe(1005);
  });
});

describe('pre-stop and stop delay', () => {
  const policy = { preStop: 'deregister', stopDelayMs: 500, timeoutMs: 5000 };

  it('runs the hook, waits the delay after it, then signals; all inside the grace period', () => {
    const sim = Sim.started(policy);
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    expect(sim.log.map((a) => a.type)).toContain('run-pre-stop');
    expect(sim.state.phase.kind).toBe('pre-stop');
    sim.now = 300;
    sim.feed({ type: 'pre-stop-exited', code: 0, signal: null, error: null });
    expect(sim.armed.get('stop-delay')).toBe(800);
    sim.advanceTo(900);
    expect(sim.sends()).toEqual(['800 SIGTERM tree']);
    expect(sim.armed.get('deadline')).toBe(5000);
    sim.feed(exitCode(0));
    expect(timeline(sim.state.facts, sim.policy)).toMatchObject({ verdict: 'clean', preStopMs: 300, signalSentAfterMs: 800 });
  });

  it('a failed hook is recorded and the stop goes on', () => {
    const sim = Sim.started({ preStop: 'false' });
    sim.now = 10;
    sim.feed({ type: 'pre-stop-exited', code: null, signal: null, error: null }); // stale: no stop yet
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.now = 40;
    sim.feed({ type: 'pre-stop-exited', code: 1, signal: null, error: null });
    expect(sim.sends()).toEqual(['40 SIGTERM tree']);
    expect(sim.state.facts.stop!.preStop).toMatchObject({ code: 1, endedAt: 40 });
  });

  it('a hook still running at the deadline is cancelled and the child killed without a stop signal', () => {
    const sim = Sim.started({ preStop: 'sleep 60', timeoutMs: 1000 });
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.advanceTo(1000);
    expect(sim.log.filter((a) => a.type === 'cancel-pre-stop')).toHaveLength(1);
    expect(sim.sends()).toEqual(['1000 SIGKILL tree']);
    expect(sim.state.facts.stop!.preStop!.cancelled).toBe(true);
    sim.now = 1100;
    sim.feed({ type: 'pre-stop-exited', code: null, signal: 'SIGKILL', error: null });
    expect(sim.sends()).toHaveLength(1);
  });

  it('a second SIGINT during the hook forces the kill', () => {
    const sim = Sim.started(policy);
    sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
    sim.now = 500;
    sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
    expect(sim.sends()).toEqual(['500 SIGKILL tree']);
  });

  it('a repeated SIGTERM during the delay sends nothing early', () => {
    const sim = Sim.started({ stopDelayMs: 500 });
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.now = 100;
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    expect(sim.sends()).toEqual([]);
    sim.advanceTo(600);
    expect(sim.sends()).toEqual(['500 SIGTERM tree']);
  });

  it('the child exiting during the hook ends the run; the hook is cancelled', () => {
    const sim = Sim.started(policy);
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.now = 10;
    sim.feed(exitCode(0));
    expect(sim.log.filter((a) => a.type === 'cancel-pre-stop')).toHaveLength(1);
    expect(sim.status).toBe(0);
    expect(sim.sends()).toEqual([]);
  });

  it('the child exiting during the delay ends the run without a signal', () => {
    const sim = Sim.started({ stopDelayMs: 500 });
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.now = 100;
    sim.feed(exitCode(0));
    sim.advanceTo(1000);
    expect(sim.sends()).toEqual([]);
    expect(sim.status).toBe(0);
  });
});

describe('kill modes', () => {
  it('mixed: the stop signal to the main process, the kill signal to the tree', () => {
    const sim = Sim.started({ killMode: 'mixed', timeoutMs: 1000 });
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.advanceTo(1000);
    expect(sim.sends()).toEqual(['0 SIGTERM main', '1000 SIGKILL tree']);
  });

  it('process: both to the main process only', () => {
    const sim = Sim.started({ killMode: 'process', timeoutMs: 1000 });
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.advanceTo(1000);
    expect(sim.sends()).toEqual(['0 SIGTERM main', '1000 SIGKILL main']);
  });

  it('forwarded signals follow the stop target; job control stops the child, then graceful', () => {
    const group = Sim.started();
    group.feed({ type: 'forward', signal: 'SIGHUP' });
    group.feed({ type: 'suspend', signal: 'SIGTSTP' });
    expect(group.sends()).toEqual(['0 SIGHUP tree', '0 SIGSTOP tree']);
    expect(group.log.at(-1)!.type).toBe('suspend-self');
    expect(group.state.facts.forwarded).toEqual({ SIGHUP: 1, SIGTSTP: 1 });
    const mixed = Sim.started({ killMode: 'mixed' });
    mixed.feed({ type: 'forward', signal: 'SIGUSR1' });
    expect(mixed.sends()).toEqual(['0 SIGUSR1 main']);
  });
});

// Terminal mode (issue 11): the child shares graceful's process group, so the terminal's
// signals (and a shell's fg, or its SIGHUP at a hang-up) reach it directly; they come with
// `delivered`. Each must reach each process once.
describe('terminal mode', () => {
  const onTerminal = (policy: Partial<Policy> = {}) => {
    const sim = new Sim({ ...basePolicy, ...policy });
    sim.feed({ type: 'started', pid: 100, terminal: true });
    return sim;
  };

  it('Ctrl+C: the child has its SIGINT already; only the tree outside the group gets one, the countdown runs', () => {
    const sim = onTerminal({ sigcont: true, timeoutMs: 5000 });
    sim.now = 1000;
    sim.feed({ type: 'stop-requested', signal: 'SIGINT', delivered: true });
    expect(sim.sends()).toEqual(['1000 SIGINT outside-group', '1000 SIGCONT outside-group']);
    expect(sim.armed.get('deadline')).toBe(6000);
    expect(sim.state.facts.stop).toMatchObject({ signal: 'SIGINT', signalSentAt: 1000, delivered: true });
    sim.now = 1200;
    sim.feed(exitCode(0));
    expect(sim.status).toBe(0);
    expect(timeline(sim.state.facts, sim.policy)).toMatchObject({ verdict: 'clean', signalSentAfterMs: 0, shutdownMs: 200 });
  });

  it('Ctrl+C with the stop signal for the main process only (mixed, process): nothing is sent', () => {
    for (const killMode of ['mixed', 'process'] as const) {
      const sim = onTerminal({ killMode, sigcont: true });
      sim.feed({ type: 'stop-requested', signal: 'SIGINT', delivered: true });
      expect(sim.sends()).toEqual([]);
      expect(sim.state.phase.kind).toBe('signalled');
    }
  });

  it('--stop-signal: the chosen signal still goes to the whole tree (the terminal sent SIGINT)', () => {
    const sim = onTerminal({ stopSignal: 'SIGTERM' });
    sim.feed({ type: 'stop-requested', signal: 'SIGINT', delivered: true });
    expect(sim.sends()).toEqual(['0 SIGTERM tree']);
  });

  it('with --stop-delay, the child had the SIGINT at the request; the rest of the tree gets it after the delay', () => {
    const sim = onTerminal({ stopDelayMs: 500 });
    sim.feed({ type: 'stop-requested', signal: 'SIGINT', delivered: true });
    sim.advanceTo(500);
    expect(sim.sends()).toEqual(['500 SIGINT outside-group']);
    expect(sim.state.facts.stop).toMatchObject({ signalSentAt: 0 });
  });

  it('a copy within the echo window is nothing; a second Ctrl+C forces the kill of the whole tree', () => {
    const sim = onTerminal();
    sim.feed({ type: 'stop-requested', signal: 'SIGINT', delivered: true });
    sim.now = ECHO_WINDOW_MS - 1;
    sim.feed({ type: 'stop-requested', signal: 'SIGINT', delivered: true });
    sim.now = 400;
    sim.feed({ type: 'stop-requested', signal: 'SIGINT', delivered: true });
    expect(sim.sends()).toEqual(['0 SIGINT outside-group', '400 SIGKILL tree']);
    sim.feed(died('SIGKILL', 9));
    expect(sim.status).toBe(137);
  });

  it('--no-kill: a second Ctrl+C is not sent again to the group the terminal signalled', () => {
    const sim = onTerminal({ kill: false });
    sim.feed({ type: 'stop-requested', signal: 'SIGINT', delivered: true });
    sim.now = 400;
    sim.feed({ type: 'stop-requested', signal: 'SIGINT', delivered: true });
    expect(sim.sends()).toEqual(['0 SIGINT outside-group', '400 SIGINT outside-group']);
  });

  it('SIGTERM (from kill, to graceful alone) goes to the whole tree as off a terminal', () => {
    const sim = onTerminal();
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    expect(sim.sends()).toEqual(['0 SIGTERM tree']);
  });

  it('a resize, fg or Ctrl+\\ is not sent again (a daemon outside the job does not get it, as without graceful); SIGUSR1 to graceful is forwarded', () => {
    const sim = onTerminal();
    sim.feed({ type: 'forward', signal: 'SIGWINCH', delivered: true });
    sim.feed({ type: 'forward', signal: 'SIGCONT', delivered: true });
    sim.feed({ type: 'forward', signal: 'SIGQUIT', delivered: true });
    sim.feed({ type: 'forward', signal: 'SIGUSR1' });
    expect(sim.sends()).toEqual(['0 SIGUSR1 tree']);
    expect(sim.state.facts.forwarded).toEqual({ SIGUSR1: 1 });
  });

  it('Ctrl+Z: the child takes it or not; graceful stops when the child has stopped, not before', () => {
    const sim = onTerminal();
    expect(sim.feed({ type: 'suspend', signal: 'SIGTSTP', delivered: true })).toEqual([]);
    expect(sim.feed({ type: 'child-stopped' })).toEqual([{ type: 'suspend-self' }]);
    // Off a terminal, a stopped child does not stop graceful (someone's SIGSTOP, or graceful's own).
    expect(Sim.started().feed({ type: 'child-stopped' })).toEqual([]);
  });

  it('a hang-up with --interactive stops the child with SIGHUP, which the shell already sent it', () => {
    const sim = onTerminal();
    sim.feed({ type: 'stop-requested', signal: 'SIGHUP', delivered: true });
    expect(sim.sends()).toEqual(['0 SIGHUP outside-group']);
    expect(sim.state.facts.stop).toMatchObject({ trigger: 'SIGHUP', signal: 'SIGHUP' });
    const leader = onTerminal();
    leader.feed({ type: 'stop-requested', signal: 'SIGHUP' });
    expect(leader.sends()).toEqual(['0 SIGHUP tree']);
  });
});

describe('the rest of the tree after the main process exits', () => {
  it('group, during a stop: the rest has the remainder of the grace period, then the kill', () => {
    const sim = Sim.started({ timeoutMs: 1000 });
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.now = 100;
    sim.feed({ ...exitCode(0), survivors: 2 });
    expect(sim.state.phase).toEqual({ kind: 'draining', killed: false });
    expect(sim.log.some((a) => a.type === 'watch-tree')).toBe(true);
    sim.advanceTo(1000);
    expect(sim.sends()).toEqual(['0 SIGTERM tree', '1000 SIGKILL tree']);
    sim.now = 1020;
    sim.feed({ type: 'tree-empty' });
    expect(sim.status).toBe(0);
    expect(timeline(sim.state.facts, sim.policy)).toMatchObject({ verdict: 'escalated', shutdownMs: 100, treeGoneAfterMs: 1020 });
  });

  it('group, on its own: the rest is stopped with the full sequence', () => {
    const sim = Sim.started({ timeoutMs: 1000 });
    sim.now = 5000;
    sim.feed({ ...exitCode(3), survivors: 1 });
    expect(sim.sends()).toEqual(['5000 SIGTERM tree']);
    expect(sim.armed.get('deadline')).toBe(6000);
    sim.now = 5200;
    sim.feed({ type: 'tree-empty' });
    expect(sim.status).toBe(3);
    expect(sim.armed.size).toBe(0);
    expect(timeline(sim.state.facts, sim.policy)).toMatchObject({ verdict: 'crashed', requested: false, escalated: false });
  });

  it('group, main exited before the stop signal was sent: the rest gets it now', () => {
    const sim = Sim.started({ stopDelayMs: 500 });
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.now = 100;
    sim.feed({ ...exitCode(0), survivors: 1 });
    expect(sim.sends()).toEqual(['100 SIGTERM tree']);
    expect(sim.armed.has('stop-delay')).toBe(false);
  });

  it('mixed: the rest is killed as soon as the main process is gone (systemd)', () => {
    const sim = Sim.started({ killMode: 'mixed' });
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.now = 100;
    sim.feed({ ...exitCode(0), survivors: 3 });
    expect(sim.sends()).toEqual(['0 SIGTERM main', '100 SIGKILL tree']);
    expect(sim.armed.size).toBe(0);
    expect(sim.state.phase).toEqual({ kind: 'draining', killed: true });
  });

  it('process: the rest is left alone', () => {
    const sim = Sim.started({ killMode: 'process' });
    sim.feed({ ...exitCode(0), survivors: 3 });
    expect(sim.status).toBe(0);
    expect(sim.sends()).toEqual([]);
  });

  it('after the kill: the rest is killed again, for anything forked since', () => {
    const sim = Sim.started({ timeoutMs: 100 });
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.advanceTo(100);
    sim.now = 110;
    sim.feed({ ...died('SIGKILL', 9), survivors: 1 });
    expect(sim.sends()).toEqual(['0 SIGTERM tree', '100 SIGKILL tree', '110 SIGKILL tree']);
    sim.feed({ type: 'tree-empty' });
    expect(sim.status).toBe(137);
  });
});

describe('exit status', () => {
  it('passes codes through, 128 + n for signals, 0 for listed successes, 126/127 for spawn failures', () => {
    const run = (policy: Partial<typeof basePolicy>, exit: ReturnType<typeof exitCode> | ReturnType<typeof died>) => {
      const sim = Sim.started(policy);
      sim.feed(exit);
      return sim.status;
    };
    expect(run({}, exitCode(0))).toBe(0);
    expect(run({}, exitCode(143))).toBe(143);
    expect(run({ success: { codes: [143], signals: [] } }, exitCode(143))).toBe(0);
    expect(run({}, died('SIGTERM', 15))).toBe(143);
    expect(run({ success: { codes: [], signals: ['SIGTERM'] } }, died('SIGTERM', 15))).toBe(0);
    // A code does not match a signal death with the same status: systemd's rule.
    expect(run({ success: { codes: [143], signals: [] } }, died('SIGTERM', 15))).toBe(143);

    const failed = new Sim();
    failed.feed({ type: 'spawn-failed', status: 127, message: 'x: command not found' });
    expect(failed.status).toBe(127);
    expect(exitStatus(failed.state.facts, failed.policy)).toBe(127);
    expect(timeline(failed.state.facts, failed.policy).verdict).toBe('not-started');
  });
});

describe('force (graceful up: a second Ctrl+C to the stack)', () => {
  it('running: the stop signal, then the kill signal at once, recorded as a second Ctrl+C', () => {
    const sim = Sim.started({ timeoutMs: 10_000 });
    sim.now = 50;
    sim.feed({ type: 'force', signal: 'SIGINT' });
    expect(sim.sends()).toEqual(['50 SIGINT tree', '50 SIGKILL tree']);
    expect(sim.state.phase.kind).toBe('killed');
    expect(sim.state.facts.stop).toMatchObject({ trigger: 'SIGINT', forced: true, killReason: 'second-signal', killSentAt: 50 });
  });

  it('stopping: the kill signal now, whenever the stop began (the stack judges the echo)', () => {
    const sim = Sim.started({ timeoutMs: 10_000 });
    sim.now = 10;
    sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
    sim.now = 20;
    sim.feed({ type: 'force', signal: 'SIGINT' });
    expect(sim.sends()).toEqual(['10 SIGINT tree', '20 SIGKILL tree']);
    expect(sim.state.facts.stop).toMatchObject({ forced: true, killReason: 'second-signal' });
  });

  it('--no-kill: never a kill, only the stop request', () => {
    const sim = Sim.started({ kill: false });
    sim.feed({ type: 'force', signal: 'SIGINT' });
    expect(sim.sends()).toEqual(['0 SIGINT tree']);
  });

  it('already killed or done: nothing more', () => {
    const sim = Sim.started();
    sim.feed({ type: 'force', signal: 'SIGINT' });
    const before = sim.sends().length;
    sim.feed({ type: 'force', signal: 'SIGINT' });
    expect(sim.sends().length).toBe(before);
  });
});

describe('every event in every phase', () => {
  // Drives the machine into each phase, then feeds it every kind of event: none may throw,
  // and a finished run never sends anything again.
  const phases: Record<string, () => Sim> = {
    starting: () => new Sim(),
    running: () => Sim.started(),
    'pre-stop': () => {
      const s = Sim.started({ preStop: 'x' });
      s.feed({ type: 'stop-requested', signal: 'SIGTERM' });
      return s;
    },
    delaying: () => {
      const s = Sim.started({ stopDelayMs: 100 });
      s.feed({ type: 'stop-requested', signal: 'SIGTERM' });
      return s;
    },
    signalled: () => {
      const s = Sim.started();
      s.feed({ type: 'stop-requested', signal: 'SIGTERM' });
      return s;
    },
    killed: () => {
      const s = Sim.started();
      s.feed({ type: 'stop-requested', signal: 'SIGTERM' });
      s.feed({ type: 'stop-requested', signal: 'SIGINT' });
      return s;
    },
    draining: () => {
      const s = Sim.started();
      s.feed({ ...exitCode(0), survivors: 1 });
      return s;
    },
    done: () => {
      const s = Sim.started();
      s.feed(exitCode(0));
      return s;
    },
  };
  const events = [
    { type: 'started', pid: 5 },
    { type: 'spawn-failed', status: 127, message: 'x' },
    { type: 'stop-requested', signal: 'SIGTERM' },
    { type: 'stop-requested', signal: 'SIGINT' },
    { type: 'forward', signal: 'SIGHUP' },
    { type: 'forward', signal: 'SIGWINCH', delivered: true },
    { type: 'stop-requested', signal: 'SIGINT', delivered: true },
    { type: 'suspend', signal: 'SIGTSTP' },
    { type: 'suspend', signal: 'SIGTSTP', delivered: true },
    { type: 'child-stopped' },
    { type: 'timer', timer: 'deadline' },
    { type: 'timer', timer: 'stop-delay' },
    { type: 'pre-stop-exited', code: 0, signal: null, error: null },
    exitCode(0),
    { ...exitCode(0), survivors: 2 },
    { type: 'tree-empty' },
    { type: 'force', signal: 'SIGINT' },
  ] as const;
  for (const [name, make] of Object.entries(phases)) {
    it(`${name}: answers all ${events.length} events`, () => {
      for (const event of events) {
        const sim = make();
        expect(sim.state.phase.kind).toBe(name);
        expect(() => sim.feed(event as never)).not.toThrow();
        if (name === 'done') expect(sim.sends().length).toBe(0);
      }
    });
  }
});
