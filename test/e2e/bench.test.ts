// The benchmark is not a test (no timing is asserted here), but it runs once in quick mode
// on tiny counts, so that `npm run bench` cannot rot: every figure must still be measured
// and written to the results table.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT, tempDir, useHarness } from './harness.js';

useHarness();

it('npm run bench -- --quick measures every figure and writes the table', () => {
  const out = join(tempDir(), 'results.md');
  const run = spawnSync(process.execPath, [join(ROOT, 'bench/run.mjs'), '--quick', '--out', out], { encoding: 'utf8', timeout: 120_000 });
  expect(run.status, run.stderr).toBe(0);
  const table = readFileSync(out, 'utf8');
  for (const figure of ['start-up + exit', 'own RSS', 'SIGTERM forwarding latency', 'exit latency', 'escalation', 'tree kill', 'orphans as PID 1', 'signals sent', 'restarts, a warm-up', 'tree kill against tree size', 'ordered stop: 10 processes in 3 levels']) {
    expect(table).toContain(figure);
  }
  expect(table).toMatch(/- Machine: .+, \d+ cores/);
  expect(table).not.toMatch(/\bNaN\b/);
});
