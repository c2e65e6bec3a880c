// The standalone executable's entry point (scripts/build-binary.js makes it the main script of
// a Node single executable application). It does what bin/graceful.js does for the npm
// install, from the executable's own assets instead of files:
//
// - the bundles (run.cjs for `graceful run`, handing over to cli.cjs what its parser does not
//   take; cli.cjs for the rest), each compiled with its V8 code cache (*.cjs.cache), all made
//   by the ordinary build;
// - koffi's native module (koffi.node), which Node can only load from a file: written to an
//   O_TMPFILE file (no name, gone with its last descriptor) and loaded through
//   /proc/self/fd/N; where that cannot be done (no O_TMPFILE on that file system, no /proc),
//   to a file created exclusively (O_EXCL, mode 0700) and removed as soon as it is loaded.
//   The directory: GRACEFUL_TMPDIR, else TMPDIR, else /tmp. It must allow exec (a `noexec`
//   /tmp refuses the mapping): if it cannot be done, one line names the fix and graceful
//   exits 71 (EX_OSERR) before starting anything (docs/binary.md).
//
// Only node: modules can be required in here (Node's rule for a single executable's main).
'use strict';
const sea = require('node:sea');
const fs = require('node:fs');
const vm = require('node:vm');
const { join } = require('node:path');

// EXIT.nativeUnavailable in src/core/exit.ts (this file cannot import it).
const EXIT_NATIVE = 71;
// Linux's O_TMPFILE (with O_DIRECTORY, as the kernel wants it); Node does not export it.
const O_TMPFILE = 0o20200000;

function nativeError(dir, why) {
  process.stderr.write(
    `graceful: cannot load its native part from ${dir} (${why}): give it a writable directory that allows exec, GRACEFUL_TMPDIR=/path or docker run --tmpfs /tmp:exec (docs/binary.md)\n`,
  );
  process.exit(EXIT_NATIVE);
}

