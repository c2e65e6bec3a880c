// The monotonic clock and the timers the machine arms: the shell owns every timer, so one
// cancelAll() at exit leaves nothing pending.
export interface Clock {
  /** Monotonic milliseconds (immune to wall-clock jumps: NTP, suspend). */
  now(): number;
  /** The wall-clock time (ms since the epoch) of a monotonic instant, for reports. */
  wall(at: number): number;
}

// The process's monotonic clock (CLOCK_MONOTONIC), anchored once to the wall clock.
// process.hrtime rather than performance.now(): the performance global loads
// node:perf_hooks and its friends, a millisecond of start-up for nothing.
export function systemClock(): Clock {
  const now = () => Number(process.hrtime.bigint()) / 1e6;
  const anchor = Date.now() - now();
  return { now, wall: (at) => anchor + at };
}

// How close to its time a timer stops trusting Node's timers and waits out the rest itself.
// A Node timer fires up to ~1 ms late, more with the kernel's slack on epoll_wait's
// millisecond timeout (bench/analysis.md, "The deadline's timer"). The last PRECISE_MS are
// waited with Atomics.wait, a futex with a nanosecond timeout, blocking the loop that long
// at most: signals and exits that arrive meanwhile are handled right after.
const PRECISE_MS = 2;
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

// Named one-shot timers: arming a name again replaces the previous timer of that name.
export class Timers {
  readonly #pending = new Map<string, NodeJS.Timeout>();

  constructor(private readonly clock: Clock) {}

  // Fires `fire` at `at` on the monotonic clock, within a few tens of microseconds, never
  // before: "SIGKILL at the deadline" must mean neither a moment before it nor milliseconds
  // after. Always from the event loop, never from inside arm().
  arm(name: string, at: number, fire: () => void): void {
    this.cancel(name);
    const wait = () => {
      const left = at - this.clock.now();
      if (left > PRECISE_MS) {
        // Node's timer may fire up to 1 ms early (it counts from the loop's cached time).
        this.#pending.set(name, setTimeout(wait, Math.floor(left - PRECISE_MS)));
        return;
      }
      this.#pending.delete(name);
      if (left > 0) Atomics.wait(SLEEPER, 0, 0, left);
      fire();
    };
    this.#pending.set(name, setTimeout(wait, Math.max(0, Math.floor(at - this.clock.now() - PRECISE_MS))));
  }

  cancel(name: string): void {
    clearTimeout(this.#pending.get(name));
    this.#pending.delete(name);
  }

  cancelAll(): void {
    for (const name of [...this.#pending.keys()]) this.cancel(name);
  }
}
