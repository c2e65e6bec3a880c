// The package as a user gets it (issue 17): `npm pack` of this checkout, installed into an
// empty project, then run as `npx -p graceful-supervisor graceful ...` and imported as
// graceful-supervisor/app. Offline: npm takes the dependencies from its cache, which the
// checkout's own `npm ci` filled (--prefer-offline: the registry only for what is missing).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { exitOf, ROOT, start, useHarness } from './harness.js';

useHarness();

const NAME = 'graceful-supervisor';
const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000, env: { ...process.env, npm_config_update_notifier: 'false' } });

let project = '';
let tarball = '';

describe(`the packed tarball of ${NAME}`, () => {
  beforeAll(() => {
    // Not tempDir(): it is emptied after each test, and the install is shared by the file.
    const dir = execFileSync('mktemp', ['-d', '/tmp/graceful-package-XXXXXX'], { encoding: 'utf8' }).trim();
    // --ignore-scripts: the prepare script would rebuild dist/ under the other test files'
    // feet; `npm test` built it already.
    const name = npm(['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], ROOT).trim().split('\n').pop()!;
    tarball = join(dir, name);
    project = join(dir, 'project');
    execFileSync('mkdir', [project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'empty', private: true, type: 'module' }));
    // The library it re-exports as graceful-supervisor/app is a package of its own, packed
    // beside it (as it would be published first).
    const library = npm(['pack', '--silent', '--pack-destination', dir], join(ROOT, 'packages/graceful-lifecycle')).trim().split('\n').pop()!;
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, library), tarball], project);
    return () => execFileSync('rm', ['-rf', dir]);
  }, 180_000);

  it('is named graceful-supervisor and publishable, and installs the command graceful', () => {
    const pkg = JSON.parse(readFileSync(join(project, 'node_modules', NAME, 'package.json'), 'utf8'));
    expect(pkg.name).toBe(NAME);
    expect(pkg.private).toBeUndefined();
    expect(pkg.bin).toEqual({ graceful: 'bin/graceful.js' });
    // No standalone executable in the package (dist/graceful-linux-*: 90 MB).
    expect(npm(['ls', '--parseable', NAME], project)).toContain(NAME);
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    expect(files).toContain('package/dist/cli.cjs');
    expect(files).toContain('package/dist/run.cjs');
    expect(files).toContain('package/dist/run.cjs.cache');
    expect(files).toContain('package/CHANGELOG.md');
    expect(files.filter((f) => /graceful-linux|sea/.test(f))).toEqual([]);
  });

  it('npm publish --dry-run is clean: no warning but the missing login of this machine', () => {
    const r = spawnSync('npm', ['publish', '--dry-run', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => /warn|error/i.test(l) && !/requires you to be logged in/.test(l));
    expect(warnings).toEqual([]);
    expect(r.stdout + r.stderr).toMatch(/\+ graceful-supervisor@/);
  });

  it('runs: npx -p graceful-supervisor graceful run -- node -e 0', async () => {
    const run = start([], { cwd: project, via: ['npx', '--offline', '-p', NAME, 'graceful', 'run', '--', process.execPath, '-e', 'process.exit(0)'] });
    expect((await exitOf(run, 30_000)).code).toBe(0);
    expect(run.stderr.text).toMatch(/exit status 0 \[exited\]/);
    expect(run.stdout.text).toBe('');
  });

  it("passes the child's exit status through, and the bin itself runs (node_modules/.bin/graceful)", async () => {
    const run = start([], { cwd: project, via: [join(project, 'node_modules/.bin/graceful'), 'run', '--', 'sh', '-c', 'exit 3'] });
    expect((await exitOf(run)).code).toBe(3);
    expect(run.stdout.text).toBe('');
  });

  it('the library imports as graceful-supervisor/app, from ESM and from CommonJS', async () => {
    const esm = start([], { cwd: project, via: [process.execPath, '--input-type=module', '-e', `import { lifecycle } from '${NAME}/app'; console.log(typeof lifecycle)`] });
    const cjs = start([], { cwd: project, via: [process.execPath, '-e', `console.log(typeof require('${NAME}/app').lifecycle)`] });
    expect((await exitOf(esm)).code).toBe(0);
    expect((await exitOf(cjs)).code).toBe(0);
    expect([esm.stdout.text, cjs.stdout.text]).toEqual(['function\n', 'function\n']);
  });
});

// A developer's first command (issue 24, item 6): `npm ci` of a fresh clone, on the Node the
// README supports, says nothing but what it added. A dev dependency that requires a newer
// Node (cookie 2, through fastify's light-my-request 6.8; lightship 9.0.4) made npm warn
// EBADENGINE. The install is real: the checkout's package.json, lockfile and workspace in an
// empty directory, with npm's own engine check; offline where npm's cache has the packages.
describe('npm ci of a fresh clone', () => {
  it('on this Node, which package.json supports, prints no warning', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const floor = /^>=(\d+)\.(\d+)$/.exec(pkg.engines.node)!;
    const [major, minor] = process.versions.node.split('.').map(Number);
    expect(major! > Number(floor[1]) || (major === Number(floor[1]) && minor! >= Number(floor[2])), `node ${process.versions.node} within ${pkg.engines.node}`).toBe(true);
    const dir = execFileSync('mktemp', ['-d', '/tmp/graceful-ci-XXXXXX'], { encoding: 'utf8' }).trim();
    try {
      execFileSync('mkdir', ['-p', join(dir, 'packages/graceful-lifecycle')]);
      for (const file of ['package.json', 'package-lock.json', 'packages/graceful-lifecycle/package.json']) {
        writeFileSync(join(dir, file), readFileSync(join(ROOT, file)));
      }
      // --ignore-scripts: prepare would build dist/ there, which is not what is tested.
      const r = spawnSync('npm', ['ci', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 180_000,
        env: { ...process.env, npm_config_update_notifier: 'false', npm_config_loglevel: 'warn' },
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr.split('\n').filter((l) => /warn|error/i.test(l))).toEqual([]);
      expect(r.stdout).toMatch(/added \d+ packages/);
    } finally {
      execFileSync('rm', ['-rf', dir]);
    }
  }, 200_000);
});
