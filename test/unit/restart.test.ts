// The restart policy on a fake clock: when to restart, after which delay, when to give up.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, retain, STREAK_KEPT, type RestartPolicy, type RunRecord } from '../../src/core/restart.js';
import { RESTART_DEFAULTS } from '../../src/config/defaults.js';

const policy = (over: Partial<RestartPolicy> = {}): RestartPolicy => ({ ...RESTART_DEFAULTS, mode: 'always', ...over });
// A run from `start` lasting `ms`, ended with `status`.
const run = (start: number, ms: number, status = 1, trigger: RunRecord['trigger'] = null): RunRecord => ({ startedAt: start, endedAt: start + ms, status, trigger });

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
    for (const trigger of ['SIGTERM', 'SIGINT', 'SIGHUP', 'check'] as const) {
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

describe('retain', () => {
  // A long life of restarts, pruned after every decision as graceful does, against the
  // whole history: every decision is the same. Crash loops (every run unstable) included.
  it('never changes a decision, and keeps the history bounded', () => {
    const runs = fc.oneof(
      fc.array(fc.record({ gap: fc.nat(3000), ms: fc.nat(3000), status: fc.constantFrom(0, 1, 137) }), { minLength: 1, maxLength: 300 }),
      fc.array(fc.record({ gap: fc.nat(50), ms: fc.nat(50), status: fc.constantFrom(1, 137) }), { minLength: 60, maxLength: 300 }),
    );
    const policies = fc.record({
      mode: fc.constantFrom('always' as const, 'on-failure' as const),
      delayMs: fc.nat(1000),
      backoff: fc.boolean(),
      delayMaxMs: fc.nat(60_000),
      minUptimeMs: fc.nat(2000),
      maxRestarts: fc.integer({ min: 0, max: 1000 }),
      windowMs: fc.nat(20_000),
    });
    fc.assert(
      fc.property(policies, runs, (p, list) => {
        const all: RunRecord[] = [];
        let kept: RunRecord[] = [];
        let t = 0;
        let longest = 0;
        for (const r of list) {
          t += r.gap;
          const record = run(t, r.ms, r.status);
          t += r.ms;
          all.push(record);
          kept.push(record);
          expect(decide(p, kept, t)).toEqual(decide(p, all, t));
          kept = retain(kept, p, t);
          longest = Math.max(longest, kept.length);
        }
        // Bounded by the window and the streak, not by how many runs there were.
        const inWindow = all.filter((r) => r.endedAt > t - p.windowMs).length;
        expect(kept.length).toBeLessThanOrEqual(inWindow + STREAK_KEPT + 1);
      }),
      { numRuns: 300 },
    );
  });
});
