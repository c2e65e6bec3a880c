// A closed or full stdout is never a crash (issue 11: `graceful run --help | head -1`
// printed "Error: write EPIPE ... Unhandled 'error' event" and exited 1). --help and
// --version are the only text graceful writes to stdout.
import { spawnSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GRACEFUL, tempDir, useHarness } from './harness.js';

useHarness();

// A write end whose reader is gone: every write to it fails with EPIPE, whatever the timing
// (unlike `| head -1`, where the reader may or may not have left before graceful writes).
function brokenPipe(): number {
  const fifo = join(tempDir(), 'fifo');
  expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(fifo, constants.O_WRONLY);
  closeSync(reader);
  return writer;
}

function graceful(args: string[], stdout: number) {
  const r = spawnSync(GRACEFUL[0]!, [...GRACEFUL.slice(1), ...args], { stdio: ['ignore', stdout, 'pipe'], encoding: 'utf8', timeout: 10_000, killSignal: 'SIGKILL' });
  return { status: r.status, stderr: r.stderr };
}

describe('stdout closed or full', () => {
  it.each([['run', '--help'], ['check', '--help'], ['--help'], ['--version']])('graceful %s %s: exit 0, no stack trace', (...args) => {
    const args_ = args.filter((a): a is string => typeof a === 'string');
    const pipe = brokenPipe();
    try {
      const closed = graceful(args_, pipe);
      expect(closed.stderr).toBe('');
      expect(closed.status).toBe(0);
    } finally {
      closeSync(pipe);
    }
    const full = openSync('/dev/full', 'w');
    try {
      const r = graceful(args_, full);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    } finally {
      closeSync(full);
    }
  });
});
