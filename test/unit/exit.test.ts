// The exit statuses graceful chooses itself (core/exit.ts): scripts, CI jobs and init systems
// branch on these numbers, so each is pinned to the convention it follows, and each means one
// thing per command.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { EXIT, EXIT_TABLE, signalStatus } from '../../src/core/exit.js';
import { ROOT } from '../e2e/harness.js';

it('follows the conventions it names: sysexits.h, timeout(1), the shells', () => {
  // sysexits.h: EX_UNAVAILABLE 69, EX_SOFTWARE 70, EX_OSERR 71.
  expect(EXIT).toMatchObject({ reloadFailed: 69, internal: 70, nativeUnavailable: 71 });
  // timeout(1) exits 124 when its command timed out; a shell 126 for a command it cannot
  // execute, 127 for one it cannot find, 128 + n for a death by signal n.
  expect(EXIT).toMatchObject({ notReady: 124, notExecutable: 126, notFound: 127 });
  expect(signalStatus(15)).toBe(143);
  expect(signalStatus(9)).toBe(137);
});

it('gives each status one meaning per command', () => {
  for (const command of ['run', 'check', 'reload'] as const) {
    const rows = EXIT_TABLE.filter((r) => r.command === command || (r.command === 'both' && command !== 'reload'));
    const statuses = rows.map((r) => r.status);
    expect(statuses.filter((s, i) => statuses.indexOf(s) !== i), command).toEqual([]);
  }
});

it('bin/graceful.js exits with the internal error status when graceful is not built', () => {
  // EXIT.internal says so ("or graceful not built"); bin/graceful.js cannot import the table.
  expect(readFileSync(join(ROOT, 'bin/graceful.js'), 'utf8')).toMatch(new RegExp(`not built yet[^]*process\\.exit\\(${EXIT.internal}\\)`));
});
