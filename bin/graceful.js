#!/bin/sh
":" //; [ -z "${NODE_OPTIONS+set}" ] && unset GRACEFUL_CHILD_NODE_OPTIONS || { export GRACEFUL_CHILD_NODE_OPTIONS="$NODE_OPTIONS"; unset NODE_OPTIONS; }; exec node "$0" "$@"
// The two lines above are sh, and a string and a comment to JavaScript. NODE_OPTIONS is the
// app's (a tracer's --require, --inspect, --max-old-space-size, flags this Node rejects):
// Node would apply it to graceful itself before any of graceful's code runs. So sh starts
// node without it, the value kept in GRACEFUL_CHILD_NODE_OPTIONS, and graceful gives it back
// to the child as it was (src/main.ts). One exec either way, as `#!/usr/bin/env node` was:
// the same pid (PID 1 stays PID 1), and no cost when NODE_OPTIONS is unset (README,
// Performance). `node bin/graceful.js` skips these lines: graceful then runs under
// NODE_OPTIONS itself, and the child still gets it unchanged.
// Starts the bundled CLI (built by `npm install` through the prepare script): dist/run.cjs for
// `graceful run`, `graceful run`'s code alone, which hands any command line its parser does
// not take to dist/cli.cjs, the whole CLI, started for every other command. Each comes with
// V8's code cache made at build time (dist/*.cjs.cache): V8 then skips parsing and compiling
// what the start and stop paths run (scripts/build.js says how they are made, and why two).
// This file is CommonJS (bin/package.json): the ESM loader alone would cost ~3 ms at every start.
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const vm = require('node:vm');

// V8's memory reducer, 2 s after the start instead of 8 (issue 28). Reading the code cache grows
// the heap by over 1 MB before any collection, which arms it; 8 s later (and again every 8 s
// until V8 judges the process idle) it ran two or three mark-compacts in incremental steps:
// 20 to 80 wake-ups of an idle graceful 8 to 25 s after its start (bench/analysis.md,
// "Idle wakeups"). At 2 s graceful is idle already and the same collections are over by ~3.5 s,
// past the stop and exit a short run meets at once and before the silence that counts; and
// the heap is compacted early (turned off instead, graceful kept ~0.5 MB more). Set here,
// before the cache is read: V8 checks a code cache against the flags it was made under (the
// build's training run passes here too; scripts/sea-main.cjs does the same). Not on node's
// command line: entry.ts's quick exit is skipped when Node was given flags, and
// `node bin/graceful.js` has no sh line. V8 11 to 14 (Node 20 to 25) know the flag; an
// unknown one would print an error at every start, so another V8 goes without.
// Node's own modules come with code caches too, which V8 also checks against its flags: the
// ones `graceful run` loads are loaded before the flag is set (child_process brings net, dgram
// and the streams), or each would be compiled from source, +9% of start-up (measured).
require('node:child_process');
require('node:os');
require('node:tty');
const v8Major = Number(process.versions.v8.split('.')[0]);
if (v8Major >= 11 && v8Major <= 14) require('node:v8').setFlagsFromString('--gc-memory-reducer-start-delay-ms=2000');
const dist = join(__dirname, '..', 'dist');

// Runs one bundle with its code cache; returns what it exports.
function load(name) {
  const file = join(dist, name);
  let source;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    process.stderr.write('graceful: not built yet: run `npm install` (or `npm run build`) in the graceful checkout\n');
    process.exit(70);
  }
  // The cache file is the build's id (16 bytes, also first in the bundle) then V8's data.
  // A copy, not a slice: a slice would keep the whole source alive through it.
  const id = Buffer.from(source.slice(11, 27), 'latin1').toString('latin1');
  let cachedData;
  try {
    const data = readFileSync(`${file}.cache`);
    if (data.toString('latin1', 0, 16) === id) cachedData = data.subarray(16);
  } catch {}
  // The file is the bundle already wrapped in the CommonJS module function (scripts/build.js).
  const script = new vm.Script(source, { filename: file, cachedData });
  if (process.env.GRACEFUL_DEBUG) {
    const state = cachedData === undefined ? 'missing' : script.cachedDataRejected ? 'rejected' : 'used';
    process.stderr.write(`graceful: code cache ${state} (${name})\n`);
  }
  if (process.env.GRACEFUL_WRITE_CODE_CACHE === name) {
    // The build's training run: what ran by exit is what the cache holds.
    process.on('exit', () => writeFileSync(`${file}.cache`, Buffer.concat([Buffer.from(id, 'latin1'), script.createCachedData()])));
  }
  const mod = { exports: {} };
  // This file's own require resolves what the bundle loads (node: modules, koffi) as one in
  // dist/ would; node:module's createRequire would load Node's ES module loader with it.
  script.runInThisContext()(mod.exports, require, mod, file, dist);
  return mod.exports;
}

// The build's training run of cli.cjs (GRACEFUL_WRITE_CODE_CACHE=cli.cjs) starts there directly.
const first = process.argv[2] === 'run' && process.env.GRACEFUL_WRITE_CODE_CACHE !== 'cli.cjs' ? 'run.cjs' : 'cli.cjs';
if (load(first).handOver === true) load('cli.cjs');
