// bench/receiver.c for a machine with neither a C compiler nor Python: the same modes and
// lines (see there). A Node child adds its own runtime's delay (~0.2 ms) to every figure;
// the bench says which receiver it used.
import { openSync } from 'node:fs';

const [mode = 'term', arg] = process.argv.slice(2);
const now = () => process.hrtime.bigint();

// sd_notify needs an AF_UNIX datagram socket, which Node has not: this receiver cannot
// take part in the --ready notify figure (the bench uses the C or Python one there).
const ready = () => process.stdout.write('ready\n');

if (mode === 'exit') {
  ready();
  setTimeout(() => process.stdout.write(`exiting ${now()}\n`, () => process.exit(0)), Number(arg));
} else if (mode === 'ignore') {
  process.on('SIGTERM', () => {});
  process.on('SIGINT', () => {});
  if (arg) openSync(arg, 'w');
  setInterval(() => {}, 1 << 30);
  ready();
} else {
  const stop = () => {
    const at = now();
    process.stdout.write(`term ${at}\n`, () => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  setInterval(() => {}, 1 << 30);
  ready();
}
