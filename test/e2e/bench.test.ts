// The benchmark is not a test (no timing is asserted here), but it runs once in quick mode
// on tiny counts, so that `npm run bench` cannot rot: every figure must still be measured
// and written to the results table.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it as test } from 'vitest';
import { ROOT, tempDir, useHarness } from './harness.js';
// Opt-in: the quick run takes 15 s or more, a third of the suite's time for a check that the
// bench still runs. `.ci/run` sets GRACEFUL_BENCH_TEST=1, so CI runs it once per build.
const it = process.env.GRACEFUL_BENCH_TEST === '1' ? test : test.skip;
if (it !== test) console.warn("skipping the bench's quick run (test/e2e/bench.test.ts): set GRACEFUL_BENCH_TEST=1 to run it; .ci/run does");

useHarness();

// ~15 s on an idle 2-core machine; the ceiling allows for one shared with other test runs.
const CEILING_MS = 120_000;

it('npm run bench -- --quick measures every figure and writes the table', () => {
  const out = join(tempDir(), 'results.md');
  const run = spawnSync(process.execPath, [join(ROOT, 'bench/run.mjs'), '--quick', '--out', out], { encoding: 'utf8', timeout: CEILING_MS });
  expect(run.status, run.stderr).toBe(0);
  const table = readFileSync(out, 'utf8');
  for (const figure of ['start-up + exit', 'own RSS', "SIGTERM -> the child's handler", 'exit latency', 'dead after a', 'wakeups of graceful', 'tree kill', 'orphans as PID 1', 'signals sent', 'restarts, a warm-up', 'tree kill against tree size', 'reloads: requests failed during', 'reloads: longest pause in service', 'ordered stop: 10 processes in 3 levels', 'instances: throughput and p99', 'reloads of 4 instances under a request stream on kept-alive', 'reloads of 4 instances under a request stream on a new connection']) {
    expect(table).toContain(figure);
  }
  // Both of graceful's stderr destinations, each against the floor.
  expect(table).toContain('graceful / floor');
  expect(table).toContain('graceful, stderr to a pipe / floor');
  expect(table).toMatch(/- Machine: .+, \d+ cores/);
  expect(table).toMatch(/- Load: before, load average/);
  expect(table).toMatch(/- Child: (C|Python|Node) \(receiver\./);
  expect(table).not.toMatch(/\bNaN\b/);
}, CEILING_MS + 5000);
