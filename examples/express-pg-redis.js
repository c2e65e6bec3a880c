// Express with PostgreSQL (pg) and Redis (node-redis), shut down by graceful-supervisor/app.
// Acquired in this order: Redis, then PostgreSQL, then the HTTP server; on SIGTERM or
// SIGINT, readiness fails, the server stops accepting and finishes its requests (each
// may hold a database connection), then PostgreSQL closes, then Redis.
//
//   DATABASE_URL=postgres://... REDIS_URL=redis://... PORT=3000 graceful run -- node examples/express-pg-redis.js
//
// GET /readyz    200 while ready, 503 from the first moment of a stop
// GET /visits    counts in Redis, reads the time from PostgreSQL
// GET /slow?ms=  a query that takes ms (pg_sleep): work in flight to drain
import express from 'express';
import pg from 'pg';
import { createClient } from 'redis';
import { lifecycle } from 'graceful-supervisor/app';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
// The delay defaults from the platform (5 s on Kubernetes, 0 in a terminal); STOP_DELAY_MS sets it.
const life = lifecycle({ delayMs: process.env.STOP_DELAY_MS ? Number(process.env.STOP_DELAY_MS) : undefined });

const redis = await life.use(
  'redis',
  async () => {
    const client = createClient({ url: process.env.REDIS_URL });
    client.on('error', (error) => console.error(`redis: ${error.message}`));
    await client.connect();
    return client;
  },
  (client) => client.close(), // waits for the commands it was sent
);

const db = await life.use(
  'postgres',
  async () => {
    const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
    await pool.query('SELECT 1'); // fail at start, not at the first request
    return pool;
  },
  (pool) => pool.end(), // waits for the clients checked out to be released
);

const app = express();
app.get('/readyz', life.readiness);
app.get('/visits', async (req, res) => {
  const visits = await redis.incr('visits');
  const { rows } = await db.query('SELECT now() AS now');
  res.json({ visits, now: rows[0].now });
});
app.get('/slow', async (req, res) => {
  const ms = Number(req.query.ms ?? 1000);
  await db.query('SELECT pg_sleep($1)', [ms / 1000]);
  await redis.incr('slow');
  res.json({ slept: ms });
});

const server = life.serve(
  'http',
  app.listen(port, host, () => {
    life.ready();
    console.log(`listening on http://${host}:${port} (pid ${process.pid})`);
  }),
);
