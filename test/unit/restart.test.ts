// The restart policy on a fake clock: when to restart, after which delay, when to give up.
import { describe, expect, it } from 'vitest';
import { decide, type RestartPolicy, type RunRecord } from '../../src/core/restart.js';
import { RESTART_DEFAULTS } from '../../src/options.js';

const policy = (over: Partial<RestartPolicy> = {}): RestartPolicy => ({ ...RESTART_DEFAULTS, mode: 'always', ...over });
// A run from `start` lasting `ms`, ended with `status`.
const run = (start: number, ms: number, status = 1, trigger: string | null = null): RunRecord => ({ startedAt: start, endedAt: start + ms, status, trigger });

describe('decide', () => {
  it('no --restart: never', () => {
    expect(decide(policy({ mode: 'no' }), [run(0, 10)], 10)).toMatchObject({ kind: 'stop', reason: 'no-restart' });
  });

  it('on-failure: after a failure status, a signal or the memory limit; not after success', () => {
    const p = policy({ mode: 'on-failure' });
    expect(decide(p, [run(0, 5000, 0)], 5000)).toMatchObject({ kind: 'stop', reason: 'succeeded' });
    expect(decide(p, [run(0, 5000, 3)], 5000).kind).toBe('restart');
    expect(decide(p, [run(0, 5000, 139)], 5000).kind).toBe('restart');
    expect(decide(p, [run(0, 5000, 0, 'memory-limit')], 5000).kind).toBe('restart');
    expect(decide(p, [run(0, 5000, 0, 'ready-timeout')], 5000).kind).toBe('restart');
  });

  it('a stop request is final, whatever the mode', () => {
    for (const trigger of ['SIGTERM', 'SIGINT']) {
      expect(decide(policy(), [run(0, 5000, 143, trigger)], 5000)).toMatchObject({ kind: 'stop', reason: 'requested' });
    }
  });

  it('--backoff doubles the delay per unstable run in a row, up to the maximum', () => {
    const p = policy({ backoff: true, delayMs: 100, delayMaxMs: 500, maxRestarts: 100, windowMs: 60_000 });
    const history: RunRecord[] = [];
    const delays: number[] = [];
    let t = 0;
    for (let i = 0; i < 5; i++) {
      history.push(run(t, 50));
      t += 50;
      const d = decide(p, history, t);
      if (d.kind !== 'restart') throw new Error('expected a restart');
      delays.push(d.delayMs);
      t += d.delayMs;
    }
    expect(delays).toEqual([100, 200, 400, 500, 500]);
  });

  it('a run that stayed up --min-uptime resets the backoff', () => {
    const p = policy({ backoff: true, delayMs: 100 });
    const history = [run(0, 50), run(150, 50), run(400, 60_000)];
    expect(decide(p, history, 60_400)).toMatchObject({ kind: 'restart', delayMs: 100, streak: 0 });
  });

  it('without --backoff the delay is constant', () => {
    const p = policy({ delayMs: 250 });
    expect(decide(p, [run(0, 10), run(260, 10), run(520, 10)], 530)).toMatchObject({ kind: 'restart', delayMs: 250 });
  });

  it('gives up past --max-restarts unstable runs within --restart-window', () => {
    const p = policy({ maxRestarts: 2, windowMs: 10_000, delayMs: 0 });
    const history = [run(0, 10), run(10, 10)];
    expect(decide(p, history, 20).kind).toBe('restart');
    history.push(run(20, 10));
    expect(decide(p, history, 30)).toMatchObject({ kind: 'stop', reason: 'start-limit', unstableRuns: 3 });
  });

  it('old unstable runs fall out of the window, and stable runs never count', () => {
    const p = policy({ maxRestarts: 2, windowMs: 10_000 });
    expect(decide(p, [run(0, 10), run(20, 10), run(20_000, 10)], 20_010).kind).toBe('restart');
    expect(decide(p, [run(0, 5000), run(5000, 5000), run(10_000, 5000)], 15_000).kind).toBe('restart');
  });
});
