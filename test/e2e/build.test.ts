// The build's output as it starts: the V8 code cache that makes graceful's start-up (README,
// Performance) is used, and a cache V8 or graceful cannot use only costs time, never a run.
import { copyFileSync, cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitOf, ROOT, start, tempDir, useHarness } from './harness.js';

useHarness();

// A copy of the built CLI whose cache a test may spoil.
function copyOfBuild(): string {
  const dir = tempDir();
  cpSync(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  return dir;
}

describe('the build', () => {
  it('starts from the code cache made at build time', async () => {
    const run = start(['run', '--', 'true'], { env: { GRACEFUL_DEBUG: '1' } });
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stderr.text).toMatch(/^graceful: code cache used$/m);
  });

  it.each([
    ['missing', null],
    ['rejected', 'garbage'],
    ['missing', 'another build'],
  ])('a cache that is %s (%s): the run is the same, only slower', async (state, spoil) => {
    const dir = copyOfBuild();
    const cache = join(dir, 'dist/cli.cjs.cache');
    if (spoil === null) writeFileSync(cache, '');
    // The right build id, then bytes V8 cannot use.
    if (spoil === 'garbage') writeFileSync(cache, Buffer.concat([readFileSync(cache).subarray(0, 16), Buffer.alloc(4096, 7)]));
    if (spoil === 'another build') writeFileSync(cache, Buffer.concat([Buffer.from('0123456789abcdef'), Buffer.alloc(4096, 7)]));
    const run = start([], {
      env: { GRACEFUL_DEBUG: '1' },
      via: [process.execPath, join(dir, 'bin/graceful.js'), 'run', '--', process.execPath, '-e', 'process.exit(3)'],
    });
    expect((await exitOf(run)).code).toBe(3);
    expect(run.stderr.text).toMatch(new RegExp(`^graceful: code cache ${state}$`, 'm'));
    expect(run.stderr.text).toMatch(/crashed: exited with code 3 after/);
  });
});
