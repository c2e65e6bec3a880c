// The build's output as it starts: `graceful run` from dist/run.cjs alone, every other command
// line from dist/cli.cjs; the V8 code cache that makes graceful's start-up (README,
// Performance) is used for each, and a cache V8 or graceful cannot use only costs time, never
// a run.
import { copyFileSync, cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleInputs } from './bundle-inputs.js';
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
  it("bundles into run.cjs nothing but run's code: no commander, no stack file's parser, no other command", async () => {
    const inputs = await bundleInputs('src/main-run.ts');
    expect(inputs).toContain('src/commands/run/run.ts');
    const others = /^(node_modules\/(commander|js-yaml|shell-quote)\/|src\/cli\/|src\/commands\/(check|up|reload|ctl)\/|src\/shell\/audit\/|src\/core\/audit\/|src\/app\/(?!protocol\.ts|log\.ts))/;
    expect(inputs.filter((f) => others.test(f))).toEqual([]);
  });

  it('starts graceful run from run.cjs and its code cache, and nothing of cli.cjs', async () => {
    const run = start(['run', '--', 'true'], { env: { GRACEFUL_DEBUG: '1' } });
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stderr.text.match(/^graceful: code cache .*$/gm)).toEqual(['graceful: code cache used (run.cjs)']);
  });

  it('hands a run command line its parser does not take (-t5s) to cli.cjs, which runs it', async () => {
    const run = start(['run', '-t5s', '--', process.execPath, '-e', 'process.exit(3)'], { env: { GRACEFUL_DEBUG: '1' } });
    expect((await exitOf(run)).code).toBe(3);
    expect(run.stderr.text.match(/^graceful: code cache .*$/gm)).toEqual(['graceful: code cache used (run.cjs)', 'graceful: code cache used (cli.cjs)']);
    expect(run.stderr.text).toMatch(/crashed: exited with code 3 after/);
  });

  it('starts every other command from cli.cjs alone', async () => {
    const run = start(['reload', '--control', join(tempDir(), 'none.sock')], { env: { GRACEFUL_DEBUG: '1' } });
    await exitOf(run);
    expect(run.stderr.text.match(/^graceful: code cache .*$/gm)).toEqual(['graceful: code cache used (cli.cjs)']);
  });

  it.each([
    ['missing', null, 'run.cjs'],
    ['rejected', 'garbage', 'run.cjs'],
    ['missing', 'another build', 'run.cjs'],
    ['missing', null, 'cli.cjs'],
    ['rejected', 'garbage', 'cli.cjs'],
  ])('a cache that is %s (%s) for %s: the run is the same, only slower', async (state, spoil, bundle) => {
    const dir = copyOfBuild();
    const cache = join(dir, `dist/${bundle}.cache`);
    if (spoil === null) writeFileSync(cache, '');
    // The right build id, then bytes V8 cannot use.
    if (spoil === 'garbage') writeFileSync(cache, Buffer.concat([readFileSync(cache).subarray(0, 16), Buffer.alloc(4096, 7)]));
    if (spoil === 'another build') writeFileSync(cache, Buffer.concat([Buffer.from('0123456789abcdef'), Buffer.alloc(4096, 7)]));
    // cli.cjs reads a run command line that run.cjs hands over (-t5s).
    const options = bundle === 'cli.cjs' ? ['-t5s'] : [];
    const run = start([], {
      env: { GRACEFUL_DEBUG: '1' },
      via: [process.execPath, join(dir, 'bin/graceful.js'), 'run', ...options, '--', process.execPath, '-e', 'process.exit(3)'],
    });
    expect((await exitOf(run)).code).toBe(3);
    expect(run.stderr.text).toMatch(new RegExp(`^graceful: code cache ${state} \\(${bundle.replace('.', '\\.')}\\)$`, 'm'));
    expect(run.stderr.text).toMatch(/crashed: exited with code 3 after/);
  });
});
