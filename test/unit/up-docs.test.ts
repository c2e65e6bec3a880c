// docs/up.md is graceful up's reference: every option with its variable and default (a table
// written from the code: npm run docs; doc-tables.test.ts checks it), every key of a process
// with the option of graceful run it stands for, every condition and every check of the stack
// check. These fail when the code grows and the page does not.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STACK_CHECKS } from '../../src/core/stack-judge.js';
import { OPTION_KEYS, OWN_KEYS } from '../../src/commands/up/stackfile.js';
import { RUN_SPECS } from '../../src/config/options.js';
import { ECHO_WINDOW_MS } from '../../src/core/machine.js';
import { tablesIn } from '../../scripts/doc-tables.js';
import { ROOT } from '../e2e/harness.js';

const doc = readFileSync(join(ROOT, 'docs/up.md'), 'utf8');
const section = (title: string) => {
  const start = doc.indexOf(`## ${title}`);
  expect(start, `docs/up.md section "${title}"`).toBeGreaterThan(-1);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end === -1 ? undefined : end);
};

describe('docs/up.md', () => {
  it('holds the table of options written from the code', () => {
    expect(tablesIn(section('Options'))).toEqual(['options-up']);
  });

  it("has a row for every key of a process, each giving the option of graceful run it stands for", () => {
    const table = section('The file')
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .map((l) => l.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));
    const keys = table.flatMap(([names]) => names!.match(/`[a-z_]+`/g)!.map((k) => k.slice(1, -1)));
    expect(keys.sort()).toEqual([...Object.keys(OPTION_KEYS), ...OWN_KEYS].sort());
    for (const [names, , asInRun] of table) {
      const key = /`([a-z_]+)`/.exec(names!)![1]!;
      const option = OPTION_KEYS[key];
      if (option === undefined) expect(asInRun, key).toMatch(/^(|the command)$/);
      else expect(asInRun, key).toContain(`\`${RUN_SPECS.find((s) => s.key === option)!.flags.match(/--[\w-]+/)![0]}`);
    }
  });

  it('documents each condition and each check', () => {
    const start = section('Start');
    for (const c of ['started', 'ready', 'completed']) expect(start).toContain(`| \`${c}\` |`);
    const check = section('graceful check for a stack');
    for (const name of STACK_CHECKS) expect(check).toContain(`- **${name}**`);
  });

  it("states run's echo window for a second Ctrl+C", () => {
    expect(section('Stop').replace(/\s+/g, ' ')).toContain(`a second Ctrl+C within ${ECHO_WINDOW_MS} ms is the same keypress seen twice`);
  });

  it('points at an example that exists', () => {
    expect(doc).toContain('(../examples/stack.yml)');
    expect(readFileSync(join(ROOT, 'examples/stack.yml'), 'utf8')).toContain('redis-server');
  });
});
