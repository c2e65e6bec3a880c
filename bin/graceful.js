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
// Starts the bundled CLI, dist/cli.cjs (built by `npm install` through the prepare script),
// with V8's code cache made at build time, dist/cli.cjs.cache: V8 then skips parsing and
// compiling what the start and stop paths run (scripts/build.js says how it is made). This
// file is CommonJS (bin/package.json): the ESM loader alone would cost ~3 ms at every start.
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const vm = require('node:vm');

const file = join(__dirname, '..', 'dist', 'cli.cjs');
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
const script = new vm.Script(source, {
  filename: file,
  cachedData,
});
if (process.env.GRACEFUL_DEBUG) {
  const state = cachedData === undefined ? 'missing' : script.cachedDataRejected ? 'rejected' : 'used';
  process.stderr.write(`graceful: code cache ${state}\n`);
}
if (process.env.GRACEFUL_WRITE_CODE_CACHE) {
  // The build's training run: what ran by exit is what the cache holds.
  process.on('exit', () => writeFileSync(`${file}.cache`, Buffer.concat([Buffer.from(id, 'latin1'), script.createCachedData()])));
}
const mod = { exports: {} };
// This file's own require resolves what the bundle loads (node: modules, koffi) as one in
// dist/ would; node:module's createRequire would load Node's ES module loader with it.
script.runInThisContext()(mod.exports, require, mod, file, join(__dirname, '..', 'dist'));
