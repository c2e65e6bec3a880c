// The server of the instances bench (bench/instances.mjs): the same file under graceful
// (fd 3 from --listen, LISTEN_FDS) and under pm2's cluster mode (listen(PORT): pm2's
// master hands the connections out). Each request costs a fixed amount of CPU (WORK
// rounds of sha256 over 1 KiB, ~1 ms at 600), so that the server, not the client, is the
// bottleneck and more instances can help. Ready: process.send('ready') (graceful --ready
// ipc, pm2 --wait-ready). Stop (SIGTERM from graceful, SIGINT from pm2): stop accepting,
// answer the requests in flight with Connection: close, close idle connections, exit 0.
const http = require('node:http');
const { createHash } = require('node:crypto');

const WORK = Number(process.env.WORK ?? 600);
const block = Buffer.alloc(1024, 7);
let stopping = false;

const server = http.createServer((req, res) => {
  let h = block;
  for (let i = 0; i < WORK; i++) h = createHash('sha256').update(h).digest();
  if (stopping) res.setHeader('connection', 'close');
  res.end(`${process.pid} ${h.toString('hex', 0, 4)}\n`);
});
server.keepAliveTimeout = 5000;

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  });
}

const ready = () => process.send?.('ready');
if (process.env.LISTEN_FDS) server.listen({ fd: 3 }, ready);
else server.listen(Number(process.env.PORT), '127.0.0.1', ready);
