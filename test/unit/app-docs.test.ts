// The library's documentation names every phase the code sends: the README's table (all but
// the channel's own hello) and the protocol's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { PHASES, type PhasesComplete } from '../../src/app/protocol.js';
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

it("the README's library section has a row for every phase", () => {
  const table = rows(section(readFileSync(join(ROOT, 'README.md'), 'utf8'), 'The library: graceful-supervisor/app'));
  for (const phase of PHASES.filter((p) => p !== 'hello')) {
    expect(table.some((row) => row.startsWith(`| \`${phase}\``) || row.includes(`, \`${phase}\` |`)), phase).toBe(true);
  }
});

it('docs/app-protocol.md has a row for every phase', () => {
  const table = rows(section(readFileSync(join(ROOT, 'docs/app-protocol.md'), 'utf8'), 'From the program to graceful'));
  expect(table.map((row) => /^\| `([a-z-]+)`/.exec(row)?.[1])).toEqual([...PHASES]);
});
