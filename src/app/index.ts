// The app's half of a graceful shutdown (README, "The library"): a program opens its
// resources with use(), registers its servers and workers with serve(), says ready(), and
// on SIGTERM or SIGINT (or shutdown()) the lifecycle fails readiness, stops accepting,
// drains in-flight work, closes the resources in reverse order, each with its timeout, and
// exits with 0 only if everything closed, telling graceful each phase on the way.
import { nodeHost } from './host.js';
import { Lifecycle, type LifecycleOptions } from './lifecycle.js';

export { Lifecycle } from './lifecycle.js';
export type { LifeState, LifecycleOptions, Probe, ShutdownOptions, ShutdownReport, UseOptions } from './lifecycle.js';
export type { Drainable, FastifyLike, NetServerLike, Servable, WebSocketServerLike } from './drain.js';
export type { BudgetSource, Outcome, Phase, SourceCounts } from './protocol.js';
export type { Plan } from './plan.js';

// One lifecycle per process, even when the ESM and the CommonJS builds are both loaded:
// two would each catch the signals and race to exit.
const CURRENT = Symbol.for('graceful.app.lifecycle');

// Creates the process's lifecycle and installs its signal handlers.
export function lifecycle(options: LifecycleOptions = {}): Lifecycle {
  const g = globalThis as { [CURRENT]?: Lifecycle };
  const current = g[CURRENT];
  if (current && current.state !== 'stopped') {
    throw new Error('lifecycle(): this process has one already; create it once and share it (export it from a module)');
  }
  const life = new Lifecycle(options, nodeHost(options.name));
  g[CURRENT] = life;
  return life;
}
