// NODE_OPTIONS belongs to the child (issue 17): graceful, started as a user starts it (the
// bin's own first lines, or the standalone executable), runs without the app's NODE_OPTIONS
// and hands it to the child exactly as given.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXECUTABLE, exitOf, start, tempDir, useHarness } from './harness.js';

useHarness();

const node = process.execPath;
// The child prints what it was given, one JSON line on stdout.
const SHOW_ENV = `process.stdout.write(JSON.stringify({ pid: process.pid, NODE_OPTIONS: process.env.NODE_OPTIONS ?? null, stash: process.env.GRACEFUL_CHILD_NODE_OPTIONS ?? null }) + '\\n')`;

describe('NODE_OPTIONS', () => {
  it('--require ./marker.cjs loads in the child only, and the child sees the same NODE_OPTIONS', async () => {
    const dir = tempDir();
    const log = join(dir, 'loaded-in');
    // Records the pid of every process it loads into.
    writeFileSync(join(dir, 'marker.cjs'), `require('node:fs').appendFileSync(${JSON.stringify(log)}, process.pid + '\\n');\n`);
    writeFileSync(log, '');
    const given = '--require ./marker.cjs';
    const run = start([], { cwd: dir, env: { NODE_OPTIONS: given }, via: [EXECUTABLE, 'run', '--', node, '-e', SHOW_ENV] });
    expect((await exitOf(run)).code).toBe(0);
    const child = JSON.parse(run.stdout.text);
    expect(child.NODE_OPTIONS).toBe(given);
    expect(child.stash).toBeNull();
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual([String(child.pid)]);
    expect(child.pid).not.toBe(run.pid);
  });

  it('a flag Node rejects, for a child that is not Node: graceful starts, the child gets it as it is', async () => {
    const given = '--no-such-node-flag "with spaces" \\ and $HOME';
    const run = start([], { env: { NODE_OPTIONS: given }, via: [EXECUTABLE, 'run', '--', 'sh', '-c', 'printf "%s" "$NODE_OPTIONS"; exit 4'] });
    expect((await exitOf(run)).code).toBe(4);
    expect(run.stdout.text).toBe(given);
    expect(run.stderr.text).not.toMatch(/bad option|not allowed in NODE_OPTIONS/);
  });

  it('unset stays unset, and empty stays empty', async () => {
    const unset = start([], { env: { NODE_OPTIONS: undefined }, via: [EXECUTABLE, 'run', '--', node, '-e', SHOW_ENV] });
    const empty = start([], { env: { NODE_OPTIONS: '' }, via: [EXECUTABLE, 'run', '--', node, '-e', SHOW_ENV] });
    expect((await exitOf(unset)).code).toBe(0);
    expect((await exitOf(empty)).code).toBe(0);
    expect(JSON.parse(unset.stdout.text)).toMatchObject({ NODE_OPTIONS: null, stash: null });
    expect(JSON.parse(empty.stdout.text)).toMatchObject({ NODE_OPTIONS: '', stash: null });
  });

  it("graceful check: the child gets the app's NODE_OPTIONS first, then check's preload; graceful loads neither", async () => {
    const dir = tempDir();
    const log = join(dir, 'loaded-in');
    writeFileSync(join(dir, 'marker.cjs'), `require('node:fs').appendFileSync(${JSON.stringify(log)}, process.pid + '\\n');\n`);
    writeFileSync(log, '');
    const run = start([], {
      cwd: dir,
      env: { NODE_OPTIONS: '--require ./marker.cjs' },
      via: [EXECUTABLE, 'check', '--after', '200ms', '--timeout', '5s', '--', node, '-e', `${SHOW_ENV}; process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)`],
    });
    expect((await exitOf(run)).code).toBe(0);
    const child = JSON.parse(run.stdout.text);
    expect(child.NODE_OPTIONS).toMatch(/^--require \.\/marker\.cjs --require "[^"]*check-preload\.cjs"$/);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual([String(child.pid)]);
  });

  it("the app's --inspect does not take the port in graceful: the child gets it", async () => {
    // Both would be listening on the same port if graceful took it too: the child would fail.
    const run = start([], {
      env: { NODE_OPTIONS: '--inspect=127.0.0.1:0' },
      via: [EXECUTABLE, 'run', '--', node, '-e', "console.log(require('node:inspector').url() ? 'inspector on' : 'off')"],
    });
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stdout.text).toBe('inspector on\n');
    // Node prints "Debugger listening" once: for the child, not for graceful.
    expect(run.stderr.text.match(/Debugger listening/g)).toHaveLength(1);
  });
});
