// Installs a handler for every signal graceful stops on or passes on (the table in
// signals.ts) and turns each arrival into a machine event. Handlers stay installed until
// graceful exits: a signal arriving while the report is written must not kill graceful
// with its default action and replace the child's exit status.
import type { Event, StopSignal } from '../core/types.js';
import { TRAPPED } from '../config/signals.js';

type SignalEvent = Extract<Event, { type: 'stop-requested' | 'forward' | 'suspend' }>;

/** How arriving signals are read. */
export interface TrapMode {
  /** --interactive: each signal's `interactive` disposition, where the table gives one. */
  interactive: boolean;
  /** Whether the signal reached the child too (terminal mode); see terminal.ts. */
  delivered(signal: string): boolean;
}

const SESSION: TrapMode = { interactive: false, delivered: () => false };

let target: ((event: SignalEvent) => void) | null = null;
let mode: TrapMode = SESSION;

// Routes trapped signals to `deliver`, stamped with `now()`. The handlers are installed
// once per process; a later call (graceful check --repeat, a restart) only changes where
// they go and how they are read.
export function installTrap(deliver: (event: SignalEvent) => void, now: () => number, how: TrapMode = SESSION): void {
  const installed = target !== null;
  target = deliver;
  mode = how;
  if (installed) return;
  for (const { name, disposition, interactive } of TRAPPED) {
    process.on(name as NodeJS.Signals, () => {
      const d = mode.interactive && interactive ? interactive : disposition;
      const at = now();
      const delivered = mode.delivered(name);
      // The table's 'stop' rows are the StopSignal names.
      if (d === 'stop') target?.({ type: 'stop-requested', at, signal: name as StopSignal, delivered });
      else target?.({ type: d, at, signal: name, delivered });
    });
  }
}
