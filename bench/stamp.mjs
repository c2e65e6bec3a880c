// The child the latency figures are measured with: prints "ready" once its handlers are
// installed, and stamps events with process.hrtime.bigint(), CLOCK_MONOTONIC, which every
// process on the machine shares.
//   stamp.mjs           on SIGTERM (or SIGINT): prints "term <ns>" and exits 0
//   stamp.mjs exit      prints "exiting <ns>" and exits 0 at once
//   stamp.mjs ignore    ignores SIGTERM (for escalation)
//   stamp.mjs idle      does nothing until SIGTERM (for memory)
const mode = process.argv[2] ?? 'term';
if (mode === 'exit') {
  process.stdout.write(`exiting ${process.hrtime.bigint()}\n`, () => process.exit(0));
} else {
  // SIGINT too: pm2-runtime stops its apps with SIGINT.
  const stop = () => {
    if (mode === 'ignore') return;
    process.stdout.write(`term ${process.hrtime.bigint()}\n`, () => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  setInterval(() => {}, 1 << 30);
  process.stdout.write('ready\n');
}
