// The reaper beside Node's own child_process: orphans are reaped, and every process Node
// spawned itself keeps its exit status for Node (a helper a library runs included: this
// once hung a pidusage sample, whose getconf the reaper had reaped first). That race needs
// a zombie of Node's to appear between libuv's wait and the reaper's pass, which this test
// makes likely, not certain; what it always checks is that both jobs get done together.
// This test file makes its own worker a child subreaper.
import { execFile, spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { nodeChildCount, startReaper } from '../../src/shell/process/pid1.js';
import { zombiesOf } from './harness.js';

const onLinux = process.platform === 'linux';
if (!onLinux) console.warn('skipping the reaper tests: child subreapers are Linux only');


describe.skipIf(!onLinux)('the reaper', () => {
  it('leaves the exit status of every process Node spawned to Node, while reaping orphans', async () => {
    const { reaper, problem } = startReaper({ subreaper: true });
    expect(problem).toBe(null);
    const before = reaper!.reaped;
    // Orphans: each sleep's parent exits at once, so it is reparented to this process.
    const orphans = spawn('sh', ['-c', 'i=0; while [ $i -lt 30 ]; do (sleep 0.05 &); i=$((i+1)); done'], { stdio: 'ignore' });
    // Meanwhile, 60 children of Node's own, exiting as the orphans do.
    const statuses = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        new Promise<number | null>((resolve) => {
          execFile('sh', ['-c', `sleep 0.0${i % 9}; exit 7`], (error) => resolve(error ? ((error as { code?: number }).code ?? null) : 0));
        }),
      ),
    );
    expect(statuses).toEqual(Array(60).fill(7));
    if (orphans.exitCode === null) await new Promise<void>((resolve) => orphans.once('exit', () => resolve()));
    const deadline = Date.now() + 3000;
    while ((reaper!.reaped - before < 30 || zombiesOf(process.pid) > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(reaper!.reaped - before).toBeGreaterThanOrEqual(30);
    expect(zombiesOf(process.pid)).toBe(0);
    // What it keeps per process is gone with the process: a count of orphans, no list.
    expect(nodeChildCount()).toBe(0);
  });
});
