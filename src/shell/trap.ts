// Installs a handler for every signal graceful stops on or passes on (the table in
// signals.ts) and turns each arrival into a machine event. Handlers stay installed until
// graceful exits: a signal arriving while the report is written must not kill graceful
// with its default action and replace the child's exit status.
import type { Event } from '../core/types.js';
import { TRAPPED } from '../signals.js';

type SignalEvent = Extract<Event, { type: 'stop-requested' | 'forward' | 'suspend' }>;

let target: ((event: SignalEvent) => void) | null = null;

// Routes trapped signals to `deliver`, stamped with `now()`. The handlers are installed
// once per process; a later call (graceful check --repeat) only changes where they go.
export function installTrap(deliver: (event: SignalEvent) => void, now: () => number): void {
  const installed = target !== null;
  target = deliver;
  if (installed) return;
  for (const { name, disposition } of TRAPPED) {
    const type = disposition === 'stop' ? 'stop-requested' : disposition;
    process.on(name as NodeJS.Signals, () => target?.({ type, at: now(), signal: name }));
  }
}
