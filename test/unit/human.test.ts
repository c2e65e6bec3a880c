// The summary line on a fake clock: every figure the user reads is pinned, so that a wrong
// number in the renderer fails here.
import { describe, expect, it } from 'vitest';
import { summaryLine } from '../../src/report/human.js';
import { Sim } from './sim.js';

const died = (signal: string, signo: number, survivors = 0) => ({ type: 'child-exited' as const, code: null, signal, signo, survivors });

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
