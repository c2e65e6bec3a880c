// The child the latency figures are measured with: prints "ready" once its handlers are
// installed, and stamps events with process.hrtime.bigint(), CLOCK_MONOTONIC, which every
// process on the machine shares.
//   stamp.mjs           on SIGTERM: prints "term <ns>" and exits 0
//   stamp.mjs exit      prints "exiting <ns>" and exits 0 at once
//   stamp.mjs ignore    ignores SIGTERM (for escalation)
//   stamp.mjs idle      does nothing until SIGTERM (for memory)
const mode = process.argv[2] ?? 'term';
if (mode === 'exit') {
  process.stdout.write(`exiting ${process.hrtime.bigint()}\n`, () => process.exit(0));
} else {
  process.on('SIGTERM', () => {
    if (mode === 'ignore') return;
    process.stdout.write(`term ${process.hrtime.bigint()}\n`, () => process.exit(0));
  });
  setInterval(() => {}, 1 << 30);
  process.stdout.write('ready\n');
}
