// Builds dist/ (run by `npm install` through the prepare script, and before `npm test`):
//
// 1. esbuild bundles the CLI into two CommonJS files, each wrapped as Node's loader would
//    wrap it (bin/graceful.js runs them, not require()): dist/run.cjs from src/main-run.ts,
//    `graceful run` alone, and dist/cli.cjs from src/main.ts, the whole CLI (commander, every
//    command). A process runs one of them: bin/graceful.js picks run.cjs for `graceful run`,
//    and run.cjs hands any command line its parser does not take to cli.cjs. Module loading
//    is most of a Node CLI's start-up: one file means one read and no ESM loader. And V8 keeps
//    a bundle's whole source in memory for as long as the process lives: a supervisor that
//    holds only run's code pays ~1.3 MB less of private memory (bench/analysis.md, "graceful
//    run's own bundle"). What a run does not need (--pre-stop's hooks, pidusage, chalk off
//    a terminal, reloads) is in run.cjs but inside esbuild's lazy initialisers, so it is
//    neither run nor compiled unless used.
// 2. A training run of each file (a child that is started, then stopped by SIGTERM) makes
//    V8's code cache for it, dist/run.cjs.cache and dist/cli.cjs.cache: the bytecode of every
//    function the start and the stop paths run. bin/graceful.js hands it to V8, which then
//    skips parsing and compiling them: about 14 ms of a 52 ms `graceful run -- true` (README,
//    Performance). A cache V8 rejects (another Node version, other V8 flags) only costs that
//    time back.
// 3. The library, `graceful-supervisor/app` (src/app/): built apart by scripts/build-app.js into
//    dist/app/, ESM and CommonJS with types. Nothing of it is in dist/run.cjs or dist/cli.cjs.
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { build } from 'esbuild';
import { buildApp } from './build-app.js';

const root = new URL('..', import.meta.url);
const dist = new URL('dist/', root);
const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);

// The CLI's two bundles: the whole CLI, and graceful run's entry alone (1. above).
const BUNDLES = [
  ['src/main.ts', 'cli.cjs'],
  ['src/main-run.ts', 'run.cjs'],
];
const bundled = [];
for (const [entry, outfile] of BUNDLES) {
  const result = await build({
    entryPoints: [fileURLToPath(new URL(entry, root))],
    bundle: true,
    write: false,
    outfile: `dist/${outfile}`,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // NO_MINIFY=1 keeps names readable in a CPU or heap profile (bench/analysis.md was made so).
    minify: !process.env.NO_MINIFY,
    legalComments: 'linked',
    define: {
      __VERSION__: JSON.stringify(version),
      // The only use is createRequire(import.meta.url), for koffi; a path does as well.
      'import.meta.url': '__filename',
    },
    // koffi carries native binaries: it stays a real dependency, required at run time, and
    // only where PID 1 / subreaper duties need it.
    external: ['koffi', '@koromix/*'],
    logLevel: 'warning',
  });
  bundled.push(...result.outputFiles);
}

// Two more files of their own, each a CommonJS bundle: the preload graceful check gives Node
// programs (src/commands/check/preload.ts: loaded by the checked program, never by graceful;
// node18, the oldest Node it may meet), and the request stream of graceful check --reload,
// run in a worker thread (src/commands/check/stream-worker.ts).
for (const [entry, outfile, target] of [
  ['src/commands/check/preload.ts', 'check-preload.cjs', 'node18'],
  ['src/commands/check/stream-worker.ts', 'stream-worker.cjs', 'node20'],
  // graceful check's audit of any program (src/shell/audit/): the shim it spawns in place
  // of the program, run by graceful's own node, and the receiver's worker thread.
  ['src/shell/audit/shim.ts', 'audit-shim.cjs', 'node20'],
  ['src/shell/audit/worker.ts', 'audit-worker.cjs', 'node20'],
]) {
  await build({
    entryPoints: [fileURLToPath(new URL(entry, root))],
    bundle: true,
    outfile: fileURLToPath(new URL(outfile, dist)),
    format: 'cjs',
    platform: 'node',
    target,
    // The audit's files load koffi, a native module, at run time (as the CLI does).
    external: ['koffi', '@koromix/*'],
    define: { 'import.meta.url': '__filename' },
    logLevel: 'warning',
  });
}

// The build's id, first in the file: the cache is used only with the bundle it was made from
// (V8 itself checks only the source's length). Then the bundle inside the function that
// Node's CommonJS loader would wrap it in, written here once: bin/graceful.js compiles the
// file as it is, and holds one copy of its 260 KB in memory instead of two (it used to add
// the wrapper itself, a second string as large as the first).
const BUILD_TAG = /^\/\*graceful:[0-9a-f]{16}\*\/\(function \(exports, require, module, __filename, __dirname\) \{/;
for (const file of bundled) {
  if (!file.path.endsWith('.cjs')) {
    writeFileSync(file.path, file.contents);
    continue;
  }
  const id = createHash('sha256').update(file.contents).digest('hex').slice(0, 16);
  const text = `/*graceful:${id}*/(function (exports, require, module, __filename, __dirname) {${file.text}\n})`;
  if (!BUILD_TAG.test(text)) throw new Error('build tag does not match what bin/graceful.js reads');
  writeFileSync(file.path, text);
}

// The training runs, one per bundle (bin/graceful.js loads the file GRACEFUL_WRITE_CODE_CACHE
// names, and writes its cache at exit). Its child, sh, asks graceful to stop (SIGTERM to its
// parent: setpriv execs into sh, so that is graceful) and waits, so the whole stop path runs
// and is cached. cli.cjs is trained on the same run, read by commander as
// cli.cjs reads every run command line run.cjs hands over.
const bin = fileURLToPath(new URL('bin/graceful.js', root));
for (const [, outfile] of BUNDLES) {
  const cache = new URL(`${outfile}.cache`, dist);
  const env = { ...process.env, GRACEFUL_WRITE_CODE_CACHE: outfile };
  delete env.NODE_OPTIONS;
  const training = spawnSync(process.execPath, [bin, 'run', '--timeout', '5s', '--', 'sh', '-c', 'kill -TERM $PPID; exec sleep 5'], {
    env,
    stdio: 'ignore',
    timeout: 20_000,
  });
  if (!existsSync(cache)) {
    const why = training.error?.message ?? `exit status ${training.status ?? training.signal}`;
    console.warn(`build: no code cache made for dist/${outfile} (training run: ${why}); graceful works, and starts about 14 ms slower`);
  }
}

await buildApp(root);
