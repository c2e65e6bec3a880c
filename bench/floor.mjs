// The "Node floor": the least a Node-based wrapper can cost. Spawns the command with stdio
// inherited, forwards SIGTERM and SIGINT, mirrors the exit status. graceful is measured
// against it in the same run.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

const child = spawn(process.argv[2], process.argv.slice(3), { stdio: 'inherit' });
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? 128 + constants.signals[signal]));
