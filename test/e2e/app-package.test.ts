// The library as its own package (issue 25): `npm pack` of packages/graceful-lifecycle,
// installed into an empty project. It brings nothing with it (no dependency, no install
// script), loads from ESM and CommonJS as one module, and its types are the public API
// alone: a TypeScript program compiles against them, and one that reaches for the
// implementation (Host, Channel, ECHO_WINDOW_MS, a constructor) does not.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './harness.js';

const NAME = 'graceful-lifecycle';
const PACKAGE = join(ROOT, 'packages', NAME);
const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000, env: { ...process.env, npm_config_update_notifier: 'false' } });
const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');

let dir = '';
let project = '';
let tarball = '';

describe(`the packed tarball of ${NAME}`, () => {
  beforeAll(() => {
    // Not tempDir(): it is emptied after each test, and the install is shared by the file.
    dir = execFileSync('mktemp', ['-d', '/tmp/graceful-lifecycle-package-XXXXXX'], { encoding: 'utf8' }).trim();
    const name = npm(['pack', '--silent', '--pack-destination', dir], PACKAGE).trim().split('\n').pop()!;
    tarball = join(dir, name);
    project = join(dir, 'project');
    execFileSync('mkdir', [project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'empty', private: true, type: 'module' }));
    // --offline: a package with no dependency needs nothing from the registry.
    npm(['install', '--offline', '--no-audit', '--no-fund', tarball], project);
    return () => execFileSync('rm', ['-rf', dir]);
  }, 180_000);

  it('ships its dist and README only, and has no dependency and no script of any kind', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').sort();
    expect(files).toEqual([
      'package/README.md',
      'package/dist/index.cjs',
      'package/dist/index.d.cts',
      'package/dist/index.d.mts',
      'package/dist/index.mjs',
      'package/package.json',
    ]);
    const pkg = JSON.parse(readFileSync(join(project, 'node_modules', NAME, 'package.json'), 'utf8'));
    expect(pkg.name).toBe(NAME);
    expect(pkg.private).toBeUndefined();
    for (const key of ['dependencies', 'peerDependencies', 'optionalDependencies', 'scripts', 'bundleDependencies', 'gypfile']) expect(pkg[key], key).toBeUndefined();
    // Small: the figure docs/app.md quotes.
    expect(statSync(tarball).size).toBeLessThan(20_000);
  });

  it('npm ls --omit=dev shows no dependency', () => {
    const tree = JSON.parse(npm(['ls', '--omit=dev', '--all', '--json'], project));
    expect(Object.keys(tree.dependencies)).toEqual([NAME]);
    expect(tree.dependencies[NAME].dependencies).toBeUndefined();
    expect(npm(['ls', '--omit=dev', '--all', '--parseable'], project).trim().split('\n')).toEqual([project, join(project, 'node_modules', NAME)]);
  });

  it('loads with import and with require, as one module', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
      import { createRequire } from 'node:module';
      import * as esm from '${NAME}';
      const cjs = createRequire(import.meta.url)('${NAME}');
      console.log(Object.keys(esm).sort().join(','), Object.keys(cjs).sort().join(','), esm.lifecycle === cjs.lifecycle);`], { cwd: project, encoding: 'utf8' });
    expect([r.status, r.stdout.trim(), r.stderr]).toEqual([0, 'globalFetchPool,lifecycle globalFetchPool,lifecycle true', '']);
  });

  // tsc takes seconds a compilation on a busy machine.
  it('types: a program written against the public API compiles, from ESM and from CommonJS', { timeout: 120_000 }, () => {
    const program = `
      import { createServer } from 'node:http';
      import { globalFetchPool, lifecycle, type Lifecycle, type LifecycleOptions, type Phase, type ShutdownReport, type StopSignal } from '${NAME}';
      const signals: StopSignal[] = ['SIGTERM', 'SIGINT'];
      const options: LifecycleOptions = { signals, forceOnRepeat: ['SIGINT'], logger: (line: string, phase: Phase) => void [line, phase.phase] };
      const life: Lifecycle = lifecycle(options);
      export async function main(): Promise<ShutdownReport> {
        const n: number = await life.use('n', () => 1, () => undefined, { timeoutMs: 1000 });
        await life.use('fetch', globalFetchPool, (pool) => pool.close());
        life.serve('http', createServer(life.readiness), { closeFrameTimeoutMs: 2000 });
        life.ready();
        return life.shutdown(String(n));
      }`;
    for (const [file, module] of [['program.mts', 'NodeNext'], ['program.cts', 'NodeNext']] as const) {
      writeFileSync(join(project, file), program);
      const r = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--module', module, '--moduleResolution', module, '--target', 'ES2022', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules/@types'), file], { cwd: project, encoding: 'utf8' });
      expect(r.stdout + r.stderr, file).toBe('');
    }
  });

  it('types: nothing of the implementation is exported, and a wrong signal name does not compile', { timeout: 120_000 }, () => {
    // One compilation (each takes seconds): every line is an error of its own.
    writeFileSync(join(project, 'misuse.mts'), [
      `import { lifecycle, type Lifecycle } from '${NAME}';`,
      `lifecycle({ signals: ['SIGTREM'] });`,
      `export const k: typeof Lifecycle = null!;`,
      `import { Host, Channel, ECHO_WINDOW_MS } from '${NAME}';`,
      `export const leaks = [Host, Channel, ECHO_WINDOW_MS];`,
    ].join('\n'));
    const r = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules/@types'), 'misuse.mts'], { cwd: project, encoding: 'utf8' });
    for (const name of ['Host', 'Channel', 'ECHO_WINDOW_MS']) expect(r.stdout).toContain(`has no exported member '${name}'`);
    // The signal's name is checked by the compiler; Lifecycle is a type, not a class with a constructor.
    expect(r.stdout).toMatch(/misuse\.mts\(2,23\): error TS2820: Type '"SIGTREM"' is not assignable to type 'StopSignal'\. Did you mean '"SIGTERM"'\?/);
    expect(r.stdout).toMatch(/misuse\.mts\(3,24\): error TS2693: 'Lifecycle' only refers to a type/);
  });

  it('at run time, a wrong signal name is one line, and the process is not left to die of the signal', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import { lifecycle } from '${NAME}'; lifecycle({ signals: ['SIGTREM'] });`], { cwd: project, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('TypeError: lifecycle(): signals: "SIGTREM" is not a stop signal; expected one of SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2\n');
  });
});
