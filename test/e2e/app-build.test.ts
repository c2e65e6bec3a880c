// The library's build (scripts/build-app.js): importable as ESM and CommonJS, one instance
// behind both, nothing but node:* required, and no part of the CLI's bundle, whose start-up
// it therefore cannot change.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleInputs } from './bundle-inputs.js';
import { ROOT } from './harness.js';

const { name } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string };
const SUBPATH = `${name}/app`;

// Runs a snippet with node in the package's directory (where the package can import itself).
function node(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

describe('the library build', () => {
  it('is not in the CLI bundle: no file of src/app but its pure protocol and phase words is an input of dist/cli.cjs', async () => {
    const inputs = await bundleInputs('src/main.ts');
    expect(inputs.some((f) => f.startsWith('src/main.ts'))).toBe(true);
    // The protocol's definitions and the words of each phase (both pure) may be shared with
    // the CLI; the library itself never.
    expect(inputs.filter((f) => f.startsWith('src/app/') && f !== 'src/app/protocol.ts' && f !== 'src/app/log.ts')).toEqual([]);
  });

  it(`loads with import and with require, and both give the same ${SUBPATH}`, () => {
    const esm = node(['--input-type=module', '-e', `
      import { createRequire } from 'node:module';
      import * as esm from '${SUBPATH}';
      const cjs = createRequire(import.meta.url)('${SUBPATH}');
      const lib = createRequire(import.meta.url)('graceful-lifecycle');
      console.log(Object.keys(esm).sort().join(','), esm.lifecycle === cjs.lifecycle, esm.lifecycle === lib.lifecycle);`]);
    // The same functions as graceful-lifecycle's: a re-export, not a copy.
    expect(esm).toEqual({ status: 0, stdout: 'globalFetchPool,lifecycle true true', stderr: '' });
  });

  it('has one lifecycle per process, across the ESM and CommonJS forms', () => {
    const r = node(['--input-type=module', '-e', `
      import { createRequire } from 'node:module';
      import { lifecycle } from '${SUBPATH}';
      lifecycle({ signals: [] });
      try { createRequire(import.meta.url)('${SUBPATH}').lifecycle(); } catch (e) { console.log(e.message); }`]);
    expect(r).toEqual({ status: 0, stdout: 'lifecycle(): this process has one already; create it once and share it (export it from a module)', stderr: '' });
  });

  it('requires nothing but node:* at run time', () => {
    const code = readFileSync(join(ROOT, 'packages/graceful-lifecycle/dist/index.cjs'), 'utf8');
    const required = [...code.matchAll(/require\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
    expect(required.length).toBeGreaterThan(0);
    expect(required.filter((spec) => !spec!.startsWith('node:'))).toEqual([]);
  });

  it('says what is wrong with its variables in one line each, and logs to stderr instead', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
      import { lifecycle } from '${SUBPATH}';
      await lifecycle({ exit: false }).shutdown();`], { cwd: ROOT, encoding: 'utf8', timeout: 10_000, env: { ...process.env, GRACEFUL_STATUS_SOCKET: 'status.sock', GRACEFUL_STOP_TIMEOUT_MS: '2s' } });
    expect(r.status).toBe(0);
    expect(r.stderr.trim().split('\n').slice(0, 3)).toEqual([
      'node: GRACEFUL_STATUS_SOCKET="status.sock" is not an absolute path; phases go to stderr',
      'node: GRACEFUL_STOP_TIMEOUT_MS="2s" is not a number of milliseconds; ignored',
      'node: shutdown(): stopping within 30s (the default): drain until +29s, then close resources',
    ]);
  });
});
