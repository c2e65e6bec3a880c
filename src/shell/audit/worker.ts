// The audit's receiver in a worker thread of its own (built to dist/audit-worker.cjs): it
// blocks in poll() on the seccomp listener, so that a trapped process waits for this thread
// only (see receiver.ts). In: workerData { wake, command, followCloses }, then one message { listener, root }
// (the fd graceful took from the shim) or 'cancel'. Out: { type: 'process', pid } as each
// process is first seen, { type: 'snapshot' } after each stop snapshot, then
// { type: 'done', events, stats }.
import { parentPort, workerData } from 'node:worker_threads';
import { auditCalls } from './calls.js';
import { receive } from './receiver.js';

const { wake, command, followCloses } = workerData as { wake: number; command: Int32Array; followCloses: boolean };
const now = () => Number(process.hrtime.bigint()) / 1e6;

parentPort!.once('message', (message: { listener: number; root: number } | 'cancel') => {
  if (message === 'cancel') {
    parentPort!.close();
    return;
  }
  const calls = auditCalls();
  if (typeof calls === 'string') {
    parentPort!.postMessage({ type: 'done', events: [], stats: null, error: calls });
    return;
  }
  const { events, stats } = receive({
    calls,
    listener: message.listener,
    root: message.root,
    wake,
    command,
    now,
    followCloses,
    onProcess: (pid) => parentPort!.postMessage({ type: 'process', pid }),
    onSnapshot: () => parentPort!.postMessage({ type: 'snapshot' }),
    ...(process.env.GRACEFUL_AUDIT_DEBUG ? { debug: (line: string) => process.stderr.write(`graceful audit: ${line}\n`) } : {}),
  });
  parentPort!.postMessage({ type: 'done', events, stats });
  parentPort!.close();
});
