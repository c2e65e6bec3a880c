// Bundles src/cli.ts into dist/ with esbuild. One file on the start path: module loading is
// most of a Node CLI's start-up time (see README, Performance); what is not needed on every
// run (the supervisor after a usage error, execa for --pre-stop, chalk off a terminal) is
// split into chunks loaded by dynamic import() only when used.
import { readFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: ['src/cli.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  legalComments: 'linked',
  chunkNames: 'chunks/[name]-[hash]',
  define: { __VERSION__: JSON.stringify(version) },
  // koffi carries native binaries: it stays a real dependency, required at run time, and
  // only where PID 1 / subreaper duties need it.
  external: ['koffi', '@koromix/*'],
  // commander is CommonJS: its require() calls of Node built-ins need a real require.
  banner: { js: "import{createRequire as __graceful_cr}from'node:module';const require=__graceful_cr(import.meta.url);" },
  logLevel: 'warning',
});
