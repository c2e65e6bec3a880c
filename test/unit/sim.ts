// A fake shell for the pure machine: a fake clock, the timers the machine arms, and a log
// of what it asked the shell to do, each with the fake time it was asked at.
import { initialState, step } from '../../src/core/machine.js';
import type { Action, Event, Policy, State } from '../../src/core/types.js';

export const basePolicy: Policy = {
  timeoutMs: 30_000,
  stopSignal: null,
  killSignal: 'SIGKILL',
  kill: true,
  killMode: 'group',
  sigcont: false,
  preStop: null,
  stopDelayMs: 0,
  success: { codes: [], signals: [] },
  readyTimeoutMs: null,
  followApp: false,
};

/** An event as fed to Sim: its time is the fake clock's. */
export type Input = Event extends infer E ? (E extends { at: number } ? Omit<E, 'at'> : never) : never;

export class Sim {
  now = 0;
  state: State;
  readonly armed = new Map<string, number>();
  readonly log: (Action & { at: number })[] = [];
  status: number | null = null;

  constructor(readonly policy: Policy = basePolicy, command: string[] = ['app']) {
    this.state = initialState(command, 0);
  }

  static started(policy: Partial<Policy> = {}, pid = 100): Sim {
    const sim = new Sim({ ...basePolicy, ...policy });
    sim.feed({ type: 'started', pid });
    return sim;
  }

  // Delivers an event at the current fake time.
  feed(input: Input): Action[] {
    const event = { ...input, at: this.now } as Event;
    const { state, actions } = step(this.state, event, this.policy);
    this.state = state;
    for (const a of actions) {
      this.log.push({ ...a, at: this.now });
      if (a.type === 'arm') this.armed.set(a.timer, a.at);
      if (a.type === 'cancel') this.armed.delete(a.timer);
      if (a.type === 'exit') this.status = a.status;
    }
    return actions;
  }

  // Moves the clock to `t`, firing every armed timer that falls due on the way, in order.
  advanceTo(t: number): void {
    for (;;) {
      const due = [...this.armed].filter(([, at]) => at <= t).sort((a, b) => a[1] - b[1])[0];
      if (!due) break;
      this.now = Math.max(this.now, due[1]);
      this.armed.delete(due[0]);
      this.feed({ type: 'timer', timer: due[0] as 'deadline' | 'stop-delay' });
    }
    this.now = Math.max(this.now, t);
  }

  // The signals sent so far: "at signal target".
  sends(): string[] {
    return this.log.flatMap((a) => (a.type === 'send' ? [`${a.at} ${a.signal} ${a.target}`] : []));
  }
}
