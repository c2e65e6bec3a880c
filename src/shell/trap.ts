// Installs a handler for every signal graceful stops on or passes on (the table in
// signals.ts) and turns each arrival into a machine event. Handlers stay installed until
// graceful exits: a signal arriving while the report is written must not kill graceful
// with its default action and replace the child's exit status.
import type { Event } from '../core/types.js';
import { TRAPPED } from '../signals.js';

type SignalEvent = Extract<Event, { type: 'stop-requested' | 'forward' | 'suspend' }>;

// Routes trapped signals to `deliver`, stamped with `now()`.
export function installTrap(deliver: (event: SignalEvent) => void, now: () => number): void {
  for (const { name, disposition } of TRAPPED) {
    const type = disposition === 'stop' ? 'stop-requested' : disposition;
    process.on(name as NodeJS.Signals, () => deliver({ type, at: now(), signal: name }));
  }
}
