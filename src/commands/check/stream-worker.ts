// The request stream of graceful check --reload, in a worker thread of its own (built to
// dist/stream-worker.cjs): its timings then measure the program under test, not graceful's
// own event loop, which forks each new generation and scans /proc at each stop.
// Messages in: 'stop'. Messages out: { type: 'progress', answered } every PROGRESS_MS, then
// { type: 'done', stats }.
import { parentPort, workerData } from 'node:worker_threads';
import { startStream, type StreamTarget } from './stream.js';

// How often the main thread hears how many requests were answered (it waits on counts).
const PROGRESS_MS = 10;

const { target, path, counts } = workerData as { target: StreamTarget; path: string; counts: { keepAlive: number; fresh: number } };
// process.hrtime is the process's one monotonic clock: the main thread's times compare.
const now = () => Number(process.hrtime.bigint()) / 1e6;
const stream = startStream(target, path, counts, now);
const progress = setInterval(() => parentPort!.postMessage({ type: 'progress', answered: stream.stats().requests - stream.stats().failed }), PROGRESS_MS);
parentPort!.on('message', async (message: unknown) => {
  if (message !== 'stop') return;
  clearInterval(progress);
  const stats = await stream.stop();
  parentPort!.postMessage({ type: 'done', stats });
  parentPort!.close();
});
