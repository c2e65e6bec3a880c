// The library's bench (npm run bench -- library, bench/library/) is not a test: no figure is
// asserted. It runs once in quick mode so that it cannot rot: every contender, keep-alive on
// and off, must still be measured and written to the table. Opt-in like the main bench's
// quick run (test/e2e/bench.test.ts): .ci/run sets GRACEFUL_BENCH_TEST=1.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it as test } from 'vitest';
import { ROOT, tempDir, useHarness } from './harness.js';

const it = process.env.GRACEFUL_BENCH_TEST === '1' ? test : test.skip;
if (it !== test) console.warn("skipping the library bench's quick run (test/e2e/app-bench.test.ts): set GRACEFUL_BENCH_TEST=1 to run it; .ci/run does");

useHarness();

// 12 trials, the slowest ending at its 12 s ceiling (a bare server.close() with a busy kept-alive client).
const CEILING_MS = 180_000;

it('npm run bench -- library --quick measures every contender, keep-alive on and off', () => {
  const out = join(tempDir(), 'library.md');
  const run = spawnSync(process.execPath, [join(ROOT, 'bench/run.mjs'), 'library', '--quick', '--out', out], { encoding: 'utf8', timeout: CEILING_MS });
  expect(run.status, run.stderr).toBe(0);
  const rows = readFileSync(out, 'utf8').split('\n').filter((l) => /^\| [^L-]/.test(l));
  const names = ['graceful-lifecycle', '@godaddy/terminus', 'lightship', 'close-with-grace', 'http-terminator', 'bare server.close()'];
  for (const keepAlive of ['on', 'off']) {
    for (const name of names) expect(rows.some((r) => r.startsWith(`| ${name}`) && r.includes(`| ${keepAlive} |`)), `${name}, keep-alive ${keepAlive}`).toBe(true);
  }
  expect(rows).toHaveLength(12);
  expect(rows.join('\n')).not.toMatch(/NaN|undefined/);
}, CEILING_MS + 5_000);
