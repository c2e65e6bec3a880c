// The shutdown machine on a fake clock: exact times, every branch of the sequence.
import { describe, expect, it } from 'vitest';
import { ECHO_WINDOW_MS, MAX_PHASES } from '../../src/core/machine.js';
import { exitStatus, timeline } from '../../src/core/timeline.js';
import type { Action, Event, MachinePhase, Policy, SignalName } from '../../src/core/types.js';
import { basePolicy, Sim, type Input } from './sim.js';

const exitCode = (code: number) => ({ type: 'child-exited' as const, code, signal: null, signo: null, survivors: 0 });
const died = (signal: SignalName, signo: number, survivors = 0) => ({ type: 'child-exited' as const, code: null, signal, signo, survivors });

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

  it('on a platform that signalled every process itself (Heroku), sends the stop signal to none again, and still kills at the deadline', () => {
    const sim = Sim.started({ platformSignalsTree: true, timeoutMs: 2000 });
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.now = 300;
    // "It's possible for processes being shut down to receive multiple SIGTERMs."
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.advanceTo(5000);
    expect(sim.sends()).toEqual(['2000 SIGKILL tree']);
    expect(sim.state.facts.stop).toMatchObject({ signal: 'SIGTERM', signalSentAt: 0, repeats: 1 });
    // A stop signal of graceful's own choosing is another signal: that one it sends.
    const quit = Sim.started({ platformSignalsTree: true, stopSignal: 'SIGQUIT' });
    quit.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    expect(quit.sends()).toEqual(['0 SIGQUIT tree']);
  });

  // --stop-delay auto (issue 23): the stop signal waits for the load balancer to stop sending
  // work, read from the program's sockets: quiet for quietMs, not before floorMs, not after capMs.
  describe('--stop-delay auto', () => {
    const auto = { floorMs: 1000, quietMs: 500, capMs: 8000 };
    // A reading of the watch, begun at `seenUntil` (now, unless said).
    const traffic = (arrivals: number, lastArrivalAt: number | null, watched = true, seenUntil?: number | null) => ({ type: 'traffic' as const, arrivals, lastArrivalAt, watched, seenUntil: seenUntil === undefined ? null : seenUntil });
    // Readings every 100 ms from `from` to `to`, each seeing `arrivals` with the last at `last`.
    const readings = (sim: Sim, from: number, to: number, arrivals = 0, last: number | null = null) => {
      for (let t = from; t <= to; t += 100) {
        sim.advanceTo(t);
        sim.feed(traffic(arrivals, last, true, t));
      }
    };

    it('with no work arriving, sends at the floor; the watch starts with the request and stops with the signal', () => {
      const sim = Sim.started({ stopDelayAuto: auto });
      sim.now = 100;
      const actions = sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
      expect(actions.map((a) => a.type)).toContain('watch-traffic');
      // Nothing is known before the first reading: the cap, until a reading says otherwise.
      expect(sim.armed.get('stop-delay')).toBe(8100);
      readings(sim, 200, 2000);
      expect(sim.sends()).toEqual(['1100 SIGTERM tree']);
      expect(sim.log.some((a) => a.type === 'unwatch-traffic')).toBe(true);
    });

    it('each arrival moves the signal to quietMs after it; the report keeps the count and the last one', () => {
      const sim = Sim.started({ stopDelayAuto: auto });
      sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
      readings(sim, 100, 800);
      readings(sim, 900, 1200, 4, 900);
      readings(sim, 1300, 10_000, 9, 1300);
      expect(sim.sends()).toEqual(['1800 SIGTERM tree']);
      expect(sim.state.facts.stop!.traffic).toEqual({ arrivals: 9, lastArrivalAt: 1300, watched: true, seenUntil: 1800 });
    });

    it('never later than the cap, however long the work keeps coming', () => {
      const sim = Sim.started({ stopDelayAuto: auto });
      sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
      for (let t = 200; t < 9000; t += 200) {
        sim.advanceTo(t);
        sim.feed(traffic(t / 200, t, true, t));
      }
      expect(sim.sends()[0]).toBe('8000 SIGTERM tree');
    });

    it('a reading that is already past its time sends at once; readings after the signal change nothing', () => {
      const sim = Sim.started({ stopDelayAuto: { ...auto, floorMs: 0 } });
      sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
      sim.now = 700;
      sim.feed(traffic(1, 100, true, 700));
      expect(sim.sends()).toEqual(['700 SIGTERM tree']);
      sim.feed(traffic(2, 700, true, 700));
      expect(sim.sends()).toEqual(['700 SIGTERM tree']);
    });

    it('a reading that comes late does not pass for quiet: the signal waits for one begun after the quiet window', () => {
      // The fleet bench on a machine loaded 24 on 2 cores: the first reading took 2 s, and the
      // load balancer was still sending.
      const sim = Sim.started({ stopDelayAuto: auto });
      sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
      // No reading until 2000: the floor (1000) passes on no evidence.
      sim.advanceTo(2000);
      expect(sim.sends()).toEqual([]);
      // One begun at 100 (before the quiet window's end): still not enough.
      sim.feed(traffic(30, 1900, true, 100));
      sim.advanceTo(2300);
      expect(sim.sends()).toEqual([]);
      // Begun at 2300, it saw the last arrival at 1900: quiet from 2400, once a reading says so.
      sim.feed(traffic(31, 1900, true, 2300));
      sim.advanceTo(2400);
      expect(sim.sends()).toEqual([]);
      sim.advanceTo(2450);
      sim.feed(traffic(31, 1900, true, 2450));
      expect(sim.sends()).toEqual(['2450 SIGTERM tree']);
    });

    it('when graceful cannot watch, it waits the floor', () => {
      const sim = Sim.started({ stopDelayAuto: { ...auto, floorMs: 2000 } });
      sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
      sim.now = 50;
      sim.feed(traffic(0, null, false));
      sim.advanceTo(5000);
      expect(sim.sends()[0]).toBe('2000 SIGTERM tree');
      expect(sim.state.facts.stop!.traffic!.watched).toBe(false);
    });

    it('the deadline still wins, and a second Ctrl+C kills at once', () => {
      const sim = Sim.started({ stopDelayAuto: { floorMs: 0, quietMs: 500, capMs: 8000 }, timeoutMs: 3000 });
      sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
      sim.now = 400;
      sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
      expect(sim.sends()).toEqual(['400 SIGKILL tree']);
    });
  });

  it('follows the stop signal with SIGCONT when asked (systemd)', () => {
    const sim = Sim.started({ sigcont: true });
    sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
    expect(sim.sends()).toEqual(['0 SIGINT tree', '0 SIGCONT tree']);
  });

  it('sends no SIGCONT after a stop signal that cannot be caught, nor a second SIGCONT', () => {
    // SIGKILL: the process is gone whether stopped or not; SIGCONT: it already woke it.
    for (const stopSignal of ['SIGKILL', 'SIGCONT'] as const) {
      const sim = Sim.started({ sigcont: true, stopSignal });
      sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
      expect(sim.sends(), stopSignal).toEqual([`0 ${stopSignal} tree`]);
      expect(sim.state.facts.stop?.sigcontSentAt, stopSignal).toBe(null);
    }
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

  it('a death by another signal while stopping is a failure, not a missing handler', () => {
    const sim = Sim.started();
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.now = 40;
    sim.feed(died('SIGSEGV', 11));
    expect(sim.status).toBe(139);
    expect(timeline(sim.state.facts, sim.policy).verdict).toBe('failed');
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

// --ready and sd_notify (READY=1, STOPPING=1, EXTEND_TIMEOUT_USEC), on the fake clock.
describe('readiness and what the child says (sd_notify)', () => {
  const ready = (policy: Partial<Policy> = {}) => {
    const sim = new Sim({ ...basePolicy, readyTimeoutMs: 5000, ...policy });
    sim.now = 100;
    sim.feed({ type: 'started', pid: 100 });
    return sim;
  };

  it('ready in time: the ready timeout is cancelled, the time is recorded, nothing is sent', () => {
    const sim = ready();
    expect(sim.armed.get('ready-timeout')).toBe(5100);
    sim.now = 1300;
    expect(sim.feed({ type: 'ready' })).toEqual([{ type: 'cancel', timer: 'ready-timeout' }]);
    sim.now = 1900;
    expect(sim.feed({ type: 'ready' })).toEqual([]); // a second READY=1 changes nothing
    sim.advanceTo(60_000);
    expect(sim.sends()).toEqual([]);
    sim.feed(exitCode(0));
    expect(timeline(sim.state.facts, sim.policy)).toMatchObject({ verdict: 'exited', readyMs: 1200, uptimeMs: 59_900 });
  });

  it('not ready in time: stopped at the ready deadline with the whole sequence, exit 124, not-ready', () => {
    const sim = ready({ timeoutMs: 2000 });
    sim.advanceTo(5100);
    expect(sim.sends()).toEqual(['5100 SIGTERM tree']);
    expect(sim.state.facts.stop).toMatchObject({ trigger: 'ready-timeout', requestedAt: 5100, deadline: 7100 });
    sim.now = 5400;
    expect(sim.feed({ type: 'ready' })).toEqual([]); // too late to count
    sim.feed(exitCode(0));
    expect(sim.status).toBe(124);
    expect(timeline(sim.state.facts, sim.policy)).toMatchObject({ verdict: 'not-ready', readyMs: null, shutdownMs: 300 });
  });

  it('EXTEND_TIMEOUT_USEC while starting moves the ready deadline later, never earlier', () => {
    const sim = ready();
    sim.now = 1000;
    expect(sim.feed({ type: 'extend-timeout', ms: 10_000 })).toEqual([{ type: 'arm', timer: 'ready-timeout', at: 11_000 }]);
    sim.now = 2000;
    expect(sim.feed({ type: 'extend-timeout', ms: 1000 })).toEqual([]); // until 3000: earlier than 11000
    sim.advanceTo(10_999);
    expect(sim.sends()).toEqual([]);
    sim.advanceTo(11_000);
    expect(sim.sends()).toEqual(['11000 SIGTERM tree']);
    // Once ready, there is no start to extend.
    const up = ready();
    up.now = 500;
    up.feed({ type: 'ready' });
    expect(up.feed({ type: 'extend-timeout', ms: 10_000 })).toEqual([]);
  });

  it('EXTEND_TIMEOUT_USEC while stopping moves the kill later; the grace period reported is the one that applied', () => {
    const sim = Sim.started({ timeoutMs: 1000 });
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.now = 800;
    expect(sim.feed({ type: 'extend-timeout', ms: 2000 })).toEqual([{ type: 'arm', timer: 'deadline', at: 2800 }]);
    sim.now = 900;
    expect(sim.feed({ type: 'extend-timeout', ms: 100 })).toEqual([]); // until 1000: earlier
    sim.advanceTo(2799);
    expect(sim.sends()).toEqual(['0 SIGTERM tree']);
    sim.advanceTo(2800);
    expect(sim.sends()).toEqual(['0 SIGTERM tree', '2800 SIGKILL tree']);
    // Killed: there is no timeout left to extend.
    expect(sim.feed({ type: 'extend-timeout', ms: 60_000 })).toEqual([]);
    sim.now = 2810;
    sim.feed(died('SIGKILL', 9));
    expect(timeline(sim.state.facts, sim.policy)).toMatchObject({ verdict: 'escalated', graceMs: 2800, killSentAfterMs: 2800 });
  });

  it('STOPPING=1: nothing is sent, the grace period runs from then, the kill comes at its end', () => {
    const sim = Sim.started({ timeoutMs: 3000 });
    sim.now = 2000;
    sim.feed({ type: 'child-stopping' });
    expect(sim.state.phase.kind).toBe('signalled');
    expect(sim.state.facts.stop).toMatchObject({ trigger: 'child-stopping', requestedAt: 2000, deadline: 5000, signal: null });
    sim.advanceTo(4999);
    expect(sim.sends()).toEqual([]);
    sim.advanceTo(5000);
    expect(sim.sends()).toEqual(['5000 SIGKILL tree']);
    sim.now = 5001;
    sim.feed(died('SIGKILL', 9));
    expect(sim.status).toBe(137);
    expect(timeline(sim.state.facts, sim.policy)).toMatchObject({ verdict: 'escalated', requested: true, signalSentAfterMs: null, killSentAfterMs: 3000 });
  });

  it('--ready app: the program\'s ready phase is its readiness; without it, the phase is only recorded', () => {
    const ready = { type: 'app-phase' as const, pid: 100, phase: { phase: 'ready' as const, uptimeMs: 700 } };
    const app = Sim.started({ readyTimeoutMs: 5000, readyOnAppPhase: true });
    app.now = 800;
    expect(app.feed(ready)).toEqual([{ type: 'cancel', timer: 'ready-timeout' }]);
    expect(app.state.facts).toMatchObject({ readyAt: 800, phases: [{ at: 800, pid: 100, phase: { phase: 'ready', uptimeMs: 700 } }] });
    const tcp = Sim.started({ readyTimeoutMs: 5000 });
    tcp.now = 800;
    expect(tcp.feed(ready)).toEqual([]);
    expect(tcp.state.facts).toMatchObject({ readyAt: null, phases: [{ at: 800, pid: 100 }] });
  });

  it('keeps the first MAX_PHASES phases of a chatty program, and still acts on the later ones', () => {
    const sim = Sim.started({ readyTimeoutMs: 5000, readyOnAppPhase: true });
    const opened = (order: number) => ({ type: 'app-phase' as const, pid: 100, phase: { phase: 'opened' as const, name: `r${order}`, order, ms: 1 } });
    for (let i = 0; i < MAX_PHASES + 10; i++) sim.feed(opened(i));
    expect(sim.state.facts.phases).toHaveLength(MAX_PHASES);
    expect(sim.state.facts.phases.at(-1)).toMatchObject({ phase: { name: `r${MAX_PHASES - 1}` } });
    sim.now = 900;
    sim.feed({ type: 'app-phase', pid: 100, phase: { phase: 'ready', uptimeMs: 900 } });
    expect(sim.state.facts.readyAt).toBe(900);
    expect(sim.state.facts.phases).toHaveLength(MAX_PHASES);
  });

  it('STOPPING=1 then its exit in time: clean, status 0, no signal ever sent', () => {
    const sim = Sim.started();
    sim.now = 2000;
    sim.feed({ type: 'child-stopping' });
    sim.now = 2450;
    sim.feed(exitCode(0));
    expect(sim.status).toBe(0);
    expect(sim.sends()).toEqual([]);
    expect(sim.armed.size).toBe(0);
    expect(timeline(sim.state.facts, sim.policy)).toMatchObject({ verdict: 'clean', shutdownMs: 450 });
  });

  it('STOPPING=1, then a stop request: SIGTERM is counted and not sent (the child is stopping already); Ctrl+C still forces the kill', () => {
    const sim = Sim.started();
    sim.now = 2000;
    sim.feed({ type: 'child-stopping' });
    sim.now = 2500;
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    expect(sim.sends()).toEqual([]);
    expect(sim.state.facts.stop).toMatchObject({ trigger: 'child-stopping', repeats: 1 });
    sim.now = 2600;
    sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
    expect(sim.sends()).toEqual(['2600 SIGKILL tree']);
    expect(sim.state.facts.stop).toMatchObject({ forced: true, killReason: 'second-signal' });
  });
});

// Every event in every phase, as a table: the phase each lands in and what the machine asks
// the shell to do. Each phase is reached at 0 (a stop requested at 0: deadline 30000) and
// fed the event at 1000, past the echo window. A cell reads "<phase after>: <actions>";
// SAME is "stays, does nothing". A new phase does not compile without its column (PHASES),
// a new type of event fails the completeness test until it has its row.
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
  const SAME = 'same';
  const died0 = (survivors = 0) => ({ type: 'child-exited' as const, code: 0, signal: null, signo: null, survivors });
  // `terminal`: the child shares graceful's terminal and process group (issue 11).
  const start = (policy: Partial<Policy>, terminal: boolean) => {
    const sim = new Sim({ ...basePolicy, ...policy });
    sim.feed({ type: 'started', pid: 100, terminal });
    return sim;
  };
  const stopped = (policy: Partial<Policy>, terminal: boolean) => {
    const sim = start(policy, terminal);
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    return sim;
  };
  const PHASES: Record<MachinePhase['kind'], (terminal: boolean) => Sim> = {
    starting: () => new Sim(),
    running: (t) => start({}, t),
    'pre-stop': (t) => stopped({ preStop: 'hook' }, t),
    delaying: (t) => stopped({ stopDelayMs: 5000 }, t),
    signalled: (t) => stopped({}, t),
    killed: (t) => {
      const sim = stopped({}, t);
      sim.now = 500;
      sim.feed({ type: 'stop-requested', signal: 'SIGINT' });
      return sim;
    },
    // The main process exited on its own at 0, one process of its tree left.
    draining: (t) => {
      const sim = start({}, t);
      sim.feed(died0(1));
      return sim;
    },
    done: (t) => {
      const sim = start({}, t);
      sim.feed(died0());
      return sim;
    },
  };
  const describeAction = (a: Action): string => {
    switch (a.type) {
      case 'send':
        return `send ${a.signal} ${a.target}`;
      case 'arm':
        return `arm ${a.timer} ${a.at}`;
      case 'cancel':
        return `cancel ${a.timer}`;
      case 'exit':
        return `exit ${a.status}`;
      default:
        return a.type;
    }
  };
  const outcome = (make: () => Sim, event: Input): string => {
    const sim = make();
    const before = JSON.stringify(sim.state.phase);
    sim.now = 1000;
    const actions = sim.feed(event);
    const { phase } = sim.state;
    if (JSON.stringify(phase) === before && actions.length === 0) return SAME;
    const name = phase.kind === 'draining' && phase.killed ? 'draining killed' : phase.kind;
    return [name, actions.map(describeAction).join(', ')].filter(Boolean).join(': ');
  };

  type Row = [event: Input, cells: Record<MachinePhase['kind'], string>];
  const row = (event: Input, cells: Partial<Record<MachinePhase['kind'], string>>): Row => [
    event,
    { starting: SAME, running: SAME, 'pre-stop': SAME, delaying: SAME, signalled: SAME, killed: SAME, draining: SAME, done: SAME, ...cells },
  ];
  const KILL = 'killed: cancel deadline, cancel stop-delay, send SIGKILL tree';
  const KILL_DRAINING = 'draining killed: cancel deadline, cancel stop-delay, send SIGKILL tree';
  const KILL_DURING_HOOK = 'killed: cancel deadline, cancel stop-delay, cancel-pre-stop, send SIGKILL tree';
  const EXITED = 'cancel stop-delay, cancel ready-timeout, cancel deadline, cancel ready-timeout, exit 0';

  // In a session of its own (the usual case): graceful delivers every signal itself.
  const SESSION: Record<string, Row> = {
    started: row({ type: 'started', pid: 5 }, { starting: 'running' }),
    'spawn-failed': row({ type: 'spawn-failed', status: 127, message: 'x: command not found' }, { starting: 'done: exit 127' }),
    'stop-requested SIGTERM': row({ type: 'stop-requested', signal: 'SIGTERM' }, {
      starting: 'starting', // held: the stop begins when the child has started
      running: 'signalled: send SIGTERM tree, cancel ready-timeout, arm deadline 31000',
      // pre-stop, delaying: counted, nothing to pass on before the stop signal itself
      signalled: 'signalled: send SIGTERM tree',
      draining: 'draining: send SIGTERM tree',
    }),
    'stop-requested SIGINT': row({ type: 'stop-requested', signal: 'SIGINT' }, {
      starting: 'starting',
      running: 'signalled: send SIGINT tree, cancel ready-timeout, arm deadline 31000',
      'pre-stop': KILL_DURING_HOOK,
      delaying: KILL,
      signalled: KILL,
      draining: KILL_DRAINING,
    }),
    stop: row({ type: 'stop', trigger: 'check' }, {
      starting: 'starting',
      running: 'signalled: send SIGTERM tree, cancel ready-timeout, arm deadline 31000',
    }),
    ready: row({ type: 'ready' }, { running: 'running: cancel ready-timeout' }),
    // sd_notify STOPPING=1: nothing to send, the grace period runs from now.
    'child-stopping': row({ type: 'child-stopping' }, { running: 'signalled: cancel ready-timeout, arm deadline 31000' }),
    // sd_notify EXTEND_TIMEOUT_USEC=60s: the deadline moves while it can still matter.
    'extend-timeout': row({ type: 'extend-timeout', ms: 60_000 }, {
      'pre-stop': 'pre-stop: arm deadline 61000',
      delaying: 'delaying: arm deadline 61000',
      signalled: 'signalled: arm deadline 61000',
      draining: 'draining: arm deadline 61000',
    }),
    forward: row({ type: 'forward', signal: 'SIGHUP' }, {
      running: 'running: send SIGHUP tree',
      'pre-stop': 'pre-stop: send SIGHUP tree',
      delaying: 'delaying: send SIGHUP tree',
      signalled: 'signalled: send SIGHUP tree',
      killed: 'killed: send SIGHUP tree',
      draining: 'draining: send SIGHUP tree',
    }),
    suspend: row({ type: 'suspend', signal: 'SIGTSTP' }, {
      starting: 'starting: suspend-self',
      running: 'running: send SIGSTOP tree, suspend-self',
      'pre-stop': 'pre-stop: send SIGSTOP tree, suspend-self',
      delaying: 'delaying: send SIGSTOP tree, suspend-self',
      signalled: 'signalled: send SIGSTOP tree, suspend-self',
      killed: 'killed: send SIGSTOP tree, suspend-self',
      draining: 'draining: send SIGSTOP tree, suspend-self',
      done: 'done: suspend-self',
    }),
    // Off a terminal, a stopped child does not stop graceful (someone's SIGSTOP, or graceful's own).
    'child-stopped': row({ type: 'child-stopped' }, {}),
    'timer deadline': row({ type: 'timer', timer: 'deadline' }, {
      'pre-stop': KILL_DURING_HOOK,
      delaying: KILL,
      signalled: KILL,
      draining: KILL_DRAINING,
    }),
    'timer stop-delay': row({ type: 'timer', timer: 'stop-delay' }, { delaying: 'signalled: send SIGTERM tree' }),
    'timer ready-timeout': row({ type: 'timer', timer: 'ready-timeout' }, {
      running: 'signalled: send SIGTERM tree, cancel ready-timeout, arm deadline 31000',
    }),
    'pre-stop-exited': row({ type: 'pre-stop-exited', code: 0, signal: null, error: null }, { 'pre-stop': 'signalled: send SIGTERM tree' }),
    'child-exited': row(died0(), {
      running: `done: ${EXITED}`,
      'pre-stop': 'done: cancel stop-delay, cancel ready-timeout, cancel-pre-stop, cancel deadline, cancel ready-timeout, exit 0',
      delaying: `done: ${EXITED}`,
      signalled: `done: ${EXITED}`,
      killed: `done: ${EXITED}`,
    }),
    'child-exited, 2 left': row(died0(2), {
      // On its own: the rest gets the whole sequence, from now.
      running: 'draining: cancel stop-delay, cancel ready-timeout, watch-tree, arm deadline 31000, send SIGTERM tree',
      // Before the stop signal went out: the rest gets it now, within the deadline armed at 0.
      'pre-stop': 'draining: cancel stop-delay, cancel ready-timeout, cancel-pre-stop, watch-tree, send SIGTERM tree',
      delaying: 'draining: cancel stop-delay, cancel ready-timeout, watch-tree, send SIGTERM tree',
      signalled: 'draining: cancel stop-delay, cancel ready-timeout, watch-tree',
      // Already killed: again, for anything forked since.
      killed: 'draining killed: cancel stop-delay, cancel ready-timeout, watch-tree, send SIGKILL tree',
    }),
    // Recorded in the facts (below), not a step of the stop.
    'app-found': row({ type: 'app-found', pid: 200, command: 'node server.js' }, {}),
    // No app was found: nothing to record.
    'app-exited': row({ type: 'app-exited', code: 0, signal: null, signo: null, known: true, survivors: 0 }, {}),
    'tree-empty': row({ type: 'tree-empty' }, { draining: 'done: cancel deadline, exit 0' }),
    // Only --stop-delay auto's wait reads it (its own tests below); the fixed delay ignores it.
    traffic: row({ type: 'traffic', arrivals: 3, lastArrivalAt: 0, watched: true, seenUntil: 0 }, {}),
    // graceful-supervisor/app on the status channel: a phase is recorded (below), not a step of the stop...
    'app-phase': row({ type: 'app-phase', pid: 100, phase: { phase: 'drained', afterMs: 700, ms: 700, completed: 5, cut: 0, sources: [] } }, {}),
    // ...but a shutdown the program decided itself (life.shutdown()) starts the grace period, as STOPPING=1 does.
    // graceful up: a second Ctrl+C to the stack kills each program at once, whatever its phase.
    force: row({ type: 'force', signal: 'SIGINT' }, {
      starting: 'starting', // held, as a stop request is: the child is killed once it has started
      running: `killed: send SIGINT tree, cancel ready-timeout, arm deadline 31000, ${KILL.slice('killed: '.length)}`,
      'pre-stop': KILL_DURING_HOOK,
      delaying: KILL,
      signalled: KILL,
      draining: KILL_DRAINING,
    }),
    'app-phase stopping (its own)': row(
      { type: 'app-phase', pid: 100, phase: { phase: 'stopping', trigger: 'shutdown', reason: null, budgetMs: 30_000, budgetFrom: 'default', delayMs: 0, drainEndsMs: 20_000 } },
      { running: 'signalled: cancel ready-timeout, arm deadline 31000' },
    ),
  };

  // The events a terminal or a shell sends to graceful's whole process group, `delivered`:
  // the child has them already, and only the tree outside the group is signalled.
  const TERMINAL: Record<string, Row> = {
    'Ctrl+C': row({ type: 'stop-requested', signal: 'SIGINT', delivered: true }, {
      starting: 'starting',
      running: 'signalled: send SIGINT outside-group, cancel ready-timeout, arm deadline 31000',
      'pre-stop': KILL_DURING_HOOK,
      delaying: KILL,
      signalled: KILL,
      draining: KILL_DRAINING,
    }),
    'a hang-up (--interactive)': row({ type: 'stop-requested', signal: 'SIGHUP', delivered: true }, {
      starting: 'starting',
      running: 'signalled: send SIGHUP outside-group, cancel ready-timeout, arm deadline 31000',
      signalled: 'signalled: send SIGHUP outside-group',
      draining: 'draining: send SIGHUP outside-group',
    }),
    'a resize': row({ type: 'forward', signal: 'SIGWINCH', delivered: true }, {}),
    // SIGUSR1 sent to graceful alone is still graceful's to pass on.
    'SIGUSR1 to graceful': row({ type: 'forward', signal: 'SIGUSR1' }, {
      running: 'running: send SIGUSR1 tree',
      'pre-stop': 'pre-stop: send SIGUSR1 tree',
      delaying: 'delaying: send SIGUSR1 tree',
      signalled: 'signalled: send SIGUSR1 tree',
      killed: 'killed: send SIGUSR1 tree',
      draining: 'draining: send SIGUSR1 tree',
    }),
    // Ctrl+Z: the child takes it or not; graceful follows when it has stopped.
    'Ctrl+Z': row({ type: 'suspend', signal: 'SIGTSTP', delivered: true }, {}),
    'child-stopped': row({ type: 'child-stopped' }, {
      running: 'running: suspend-self',
      'pre-stop': 'pre-stop: suspend-self',
      delaying: 'delaying: suspend-self',
      signalled: 'signalled: suspend-self',
      killed: 'killed: suspend-self',
    }),
  };

  it('SESSION has a row for every type of event', () => {
    const types = new Set(Object.values(SESSION).map(([event]) => event.type));
    // A Record over Event['type']: a new type of event does not compile until it is listed here.
    const declared: Record<Event['type'], true> = {
      started: true, 'spawn-failed': true, 'stop-requested': true, stop: true, ready: true, 'child-stopping': true,
      'extend-timeout': true, forward: true, suspend: true, 'child-stopped': true, timer: true, 'pre-stop-exited': true,
      'child-exited': true, 'app-found': true, 'app-exited': true, 'tree-empty': true, 'app-phase': true, force: true,
      traffic: true,
    };
    expect([...types].sort()).toEqual(Object.keys(declared).sort());
  });

  for (const [mode, table, terminal] of [['in a session of its own', SESSION, false], ['in terminal mode', TERMINAL, true]] as const) {
    describe(mode, () => {
      it.each(Object.entries(table))('%s', (_, [event, cells]) => {
        const seen = Object.fromEntries(Object.entries(PHASES).map(([phase, make]) => [phase, outcome(() => make(terminal), event)]));
        expect(seen).toEqual(cells);
      });
    });
  }

  it('every phase is reached as its column says', () => {
    for (const terminal of [false, true]) {
      for (const [kind, make] of Object.entries(PHASES)) expect(make(terminal).state.phase.kind).toBe(kind);
    }
  });

  it('app-found records the program behind a launcher, once, in every phase but done', () => {
    for (const [kind, make] of Object.entries(PHASES)) {
      const sim = make(false);
      sim.now = 1000;
      sim.feed({ type: 'app-found', pid: 200, command: 'node server.js' });
      sim.feed({ type: 'app-found', pid: 300, command: 'node other.js' });
      const expected = kind === 'done' ? null : { pid: 200, command: 'node server.js', foundAt: 1000, exit: null, signalSentAt: null };
      expect(sim.state.facts.app, kind).toEqual(expected);
    }
  });
});
