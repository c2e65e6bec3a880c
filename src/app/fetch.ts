// fetch()'s connection pool as a resource the program can use(): Node has no public way to
// close it (Node 20's fetch is undici, whose global dispatcher keeps connections alive for
// 4 s after each response, and holds the event loop until then).
import type { FetchPool } from './types.js';

// Where undici keeps its global dispatcher: Node's built-in fetch and the undici package
// (setGlobalDispatcher) share it. It exists from the first fetch() on.
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

// The pool fetch() uses, to close as a resource. Whichever dispatcher is global when the
// resource closes is closed: it waits for the requests in flight, then ends its connections.
export function globalFetchPool(): FetchPool {
  return {
    async close() {
      const dispatcher = (globalThis as Record<symbol, { close?: () => Promise<void> } | undefined>)[GLOBAL_DISPATCHER];
      if (typeof dispatcher?.close === 'function') await dispatcher.close();
    },
  };
}
