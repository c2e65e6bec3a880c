// Security: no shell for the child, reports that cannot be turned against their reader,
// loopback by default, a private NOTIFY_SOCKET, no secrets from the environment in reports.
import { spawnSync } from 'node:child_process';
import { lstatSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/report/files.js';
import { exitOf, fixture, freePort, readJson, start, tempDir, useHarness } from './harness.js';

useHarness();

const node = process.execPath;
const hasPython = spawnSync('python3', ['--version']).status === 0;
if (!hasPython) console.warn('skipping the NOTIFY_SOCKET test: python3 (the sd_notify fixture) is not installed');

describe('the report file', () => {
  it('replaces a symlink planted at its path instead of writing through it', async () => {
    const dir = tempDir();
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious');
    const report = join(dir, 'report.json');
    symlinkSync(victim, report);
    const run = start(['run', '--report-file', report, '--', 'true']);
    expect((await exitOf(run)).code).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(lstatSync(report).isSymbolicLink()).toBe(false);
    expect(lstatSync(report).mode & 0o777).toBe(0o600);
    expect(readJson(report).schema).toBe('graceful.report/v1');
  });

  it('never follows a symlink planted at its temporary name (O_EXCL | O_NOFOLLOW)', () => {
    const dir = tempDir();
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious');
    const report = join(dir, 'report.json');
    symlinkSync(victim, join(dir, '.report.json.guessed.tmp'));
    expect(() => writeFileAtomic(report, '{}', 'guessed')).toThrow(/EEXIST/);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
  });

  it('does not copy a pre-stop command that came from the environment', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--report-file', report, '--', node, fixture('drains-for.js'), '0'], {
      env: { GRACEFUL_PRE_STOP: 'curl -H "Authorization: Bearer s3cret-token" http://lb/deregister || true' },
    });
    await run.ready();
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    const text = readFileSync(report, 'utf8');
    expect(text).not.toContain('s3cret-token');
    expect(readJson(report).policy.preStop).toBe('(from GRACEFUL_PRE_STOP)');
  });

  it('never shows a password from a URL', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--ready', 'http://user:hunter2@127.0.0.1:1/', '--ready-timeout', '200ms', '--report-file', report, '--', node, fixture('drains-for.js'), '0']);
    expect((await exitOf(run)).code).toBe(124);
    expect(readFileSync(report, 'utf8')).not.toContain('hunter2');
    expect(run.stderr.text).not.toContain('hunter2');
  });
});

describe('listening', () => {
  it('the health endpoint binds to loopback unless told otherwise', async () => {
    const port = await freePort();
    const run = start(['run', '--health-port', String(port), '--', node, fixture('drains-for.js'), '0']);
    await run.ready();
    const hex = port.toString(16).toUpperCase().padStart(4, '0');
    const listeners = readFileSync('/proc/net/tcp', 'latin1')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[1]?.endsWith(`:${hex}`) && f[3] === '0A')
      .map((f) => f[1]);
    expect(listeners).toEqual([`0100007F:${hex}`]); // 127.0.0.1 only
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
  });

  it.skipIf(!hasPython)('NOTIFY_SOCKET is in a directory only graceful’s user can enter', async () => {
    const program = [
      'import os, socket, stat',
      "path = os.environ['NOTIFY_SOCKET']",
      'st = os.stat(os.path.dirname(path))',
      "print('mode %o uid %d' % (stat.S_IMODE(st.st_mode), st.st_uid), flush=True)",
      "socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b'READY=1', path)",
      "print('ready %d' % os.getpid(), flush=True)",
      'import signal, sys',
      'signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))',
      'signal.pause()',
    ].join('\n');
    const run = start(['run', '--ready', 'notify', '--', 'python3', '-c', program]);
    await run.ready();
    expect(run.stdout.text).toMatch(new RegExp(`mode 700 uid ${process.getuid!()}`));
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
  });
});

describe('no shell', () => {
  it('the child command is run directly: shell syntax reaches it as plain arguments', async () => {
    const run = start(['run', '--', node, '-e', 'console.log(JSON.stringify(process.argv.slice(1)))', '--', '$(touch /tmp/graceful-pwned)', '; rm -rf /', '`id`', '| cat']);
    expect((await exitOf(run)).code).toBe(0);
    expect(JSON.parse(run.stdout.text)).toEqual(['$(touch /tmp/graceful-pwned)', '; rm -rf /', '`id`', '| cat']);
    expect(() => lstatSync('/tmp/graceful-pwned')).toThrow();
  });
});
