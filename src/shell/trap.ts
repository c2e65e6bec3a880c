// graceful's signal handlers: one for every signal graceful stops on or passes on (the table
// in config/signals.ts), each arrival turned into a machine event. The command that runs
// (run, check, up, a reload's coordinator) makes the one Trap of the process and says where
// signals go; a supervisor under a coordinator is given none. Handlers stay installed until
// graceful exits: a signal arriving while the report is written must not kill graceful with
// its default action and replace the child's exit status.
import type { Event, SignalName, StopSignal } from '../core/types.js';
import { TRAPPED } from '../config/signals.js';

export type SignalEvent = Extract<Event, { type: 'stop-requested' | 'forward' | 'suspend' }>;

/** How arriving signals are read. */
export interface TrapMode {
  /** --interactive: each signal's `interactive` disposition, where the table gives one. */
  interactive: boolean;
  /** Whether the signal reached the child too (terminal mode); see ui/terminal.ts. */
  delivered(signal: SignalName): boolean;
}

export const SESSION: TrapMode = { interactive: false, delivered: () => false };

// Node keeps a process's handlers in one list: two Traps would deliver every signal twice.
let made = false;

/** The process's signal handlers, and where they deliver. */
export class Trap {
  #deliver: ((event: SignalEvent) => void) | null = null;
  #mode: TrapMode = SESSION;

  // Installs the handlers, stamping each arrival with `now()`; until route() is called, a
  // signal is caught and dropped (graceful must not die of it).
  constructor(now: () => number) {
    if (made) throw new Error('graceful installs its signal handlers once per process: pass the Trap along');
    made = true;
    for (const row of TRAPPED) {
      process.on(row.name as NodeJS.Signals, () => {
        const at = now();
        const delivered = this.#mode.delivered(row.name);
        const d = (this.#mode.interactive && row.interactive) || row.disposition;
        // The table's type lets only a StopSignal have the disposition 'stop'.
        if (d === 'stop') this.#deliver?.({ type: 'stop-requested', at, signal: row.name as StopSignal, delivered });
        else if (d === 'forward') this.#deliver?.({ type: 'forward', at, signal: row.name, delivered });
        else this.#deliver?.({ type: 'suspend', at, signal: row.name, delivered });
      });
    }
  }

  // From now on, signals go to `deliver`, read as `how` says (graceful check --repeat, a
  // restart and its delay each route them to what is running then).
  route(deliver: (event: SignalEvent) => void, how: TrapMode = SESSION): void {
    this.#deliver = deliver;
    this.#mode = how;
  }
}
