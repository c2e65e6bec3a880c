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

// Named one-shot timers: arming a name again replaces the previous timer of that name.
export class Timers {
  readonly #pending = new Map<string, NodeJS.Timeout>();

  constructor(private readonly clock: Clock) {}

  // Fires `fire` at `at` or after it, never before: Node's timers count whole milliseconds
  // of loop time and can fire up to 1 ms early on the monotonic clock, and "SIGKILL at the
  // deadline" must not mean a moment before it.
  arm(name: string, at: number, fire: () => void): void {
    this.cancel(name);
    const wait = () => {
      const left = at - this.clock.now();
      if (left > 0) {
        this.#pending.set(name, setTimeout(wait, Math.ceil(left)));
        return;
      }
      this.#pending.delete(name);
      fire();
    };
    this.#pending.set(name, setTimeout(wait, Math.max(0, Math.ceil(at - this.clock.now()))));
  }

  cancel(name: string): void {
    clearTimeout(this.#pending.get(name));
    this.#pending.delete(name);
  }

  cancelAll(): void {
    for (const name of [...this.#pending.keys()]) this.cancel(name);
  }
}
