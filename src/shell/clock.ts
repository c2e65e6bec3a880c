// The monotonic clock and the timers the machine arms: the shell owns every timer, so one
// cancelAll() at exit leaves nothing pending.
export interface Clock {
  /** Monotonic milliseconds (immune to wall-clock jumps: NTP, suspend). */
  now(): number;
  /** The wall-clock time (ms since the epoch) of a monotonic instant, for reports. */
  wall(at: number): number;
}

// The process's monotonic clock, anchored once to the wall clock.
export function systemClock(): Clock {
  const anchor = Date.now() - performance.now();
  return { now: () => performance.now(), wall: (at) => anchor + at };
}

// Named one-shot timers: arming a name again replaces the previous timer of that name.
export class Timers {
  readonly #pending = new Map<string, NodeJS.Timeout>();

  constructor(private readonly clock: Clock) {}

  arm(name: string, at: number, fire: () => void): void {
    this.cancel(name);
    const handle = setTimeout(() => {
      this.#pending.delete(name);
      fire();
    }, Math.max(0, at - this.clock.now()));
    this.#pending.set(name, handle);
  }

  cancel(name: string): void {
    clearTimeout(this.#pending.get(name));
    this.#pending.delete(name);
  }

  cancelAll(): void {
    for (const name of [...this.#pending.keys()]) this.cancel(name);
  }
}
