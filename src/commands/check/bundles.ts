// The files graceful check hands to others, built beside graceful's own bundle in dist/ by
// scripts/build.js: the preload it gives the Node programs it checks (preload.ts) and the
// worker of the request stream (stream-worker.ts).
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Bundle = 'check-preload.cjs' | 'stream-worker.cjs';

// The path of one of them. import.meta.url is the bundle's __filename (dist/cli.cjs), or this
// file (src/commands/check/) when the sources are run as they are: dist/ is then at the root.
export function bundlePath(name: Bundle): string {
  const here = import.meta.url.startsWith('file:') ? fileURLToPath(import.meta.url) : import.meta.url;
  const dist = basename(dirname(here)) === 'dist' ? dirname(here) : join(dirname(here), '..', '..', '..', 'dist');
  return join(dist, name);
}
