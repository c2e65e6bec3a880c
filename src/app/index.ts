// The app's half of a graceful shutdown (docs/app.md): a program opens its resources with
// use(), registers its servers and workers with serve(), says ready(), and on SIGTERM or
// SIGINT (or shutdown()) the lifecycle fails readiness, stops accepting, drains in-flight
// work, closes the resources in reverse order, each with its share of the time, and exits
// with 0 only if everything closed, telling graceful each phase on the way.
//
// This file and types.ts are the public API: the published declarations are made of these
// two alone (scripts/build-app.js), so nothing of the implementation (the Host, the
// channel, the class behind Lifecycle) is part of it.
import { globalFetchPool as fetchPool } from './fetch.js';
import { nodeHost } from './host.js';
import { Lifecycle as Life } from './lifecycle.js';
import type { FetchPool, Lifecycle, LifecycleOptions } from './types.js';
export type {
  BudgetSource,
  Drainable,
  FastifyLike,
  FetchPool,
  Lifecycle,
  LifecycleOptions,
  LifeState,
  NetServerLike,
  Outcome,
  Phase,
  Plan,
  Probe,
  Servable,
  ServeOptions,
  ShutdownOptions,
  ShutdownReport,
  SourceCounts,
  StopSignal,
  UseOptions,
  WebSocketServerLike,
} from './types.js';

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
  const life = new Life(options, nodeHost(options.name));
  g[CURRENT] = life;
  return life;
}

/**
 * fetch()'s connection pool (undici's global dispatcher, which Node gives no public way to
 * close), as a resource: `await life.use('fetch', globalFetchPool, (pool) => pool.close())`.
 * Closing it waits for the requests in flight; fetch() fails after it.
 */
export const globalFetchPool: () => FetchPool = fetchPool;