let native;
function loadNative() {
  if (native) return native;
  const dir = process.env.GRACEFUL_TMPDIR || process.env.TMPDIR || '/tmp';
  // getRawAsset: the bytes where they lie in the executable, not a copy (1.2 MB less memory).
  const bytes = new Uint8Array(sea.getRawAsset('koffi.node'));
  const mod = { exports: {} };
  let firstError = null;
  // 1. Nameless: nothing to clean up, nothing another process can swap in.
  try {
    const fd = fs.openSync(dir, fs.constants.O_RDWR | O_TMPFILE, 0o700);
    try {
      fs.writeSync(fd, bytes);
      process.dlopen(mod, `/proc/self/fd/${fd}`);
      if (process.env.GRACEFUL_DEBUG) process.stderr.write(`graceful: native part loaded from an O_TMPFILE file in ${dir}\n`);
      return (native = mod.exports);
    } finally {
      fs.closeSync(fd);
    }
  } catch (error) {
    firstError = error;
  }
  // 2. A name of its own, made exclusively, removed once loaded (or not).
  const file = join(dir, `.graceful-koffi-${process.pid}-${Math.random().toString(36).slice(2)}.node`);
  try {
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o700);
    try {
      fs.writeSync(fd, bytes);
    } finally {
      fs.closeSync(fd);
    }
    try {
      process.dlopen(mod, file);
    } finally {
      fs.rmSync(file, { force: true });
    }
    if (process.env.GRACEFUL_DEBUG) process.stderr.write(`graceful: native part loaded from ${file}, removed (O_TMPFILE: ${firstError && firstError.code})\n`);
    return (native = mod.exports);
  } catch (error) {
    const why = String(error && error.message ? error.message : error).split('\n')[0];
    nativeError(dir, /failed to map segment|operation not permitted/i.test(why) ? `${why}: mounted noexec?` : why || String(firstError));
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

// The bundle's require: koffi is the embedded native module, the rest is Node's own.
function bundleRequire(id) {
  if (id === 'koffi') return loadNative();
  return require(id);
}
bundleRequire.resolve = (id) => {
  throw Object.assign(new Error(`Cannot find module '${id}' (standalone executable)`), { code: 'MODULE_NOT_FOUND' });
};

// NODE_OPTIONS is the app's; this runtime did not read it (scripts/build-binary.js). Handed
// to the bundle as bin/graceful.js's sh line hands it: aside, for the child (src/main.ts).
if (process.env.NODE_OPTIONS === undefined) delete process.env.GRACEFUL_CHILD_NODE_OPTIONS;
else {
  process.env.GRACEFUL_CHILD_NODE_OPTIONS = process.env.NODE_OPTIONS;
  delete process.env.NODE_OPTIONS;
}

const command = process.argv[2];

// graceful check's audit where there is no perl: its shim and its keeper are this executable
// in a hidden mode (SEA_AUDIT_SHIM in src/commands/check/bundles.ts), running the audit-shim
// bundle with the arguments that follow, and nothing else.
if (command === '__audit-shim') {
  process.argv.splice(2, 1);
  const shim = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${sea.getAsset('audit-shim.cjs', 'utf8')}\n})`, { filename: join(__dirname, 'audit-shim.cjs') });
  const shimModule = { exports: {} };
  shim.runInThisContext()(shimModule.exports, bundleRequire, shimModule, join(__dirname, 'audit-shim.cjs'), __dirname);
  return;
}

// graceful run, check and up need the native part at start (the reaper, PID 1): load it before
// anything is started, so that a failure stops graceful before there is a child to leave.
if (command === 'run' || command === 'check' || command === 'up') loadNative();

// The bundle finds graceful check's preload (and check --reload its stream worker) in the
// directory of its own file, dist/: for check, they go into a private directory of that name, removed at exit. One left
// by a graceful that could not remove it (SIGKILLed) is removed by the next check, once the
// pid in its name is gone.
let dir = __dirname;
if (command === 'check') {
  const base = process.env.GRACEFUL_TMPDIR || process.env.TMPDIR || '/tmp';
  try {
    for (const name of fs.readdirSync(base)) {
      const m = /^graceful-check-(\d+)-/.exec(name);
      if (m && !alive(Number(m[1]))) fs.rmSync(join(base, name), { recursive: true, force: true });
    }
  } catch {
    // not ours to clean
  }
  try {
    const tmp = fs.mkdtempSync(join(base, `graceful-check-${process.pid}-`));
    fs.mkdirSync(join(tmp, 'dist'));
    fs.writeFileSync(join(tmp, 'dist', 'check-preload.cjs'), sea.getAsset('check-preload.cjs', 'utf8'));
    // check --reload runs its request stream in a worker thread, from a file of its own.
    fs.writeFileSync(join(tmp, 'dist', 'stream-worker.cjs'), sea.getAsset('stream-worker.cjs', 'utf8'));
    // The audit of every process: its receiver runs in a worker thread, from a file, and
    // loads koffi there by its package path (src/shell/process/ffi.ts's loadKoffi): the
    // native module goes where that path resolves, beside it (mode 0700: the directory must
    // allow exec, as for the native part above). The shim is checked for, and run from the
    // executable (above) where there is no perl.
    fs.writeFileSync(join(tmp, 'dist', 'audit-worker.cjs'), sea.getAsset('audit-worker.cjs', 'utf8'));
    fs.writeFileSync(join(tmp, 'dist', 'audit-shim.cjs'), sea.getAsset('audit-shim.cjs', 'utf8'));
    const koffiDir = join(tmp, 'dist', 'node_modules', '@koromix', `koffi-linux-${process.arch}`, `linux_${process.arch}`);
    fs.mkdirSync(koffiDir, { recursive: true });
    fs.writeFileSync(join(koffiDir, 'koffi.node'), new Uint8Array(sea.getRawAsset('koffi.node')), { mode: 0o700 });
    dir = join(tmp, 'dist');
    process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
  } catch {
    // Without it, check says why its Node-only checks are not run.
  }
}
// As bin/graceful.js, before the cache is read (the cache was made under this flag): V8's
// memory reducer 2 s after the start, not 8 to 25 s, so an idle graceful is silent (issue 28).
// Node's own modules come with code caches too, which V8 also checks against its flags: the
// ones `graceful run` loads are loaded before the flag is set (child_process brings net, dgram
// and the streams), or each would be compiled from source, +9% of start-up (measured).
require('node:child_process');
require('node:os');
require('node:tty');
const v8Major = Number(process.versions.v8.split('.')[0]);
if (v8Major >= 11 && v8Major <= 14) require('node:v8').setFlagsFromString('--gc-memory-reducer-start-delay-ms=2000');
// Runs one bundle with its code cache, as bin/graceful.js does; returns what it exports.
function load(name) {
  const source = sea.getAsset(name, 'utf8');
  // As bin/graceful.js: the cache is the build's id (16 bytes, also first in the bundle) then V8's data.
  const cache = Buffer.from(sea.getRawAsset(`${name}.cache`));
  const cachedData = cache.toString('latin1', 0, 16) === source.slice(11, 27) ? cache.subarray(16) : undefined;
  const file = join(dir, name);
  const script = new vm.Script(source, { filename: file, cachedData });
  if (process.env.GRACEFUL_DEBUG) {
    const state = cachedData === undefined ? 'missing' : script.cachedDataRejected ? 'rejected' : 'used';
    process.stderr.write(`graceful: code cache ${state} (${name})\n`);
  }
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, bundleRequire, mod, file, dir);
  return mod.exports;
}
if (load(command === 'run' ? 'run.cjs' : 'cli.cjs').handOver === true) load('cli.cjs');
