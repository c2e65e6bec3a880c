// A job worker on a Redis list, shut down by graceful-supervisor/app with the generic hook: on SIGTERM
// or SIGINT it stops taking jobs, finishes the ones it has, then closes Redis.
// Jobs are moved atomically from "jobs" to "jobs:processing" while they run (LMOVE), so a
// job cut short by a kill is still in Redis, never lost; each done job is recorded in the
// hash "jobs:done".
//
//   REDIS_URL=redis://... graceful run -- node examples/worker.js
//   redis-cli RPUSH jobs '{"id":1,"ms":500}'
import { createClient } from 'redis';
import { lifecycle } from 'graceful-supervisor/app';

const CONCURRENCY = Number(process.env.CONCURRENCY ?? 2);
const POLL_MS = 50; // how soon an idle worker sees a new job
const life = lifecycle();

const redis = await life.use(
  'redis',
  async () => {
    const client = createClient({ url: process.env.REDIS_URL });
    client.on('error', (error) => console.error(`redis: ${error.message}`));
    await client.connect();
    return client;
  },
  (client) => client.close(),
);

const running = new Set();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function work(raw) {
  const job = JSON.parse(raw);
  console.log(`job ${job.id} started`);
  await sleep(job.ms ?? 100); // the work
  await redis.hSet('jobs:done', String(job.id), new Date().toISOString());
  await redis.lRem('jobs:processing', 1, raw);
  console.log(`job ${job.id} done`);
}

// Takes jobs until the stop: life.signal is aborted the moment it begins.
const polling = (async () => {
  while (!life.signal.aborted) {
    const raw = running.size < CONCURRENCY ? await redis.lMove('jobs', 'jobs:processing', 'LEFT', 'RIGHT') : null;
    if (raw === null) {
      await sleep(POLL_MS);
      continue;
    }
    const job = work(raw).finally(() => running.delete(job));
    running.add(job);
  }
})();

life.serve('jobs', {
  stop: () => polling, // the loop ends at its next turn
  drained: () => Promise.all(running),
  inflight: () => running.size,
});
life.ready();
console.log(`worker ready (pid ${process.pid}), ${CONCURRENCY} at a time`);
