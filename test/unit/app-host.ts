// A fake Host for the library's lifecycle: a fake clock whose timers fire in order as the
// test advances it, signals the test sends, and a record of exits, log lines and the
// phases sent to a fake graceful channel.
import type { Channel, Host } from '../../src/app/lifecycle.js';
import type { Drainable } from '../../src/app/drain.js';
import type { Phase } from '../../src/app/protocol.js';

const NUMBERS: Record<string, number> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };

export class FakeHost implements Host {
  t = 0;
  readonly exits: { code: number; at: number }[] = [];
  readonly lines: string[] = [];
  readonly sent: (Phase & { at: number })[] = [];
  channel: Channel | null = null;
  envTimeoutMs: number | null = null;
  underGraceful = false;
  platform: string | null = null;
  gracefulDelays = false;
  #deadline: { ms: number; at: number } | null = null;
  #timers: { at: number; fire: () => void }[] = [];
  readonly #handlers = new Map<string, Set<() => void>>();

  /** Under graceful: phases go to `sent`, and `deadline(ms)` plays graceful's message. */
  static underGraceful(): FakeHost {
    const host = new FakeHost();
    host.underGraceful = true;
    host.channel = {
      send: (phase) => {
        if (host.#lost) return false;
        host.sent.push({ ...phase, at: host.t });
        return true;
      },
      deadline: () => host.#deadline,
      onLost: (handler) => {
        host.#onLost = handler;
      },
      close: () => {
        host.closed = host.t;
      },
    };
    return host;
  }

  /** When the lifecycle ended the channel. */
  closed: number | null = null;
  #lost = false;
  #onLost: (missed: Phase[]) => void = () => undefined;

  /** graceful goes away: send() says so from now on; `missed` were sent before the channel was known to work. */
  lose(missed: Phase[] = []): void {
    this.#lost = true;
    this.#onLost(missed);
  }

  deadline(ms: number): void {
    this.#deadline = { ms, at: this.t };
  }

  now = (): number => this.t;
  settle = (): Promise<void> => Promise.resolve();
  uptimeMs = (): number => 1234;
  signalNumber = (signal: string): number => NUMBERS[signal] ?? 0;
  exit = (code: number): void => {
    this.exits.push({ code, at: this.t });
  };
  log = (line: string): void => {
    this.lines.push(line);
  };

  timer(ms: number, fire: () => void): () => void {
    const entry = { at: this.t + ms, fire };
    this.#timers.push(entry);
    return () => {
      this.#timers = this.#timers.filter((e) => e !== entry);
    };
  }

  onSignal(signal: string, handler: () => void): () => void {
    const set = this.#handlers.get(signal) ?? new Set();
    set.add(handler);
    this.#handlers.set(signal, set);
    return () => set.delete(handler);
  }

  /** How many handlers are installed for `signal`. */
  handlers(signal: string): number {
    return this.#handlers.get(signal)?.size ?? 0;
  }

  /** Delivers a signal now, as the process would. */
  signal(signal: string): void {
    for (const handler of [...(this.#handlers.get(signal) ?? [])]) handler();
  }

  /** Moves the clock to `t`, firing each timer that falls due, in order, and letting promises settle after each. */
  async advanceTo(t: number): Promise<void> {
    await settled();
    for (;;) {
      const due = this.#timers.filter((e) => e.at <= t).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((e) => e !== due);
      this.t = Math.max(this.t, due.at);
      due.fire();
      await settled();
    }
    this.t = t;
    await settled();
  }

  advance(ms: number): Promise<void> {
    return this.advanceTo(this.t + ms);
  }
}

// Lets every promise chain that can move without a timer move (the lifecycle awaits only
// promises and the fake timers).
export async function settled(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A fake source of work: records its calls; `finish()` ends the work in flight. */
export function fakeWork(name: string, calls: string[], host: FakeHost, inflight = 0) {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  let left = inflight;
  const work: Drainable & { finish(): void } = {
    stop: () => calls.push(`stop ${name} @${host.t}`),
    drained: () => done,
    cut: () => {
      calls.push(`cut ${name} @${host.t}`);
      left = 0;
    },
    inflight: () => left,
    finish: () => {
      left = 0;
      finish();
    },
  };
  return work;
}

/** A promise that settles after `ms` of fake time (0: at once, without a timer; null: never). */
export function after<T>(host: FakeHost, ms: number | null, value?: T, error?: Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (ms === null) return;
    if (ms === 0) return error ? reject(error) : resolve(value as T);
    host.timer(ms, () => (error ? reject(error) : resolve(value as T)));
  });
}
