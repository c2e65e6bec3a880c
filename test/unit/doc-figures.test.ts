// The figures the README and docs/ state in prose and in hand-written tables (a default, a
// limit), against what the code does with nothing given. A change to a default must change
// its docs too; a wrong figure in the docs fails here (test/mutations.json lists the
// mutations these catch: npm run mutate).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_PHASES } from '../../src/core/machine.js';
import { resolveRunOptions, RUN_SPECS } from '../../src/config/options.js';
import type { OptionSpec } from '../../src/config/args.js';
import { CHECK_OPTIONS, resolveCheckOptions } from '../../src/commands/check/options.js';
import { ROOT } from '../e2e/harness.js';

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const inputs = { command: ['app'], flags: {}, env: {}, exists: () => false, pid: 4242 };
const run = resolveRunOptions(inputs);
const check = resolveCheckOptions(inputs);

// A default as a table or a sentence writes it, and as --help does (up to its gloss in
// parentheses): "`1m`" and "1m", "none" and "off" (nothing by default) are the same.
const plain = (text: string) => text.replace(/`/g, '').trim();
const NOTHING = /^(none|off|no)$/;
function sameDefault(written: string, spec: OptionSpec): boolean {
  const doc = plain(written);
  const code = spec.default.split(' (')[0]!;
  if (NOTHING.test(doc) || NOTHING.test(code)) return NOTHING.test(doc) && NOTHING.test(code);
  return doc === code || (doc.startsWith(code) && /^\W/.test(doc.slice(code.length)));
}

// The rows of the Markdown tables in `text` whose header has a column named `column`, as cells.
function tableRows(text: string, column: string): string[][] {
  const out: string[][] = [];
  let at = -1;
  for (const line of text.split('\n')) {
    if (!line.startsWith('|')) {
      at = -1;
      continue;
    }
    const cells = line.split(' | ').map((c) => c.replace(/^\| ?| ?\|$/g, ''));
    if (at === -1) at = cells.indexOf(column);
    else if (!/^\|[-|]+\|$/.test(line)) out.push(cells);
  }
  return out.filter((cells) => cells.length > 1);
}

describe('defaults stated in sentences', () => {
  // "the grace period `--timeout` (default 30s)", anywhere in the README and docs/.
  it('each "`--option` (default X)" says the default of --help', () => {
    const docs = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const said = docs.flatMap((path) => [
      ...[...read(path).matchAll(/`(--[\w-]+)` \(default ([^)]+)\)/g)],
      // "(its default 30s grace period)": the grace period is --timeout's.
      ...[...read(path).matchAll(/default (\S+) (grace period)/g)].map((m) => Object.assign([m[0], '--timeout', m[1]], { index: m.index })),
    ].map((m) => ({ path, m })));
    expect(said.map(({ path }) => path)).toContain('README.md');
    for (const { path, m } of said) {
      const spec = [...RUN_SPECS, ...CHECK_OPTIONS].find((s) => s.flags.split(/[ ,]+/).includes(m[1]!));
      expect(spec, `${path}: ${m[1]} is an option`).toBeDefined();
      expect(sameDefault(m[2]!, spec!), `${path}: ${m[0]}, --help says ${spec!.default}`).toBe(true);
    }
  });

  it('the kill modes tables mark the kill mode of graceful run as the default', () => {
    for (const path of ['docs/signals.md']) {
      const marked = tableRows(read(path), 'Stop signal goes to').filter((cells) => cells[0]!.includes('(default)'));
      expect(marked.map((cells) => plain(cells[0]!.replace('(default)', ''))), path).toEqual([run.policy.killMode]);
    }
  });

  it("docs/options.md says graceful check's kill mode", () => {
    const said = /Its `--kill-mode` defaults to `(\w+)`/.exec(read('docs/options.md'));
    expect(said?.[1]).toBe(check.run.policy.killMode);
  });
});

describe('limits the docs state', () => {
  it('docs/report.md: how many phases a report keeps', () => {
    expect(read('docs/report.md')).toContain(`the first ${MAX_PHASES} at most`);
  });
});
