// The "Node floor": the least a Node wrapper can cost, in CommonJS like graceful's own entry
// (an ES module would pay Node's ESM loader, ~1-3 ms, that graceful does not). It spawns
// the command with stdio inherited, forwards SIGTERM and SIGINT, and mirrors the exit
// status. graceful is measured against it in the same run, trial by trial.
'use strict';
const { spawn } = require('node:child_process');
const { constants } = require('node:os');

const child = spawn(process.argv[2], process.argv.slice(3), { stdio: 'inherit' });
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => {
  process.exit(code ?? 128 + constants.signals[signal]);
});
child.on('error', (error) => {
  process.stderr.write(`floor: ${error.message}\n`);
  process.exit(127);
});
