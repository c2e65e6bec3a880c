// The shell's timers (shell/clock.ts) on a fake clock and a fake event loop: a timer never
// fires before its time on the clock it was given, however early the loop's own timers
// wake it. Node's do wake early: they count whole milliseconds from the loop's cached time,
// which lags the monotonic clock (by under a millisecond, or by as long as the current
// callback has been running), and "SIGKILL at the deadline" must not mean a moment before it.
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Timers, type Clock } from '../../src/shell/clock.js';

// A fake event loop with Node's timer rule: setTimeout(fn, ms) is due `ms` whole
// milliseconds (at least 1) after the loop's time, which is the clock's whole milliseconds
// as of the start of the current turn. Code that ran before the loop's first turn may see
// a loop time older still, by `lag`.
class Loop {
  now = 0;
  #loopTime = 0;
  #queue: { due: number; fn: () => void; seq: number }[] = [];
  #seq = 0;

  constructor(start: number, lag = 0) {
    this.now = start;
    this.#loopTime = Math.floor(start) - lag;
  }

  readonly clock: Clock = { now: () => this.now, wall: (at) => at };

  setTimeout = (fn: () => void, ms = 0) => {
    const entry = { due: this.#loopTime + Math.max(1, Math.trunc(ms)), fn, seq: this.#seq++ };
    this.#queue.push(entry);
    return entry;
  };

  clearTimeout = (entry: unknown) => {
    this.#queue = this.#queue.filter((e) => e !== entry);
  };

  // Runs due timers in order, each at its time (and a microsecond on: a turn takes some),
  // until none is left or the next is due after `until`.
  run(until = Infinity): void {
    for (let turns = 0; turns < 10_000; turns++) {
      const next = this.#queue.sort((a, b) => a.due - b.due || a.seq - b.seq)[0];
      if (!next || next.due > until) return;
      this.#queue.shift();
      this.now = Math.max(this.now + 0.001, next.due);
      this.#loopTime = Math.floor(this.now);
      next.fn();
    }
    throw new Error('the loop never went idle');
  }

  get pending(): number {
    return this.#queue.length;
  }
}

function install(loop: Loop): void {
  vi.stubGlobal('setTimeout', loop.setTimeout);
  vi.stubGlobal('clearTimeout', loop.clearTimeout);
  // A timer that waits out its last moments blocking (Atomics.wait on a futex) is blocked
  // at least that long: on the fake clock too.
  vi.spyOn(Atomics, 'wait').mockImplementation((_array, _index, _value, timeout) => {
    loop.now += timeout ?? 0;
    return 'timed-out';
  });
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('Timers', () => {
  it('never fires before `at` on its clock, whatever the loop does, and fires once', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: -5, max: 40_000, noNaN: true }),
        fc.integer({ min: 0, max: 50 }),
        (start, delay, lag) => {
          const loop = new Loop(start, lag);
          install(loop);
          const at = start + delay;
          const fired: number[] = [];
          new Timers(loop.clock).arm('deadline', at, () => fired.push(loop.now));
          loop.run();
          vi.unstubAllGlobals();
          vi.restoreAllMocks();
          expect(fired).toHaveLength(1);
          expect(fired[0]).toBeGreaterThanOrEqual(at);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('with a loop that is never late, fires within 2 ms of its time', () => {
    const loop = new Loop(1000.4);
    install(loop);
    const fired: number[] = [];
    new Timers(loop.clock).arm('deadline', 31_000.7, () => fired.push(loop.now));
    loop.run();
    expect(fired).toHaveLength(1);
    expect(fired[0]! - 31_000.7).toBeGreaterThanOrEqual(0);
    expect(fired[0]! - 31_000.7).toBeLessThan(2);
  });

  it('fires from the loop, never from inside arm(), even when its time has passed', () => {
    const loop = new Loop(500);
    install(loop);
    const fired: number[] = [];
    new Timers(loop.clock).arm('deadline', 100, () => fired.push(loop.now));
    expect(fired).toEqual([]);
    loop.run();
    expect(fired).toEqual([501]); // the loop's next turn
  });

  it('arming a name again replaces its timer; cancel and cancelAll leave nothing pending', () => {
    const loop = new Loop(0);
    install(loop);
    const timers = new Timers(loop.clock);
    const fired: string[] = [];
    timers.arm('deadline', 1000, () => fired.push(`first ${loop.now}`));
    timers.arm('deadline', 3000, () => fired.push(`second ${loop.now}`));
    timers.arm('stop-delay', 2000, () => fired.push(`delay ${loop.now}`));
    timers.arm('ready-timeout', 2500, () => fired.push(`ready ${loop.now}`));
    timers.cancel('stop-delay');
    loop.run(2600);
    expect(fired).toEqual(['ready 2500']);
    timers.cancelAll();
    expect(loop.pending).toBe(0);
    loop.run();
    expect(fired).toEqual(['ready 2500']);
  });
});
