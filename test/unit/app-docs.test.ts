// The library's documentation names every phase the code sends: the reference's table (all
// but the channel's own hello) and the protocol's; and every option of lifecycle(), with the
// defaults the code uses.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ECHO_WINDOW_MS, PHASES, type PhasesComplete } from '../../src/app/protocol.js';
import type { LifecycleOptions } from '../../src/app/lifecycle.js';
import { DEFAULT_BUDGET_MS, DEFAULT_RESOURCE_TIMEOUT_MS } from '../../src/app/plan.js';
import { ROOT } from '../e2e/harness.js';

const section = (text: string, title: string) => {
  const start = text.indexOf(`## ${title}`);
  expect(start, `section "${title}"`).toBeGreaterThan(-1);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end === -1 ? undefined : end);
};
const rows = (text: string) => text.split('\n').filter((l) => l.startsWith('| `'));

it('PHASES lists every phase of the protocol', () => {
  const complete: PhasesComplete = true;
  expect(complete).toBe(true);
  expect(new Set(PHASES).size).toBe(PHASES.length);
});

it('docs/app.md has a row for every phase', () => {
  const table = rows(section(readFileSync(join(ROOT, 'docs/app.md'), 'utf8'), 'The phases'));
  for (const phase of PHASES.filter((p) => p !== 'hello')) {
    expect(table.some((row) => row.startsWith(`| \`${phase}\``) || row.includes(`, \`${phase}\` |`)), phase).toBe(true);
  }
});

it('docs/app-protocol.md has a row for every phase', () => {
  const table = rows(section(readFileSync(join(ROOT, 'docs/app-protocol.md'), 'utf8'), 'From the program to graceful'));
  expect(table.map((row) => /^\| `([a-z-]+)`/.exec(row)?.[1])).toEqual([...PHASES]);
});

it('docs/app.md has a row for every option of lifecycle(), with the defaults the code uses', () => {
  // Every option, once: an option added to the code and not here fails to compile.
  const keys = { name: 1, signals: 1, timeoutMs: 1, delayMs: 1, drainTimeoutMs: 1, resourceTimeoutMs: 1, forceOnRepeat: 1, exit: 1, logger: 1 } satisfies Record<keyof LifecycleOptions, 1>;
  const doc = readFileSync(join(ROOT, 'docs/app.md'), 'utf8');
  const table = rows(section(doc, 'lifecycle(options)')).map((row) => row.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));
  expect(table.map(([option]) => option)).toEqual(Object.keys(keys).map((k) => `\`${k}\``));
  const row = (key: keyof LifecycleOptions) => table.find(([option]) => option === `\`${key}\``)!;
  expect(row('timeoutMs')[1]).toBe(`graceful's deadline, else ${DEFAULT_BUDGET_MS / 1000} s`);
  expect(row('resourceTimeoutMs')[1]).toBe(`\`${DEFAULT_RESOURCE_TIMEOUT_MS}\``);
  expect(row('forceOnRepeat')[2]).toContain(`(more than ${ECHO_WINDOW_MS} ms after the first)`);
  expect(doc).toContain(`\`GRACEFUL_STOP_TIMEOUT_MS\`); otherwise ${DEFAULT_BUDGET_MS / 1000} s, or \`timeoutMs\``);
});
