// The files graceful check hands to others, built beside graceful's own bundle in dist/ by
// scripts/build.js: the preload it gives the Node programs it checks (preload.ts), and how it
// gives it; the worker of the request stream (stream-worker.ts).
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Bundle = 'check-preload.cjs' | 'stream-worker.cjs';

// The directory they are in. import.meta.url is the bundle's __filename (dist/cli.cjs), or this
// file (src/commands/check/) when the sources are run as they are: dist/ is then at the root.
// The standalone executable writes them into a private dist/ of its own (scripts/sea-main.cjs).
export function distDir(): string {
  const here = import.meta.url.startsWith('file:') ? fileURLToPath(import.meta.url) : import.meta.url;
  return basename(dirname(here)) === 'dist' ? dirname(here) : join(dirname(here), '..', '..', '..', 'dist');
}

// The path of one of them.
export function bundlePath(name: Bundle): string {
  return join(distDir(), name);
}

// In the standalone executable, graceful's node runs no script of its own: the audit's node
// shim and keeper are a hidden mode of the executable instead (scripts/sea-main.cjs).
export const SEA_AUDIT_SHIM = '__audit-shim';
export function inExecutable(): boolean {
  const sea = (process as { getBuiltinModule?: (id: string) => { isSea?: () => boolean } | undefined }).getBuiltinModule?.('node:sea');
  return sea?.isSea?.() === true;
}

// The environment that loads the preload into the Node programs of the tree, each writing
// its trace into `traces`: the user's own NODE_OPTIONS first, kept as they are. Nothing
// without the preload built.
export function preloadEnv(traces: string): Record<string, string> {
  const preload = bundlePath('check-preload.cjs');
  if (!existsSync(preload)) return {};
  // NODE_OPTIONS takes double quotes, with backslash escapes, around a value with spaces.
  const quoted = `"${preload.replace(/(["\\])/g, '\\$1')}"`;
  const own = process.env.NODE_OPTIONS ?? '';
  return { NODE_OPTIONS: `${own}${own ? ' ' : ''}--require ${quoted}`, GRACEFUL_CHECK_TRACE: traces };
}
