// The one Express app every contender shuts down: GET /slow?ms=N answers after N ms, GET /
// at once. Node's defaults otherwise (keepAliveTimeout 5 s). `serve(hook)` listens on a free
// loopback port, calls hook(server) for the contender's set-up, and prints
// "ready <pid> port <port>" once listening and ready.
import express from 'express';

// The shutdown limit every contender is given where it has one (the library's default is
// 30 s; terminus's is 1 s and http-terminator's 5 s, which would cut the slow requests).
export const LIMIT_MS = 10_000;

export function app() {
  const a = express();
  a.get('/slow', (req, res) => setTimeout(() => res.send(`slept ${req.query.ms}ms\n`), Number(req.query.ms ?? 1000)));
  a.get('/', (req, res) => res.send('ok\n'));
  return a;
}

// Listens; `ready()` (if given) runs once it is listening, before the ready line.
export function listen(server, ready = () => undefined) {
  server.listen(0, '127.0.0.1', async () => {
    await ready();
    console.log(`ready ${process.pid} port ${server.address().port}`);
  });
}
