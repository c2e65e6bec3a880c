// Deadline sizing of the library (src/app/plan.ts): who sets the budget, the margin kept
// before graceful's kill, and the split between delay, drain and resources.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { plan, resourceShare, type PlanInput } from '../../src/app/plan.js';

const none: PlanInput = { gracefulMs: null, envMs: null, optionMs: null, delayMs: 0, drainTimeoutMs: null, resourceTimeoutsMs: [] };

describe('plan: the budget', () => {
  it('is 30 s without graceful or an option, ending 1 s early (5%, at most 1 s)', () => {
    expect(plan(none)).toEqual({ budgetMs: 30_000, budgetFrom: 'default', endMs: 29_000, delayMs: 0, drainEndsMs: 29_000 });
  });

  it("is graceful's deadline when it sent one, ending 5% early", () => {
    expect(plan({ ...none, gracefulMs: 10_000, envMs: 30_000 })).toMatchObject({ budgetMs: 10_000, budgetFrom: 'graceful', endMs: 9_500 });
  });

  it('is GRACEFUL_STOP_TIMEOUT_MS when no deadline message came', () => {
    expect(plan({ ...none, envMs: 2_000 })).toMatchObject({ budgetMs: 2_000, budgetFrom: 'env', endMs: 1_900 });
  });

  it("is the program's timeoutMs when it is shorter than graceful's, never when longer", () => {
    expect(plan({ ...none, gracefulMs: 10_000, optionMs: 4_000 })).toMatchObject({ budgetMs: 4_000, budgetFrom: 'option', endMs: 3_800 });
    expect(plan({ ...none, gracefulMs: 10_000, optionMs: 60_000 })).toMatchObject({ budgetMs: 10_000, budgetFrom: 'graceful' });
    expect(plan({ ...none, optionMs: 60_000 })).toMatchObject({ budgetMs: 60_000, budgetFrom: 'option', endMs: 59_000 });
  });

  it('keeps at least 50 ms of margin, and never more than half the budget', () => {
    expect(plan({ ...none, envMs: 400 })).toMatchObject({ endMs: 350 });
    expect(plan({ ...none, envMs: 60 })).toMatchObject({ endMs: 30 });
    expect(plan({ ...none, gracefulMs: -20 })).toMatchObject({ budgetMs: 0, endMs: 0, drainEndsMs: 0 });
  });
});

describe('plan: the split', () => {
  it('gives the resources the sum of their timeouts, the drain the rest', () => {
    expect(plan({ ...none, resourceTimeoutsMs: [5_000, 5_000] })).toMatchObject({ endMs: 29_000, drainEndsMs: 19_000 });
  });

  it('gives the resources at most half of what is left after the delay', () => {
    expect(plan({ ...none, resourceTimeoutsMs: [5_000, 5_000, 5_000] })).toMatchObject({ drainEndsMs: 14_500 });
  });

  it('counts the delay first, at most half of the budget', () => {
    expect(plan({ ...none, delayMs: 5_000, resourceTimeoutsMs: [5_000] })).toMatchObject({ delayMs: 5_000, drainEndsMs: 24_000 });
    expect(plan({ ...none, envMs: 10_000, delayMs: 8_000 })).toMatchObject({ endMs: 9_500, delayMs: 4_750, drainEndsMs: 9_500 });
  });

  it('caps the drain at drainTimeoutMs, counted after the delay', () => {
    expect(plan({ ...none, delayMs: 1_000, drainTimeoutMs: 3_000, resourceTimeoutsMs: [5_000] })).toMatchObject({ drainEndsMs: 4_000 });
  });

  it('always ends within the budget, in order: delay, drain end, end', () => {
    const ms = fc.option(fc.integer({ min: -1_000, max: 200_000 }), { nil: null });
    fc.assert(
      fc.property(ms, ms, ms, fc.nat(100_000), ms, fc.array(fc.nat(30_000), { maxLength: 6 }), (gracefulMs, envMs, optionMs, delayMs, drainTimeoutMs, resourceTimeoutsMs) => {
        const p = plan({ gracefulMs, envMs, optionMs, delayMs, drainTimeoutMs, resourceTimeoutsMs });
        expect(p.delayMs).toBeGreaterThanOrEqual(0);
        expect(p.drainEndsMs).toBeGreaterThanOrEqual(p.delayMs);
        expect(p.endMs).toBeGreaterThanOrEqual(p.drainEndsMs);
        expect(p.budgetMs).toBeGreaterThanOrEqual(p.endMs);
        if (p.budgetMs >= 100) expect(p.budgetMs - p.endMs).toBeGreaterThanOrEqual(50);
      }),
    );
  });
});

describe('plan: figures', () => {
  it('are whole milliseconds, whatever the deadline left', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 100_000, noNaN: true }), fc.nat(10_000), (gracefulMs, delayMs) => {
        const p = plan({ ...none, gracefulMs, delayMs, resourceTimeoutsMs: [5_000, 1_234] });
        for (const v of [p.budgetMs, p.endMs, p.delayMs, p.drainEndsMs]) expect(Number.isInteger(v)).toBe(true);
      }),
    );
  });
});

describe('resourceShare: what the next resource gets', () => {
  it('is its timeout when there is room for every one', () => {
    expect(resourceShare(20_000, [5_000, 5_000])).toBe(5_000);
  });

  it('is its share by timeout of what is left, so that those after it keep theirs', () => {
    expect(resourceShare(3_000, [5_000, 5_000, 5_000])).toBe(1_000);
    expect(resourceShare(3_000, [10_000, 5_000])).toBe(2_000);
    expect(resourceShare(0, [5_000])).toBe(0);
    expect(resourceShare(-50, [5_000, 5_000])).toBe(0);
  });

  it('never gives the ones before the last more than leaves each later one its part', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60_000 }), fc.array(fc.integer({ min: 1, max: 30_000 }), { minLength: 1, maxLength: 6 }), (left, timeouts) => {
        // Everyone hangs: each takes what it is given; the last still gets its share.
        let rest = left;
        const given = timeouts.map((_, i) => {
          const ms = resourceShare(rest, timeouts.slice(i));
          rest -= ms;
          return ms;
        });
        expect(rest).toBeGreaterThanOrEqual(0);
        const total = timeouts.reduce((a, b) => a + b, 0);
        given.forEach((ms, i) => expect(ms).toBeGreaterThanOrEqual(Math.min(timeouts[i]!, Math.floor((left * timeouts[i]!) / total)) - timeouts.length));
      }),
    );
  });
});
