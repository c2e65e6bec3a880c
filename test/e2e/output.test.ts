// Output integrity: the child's bytes reach the reader complete and in order, whether they
// bypass graceful (stdio inherited) or pass through it (--ready log:), and graceful's
// memory stays bounded while 200 MB go by (backpressure, no unbounded buffer).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exitOf, fixture, start, useHarness } from './harness.js';

useHarness();

const BYTES = 200 * 1024 * 1024;

// The sha256 of what prints-a-lot.js writes: one 64 KiB block of the alphabet, repeated.
function expectedHash(total: number): string {
  const block = Buffer.alloc(64 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = 97 + (i % 26);
  const hash = createHash('sha256');
  for (let done = 0; done < total; done += block.length) hash.update(block.subarray(0, Math.min(block.length, total - done)));
  return hash.digest('hex');
}

function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  } catch {
    return 0;
  }
}

describe.each([
  ['inherited stdio (the bytes bypass graceful)', [] as string[]],
  ['--ready log: (the bytes pass through graceful)', ['--ready', 'log:never matches this']],
])('200 MB in a burst, the child exiting at once: %s', (_name, extra) => {
  it('arrive complete and in order; graceful stays small', async () => {
    const run = start(['run', '-q', ...extra, '--', process.execPath, fixture('prints-a-lot.js'), String(BYTES)], { collectStdout: false });
    const hash = createHash('sha256');
    let received = 0;
    run.proc.stdout!.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      received += chunk.length;
    });
    let peakKb = 0;
    const sampler = setInterval(() => (peakKb = Math.max(peakKb, rssKb(run.pid))), 25);
    const exit = await exitOf(run, 60_000);
    clearInterval(sampler);
    expect(exit.code).toBe(0);
    expect(received).toBe(BYTES);
    expect(hash.digest('hex')).toBe(expectedHash(BYTES));
    // Node itself takes about 50 MB; the data in flight is bounded by the pipes and a
    // stream's high-water mark, far below the 200 MB that went through.
    expect(peakKb).toBeLessThan(120 * 1024);
  });
});
