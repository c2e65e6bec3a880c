// npm run build:binary: dist/graceful-linux-<arch>, one file that runs graceful where there is
// no Node (docs/binary.md). A Node single executable application (SEA), made from the Node
// that runs this script:
//
// 1. The ordinary build (scripts/build.js, run first by the npm script) made dist/run.cjs and
//    dist/cli.cjs and their V8 code caches. They go in as assets, with koffi's native module for this platform
//    and graceful check's preload; the main script is scripts/sea-main.cjs, which loads them.
// 2. node --experimental-sea-config writes the blob; a copy of node is stripped of its symbol
//    table (strip(1), binutils: about 20 MB less), made deaf to NODE_OPTIONS (below), and
//    postject (npm) injects the blob into it.
//
// NODE_OPTIONS: Node 20 applies it to a single executable too (Node 24's execArgvExtension
// "none" does not exist here), before any JavaScript runs, so the app's --require'd tracer
// would load into graceful. The C string "NODE_OPTIONS" that node's C++ reads the variable
// by is emptied in the copy (its first byte made NUL): the executable's runtime reads no
// options from the environment, and the child inherits NODE_OPTIONS untouched.
// There is exactly one such C string (NUL on both sides) in .rodata; the build fails if
// that changes.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}dist/`;
const work = `${dist}sea/`;
const arch = process.arch;
const out = `${dist}graceful-linux-${arch}`;
const require = createRequire(import.meta.url);

if (process.platform !== 'linux') throw new Error(`build:binary: Linux only (this is ${process.platform})`);
for (const f of ['run.cjs', 'run.cjs.cache', 'cli.cjs', 'cli.cjs.cache', 'check-preload.cjs', 'stream-worker.cjs', 'audit-shim.cjs', 'audit-worker.cjs']) {
  if (!existsSync(`${dist}${f}`)) throw new Error(`build:binary: dist/${f} is missing: run npm run build first`);
}
const koffiNode = require.resolve(`@koromix/koffi-linux-${arch}/linux_${arch}/koffi.node`);

rmSync(work, { recursive: true, force: true });
mkdirSync(work);
const config = {
  main: `${root}scripts/sea-main.cjs`,
  output: `${work}graceful.blob`,
  disableExperimentalSEAWarning: true,
  // The main script is small; each bundle brings its own code cache (*.cjs.cache).
  useSnapshot: false,
  useCodeCache: false,
  assets: {
    'run.cjs': `${dist}run.cjs`,
    'run.cjs.cache': `${dist}run.cjs.cache`,
    'cli.cjs': `${dist}cli.cjs`,
    'cli.cjs.cache': `${dist}cli.cjs.cache`,
    'check-preload.cjs': `${dist}check-preload.cjs`,
    'stream-worker.cjs': `${dist}stream-worker.cjs`,
    // graceful check's audit of every process: its thread, and its shim and keeper where
    // there is no perl (a hidden mode of the executable: scripts/sea-main.cjs).
    'audit-shim.cjs': `${dist}audit-shim.cjs`,
    'audit-worker.cjs': `${dist}audit-worker.cjs`,
    'koffi.node': koffiNode,
  },
};
writeFileSync(`${work}sea-config.json`, JSON.stringify(config, null, 2));
execFileSync(process.execPath, ['--experimental-sea-config', `${work}sea-config.json`], { stdio: ['ignore', 'ignore', 'inherit'] });

rmSync(out, { force: true });
copyFileSync(process.execPath, out);
chmodSync(out, 0o755);
const strip = spawnSync('strip', ['--strip-all', out], { stdio: ['ignore', 'ignore', 'inherit'] });
if (strip.error || strip.status !== 0) {
  throw new Error(`build:binary: strip failed (${strip.error?.message ?? `exit ${strip.status}`}): install binutils`);
}

const bytes = readFileSync(out);
const rodata = elfSection(bytes, '.rodata');
const literal = Buffer.from('\0NODE_OPTIONS\0', 'latin1');
const hits = [];
for (let at = bytes.indexOf(literal, rodata.start); at !== -1 && at < rodata.end; at = bytes.indexOf(literal, at + 1)) {
  // V8's startup snapshot (also in .rodata) holds the name as JavaScript strings, each after
  // its length, 12 as a 32-bit word: those are JavaScript's own and stay.
  if (bytes.readUInt32LE(at - 3) !== 12) hits.push(at);
}
if (hits.length !== 1) throw new Error(`build:binary: expected one C string "NODE_OPTIONS" in node, found ${hits.length}`);
bytes[hits[0] + 1] = 0; // "NODE_OPTIONS" -> "": getenv("") finds nothing
writeFileSync(out, bytes);

execFileSync(
  process.execPath,
  [require.resolve('postject/dist/cli.js'), out, 'NODE_SEA_BLOB', `${work}graceful.blob`, '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'],
  // Its warnings about the section names of a stripped node ("Can't find string offset")
  // are LIEF's and harmless: shown only if it fails.
  { stdio: ['ignore', 'ignore', 'pipe'] },
);
rmSync(work, { recursive: true, force: true });

// It runs, and it is graceful.
const check = spawnSync(out, ['--version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '--no-such-flag' } });
if (check.status !== 0) throw new Error(`build:binary: ${out} --version failed: ${check.stderr || check.error?.message}`);
const mb = (statSync(out).size / 1e6).toFixed(1);
console.error(`build:binary: ${out.slice(root.length)} (${mb} MB, graceful ${check.stdout.trim() || check.stderr.trim()})`);

// A section's file range in an ELF64 little-endian file (Linux x64 and arm64).
function elfSection(elf, name) {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) throw new Error('build:binary: node is not a 64-bit little-endian ELF file');
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const size = elf.readUInt16LE(0x3a);
  const count = elf.readUInt16LE(0x3c);
  const header = (i) => shoff + i * size;
  const names = Number(elf.readBigUInt64LE(header(elf.readUInt16LE(0x3e)) + 0x18));
  for (let i = 0; i < count; i++) {
    const h = header(i);
    const at = names + elf.readUInt32LE(h);
    if (elf.toString('latin1', at, elf.indexOf(0, at)) !== name) continue;
    const start = Number(elf.readBigUInt64LE(h + 0x18));
    return { start, end: start + Number(elf.readBigUInt64LE(h + 0x20)) };
  }
  throw new Error(`build:binary: no ${name} section in node`);
}
