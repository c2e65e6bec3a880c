// Fastify, shut down by graceful-supervisor/app: fastify.close() stops it (and runs its plugins'
// onClose hooks); the library adds the signals, readiness, the deadline, and ends kept-alive
// connections as their responses finish (Fastify's keepAliveTimeout is 72 s). The
// shutdown's phases go to Fastify's logger, with the rest of its log (JSON on stdout).
// With ACCESS_LOG=<file>, each response is logged there, and the file is closed last:
// after the drain, so that the requests in flight at the stop are in it.
//
//   PORT=3000 ACCESS_LOG=/tmp/access.log graceful run -- node examples/fastify.js
//
// GET /readyz    200 while ready, 503 from the first moment of a stop
// GET /slow?ms=  answers after ms: work in flight to drain
import { createWriteStream } from 'node:fs';
import Fastify from 'fastify';
import { lifecycle } from 'graceful-supervisor/app';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
// The log goes to process.stdout, which Node writes synchronously to a file or a pipe:
// pino's default destination writes asynchronously, and the lines of a write still in
// flight at process.exit() can come out after the last ones (measured: `closed` after
// `done`, once in a few runs on a loaded machine).
const app = Fastify({ logger: { stream: process.stdout } });
const life = lifecycle({ logger: (line, phase) => app.log.info({ shutdown: phase }, line) });

const log = process.env.ACCESS_LOG
  ? await life.use(
      'access log',
      () => createWriteStream(process.env.ACCESS_LOG, { flags: 'a' }),
      (stream) => new Promise((resolve, reject) => stream.end((error) => (error ? reject(error) : resolve()))),
    )
  : null;

app.addHook('onResponse', async (request, reply) => {
  log?.write(`${new Date().toISOString()} ${request.method} ${request.url} ${reply.statusCode}\n`);
});
app.get('/readyz', async (request, reply) => {
  const { status, state } = life.probe();
  return reply.code(status).send({ state });
});
app.get('/slow', async (request) => {
  const ms = Number(request.query.ms ?? 1000);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { slept: ms };
});

life.serve('fastify', app);
await app.listen({ port, host });
life.ready();
app.log.info(`listening on http://${host}:${port} (pid ${process.pid})`);
