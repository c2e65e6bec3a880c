// The README is the product's front door and docs/ holds the references: together they must
// document every option, variable, signal, check and preset value the code has, and every
// link between them must lead somewhere. These checks fail when the code changes and the
// docs do not.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_TABLE } from '../../src/core/exit.js';
import { CHECKS } from '../../src/core/judge.js';
import { CHECK_OPTIONS, LIFECYCLE_OPTIONS, RUN_OPTIONS } from '../../src/config/options.js';
import { TRAPPED } from '../../src/config/signals.js';
import { MATRIX } from './bad-input-matrix.js';
import { ROOT } from '../e2e/harness.js';

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const readme = read('README.md');
const DOCS = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);

// The text under a heading, to the next heading of the same level or higher.
function section(text: string, title: string, level = 2): string {
  const mark = `${'#'.repeat(level)} ${title}`;
  const start = text.split('\n').findIndex((line) => line === mark || line.startsWith(`${mark}\n`));
  expect(start, `section "${mark}"`).toBeGreaterThan(-1);
  const lines = text.split('\n');
  const end = lines.findIndex((line, i) => i > start && /^#{1,6} /.test(line) && line.indexOf(' ') <= level);
  return lines.slice(start, end === -1 ? undefined : end).join('\n');
}

// Markdown table rows.
const rows = (text: string) => text.split('\n').filter((line) => line.startsWith('| '));

describe('docs/options.md', () => {
  const options = read('docs/options.md');
  it.each([
    ['graceful run', RUN_OPTIONS],
    ['graceful run: restarts, memory limit, stats, health endpoint', LIFECYCLE_OPTIONS],
    ['graceful check', CHECK_OPTIONS],
  ] as const)('%s: every option has a row with its variable and the default the code uses', (_, specs) => {
    for (const spec of specs) {
      const row = rows(options).find((r) => r.startsWith(`| \`${spec.flags}\` |`));
      expect(row, `a row for ${spec.flags}`).toBeDefined();
      const [, env, byDefault] = row!.split(' | ');
      expect(env).toBe(`\`${spec.env}\``);
      // The default as --help renders it from the code's DEFAULTS, up to its gloss; a flag
      // that takes no value is off unless given, whatever the behaviour it turns off.
      if (!spec.boolean) expect(byDefault!.replace(/`/g, ''), spec.flags).toMatch(new RegExp(`^${spec.default.split(' (')[0]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`));
    }
  });
});

it('docs/check.md explains every check and how to fix it', () => {
  const checks = section(read('docs/check.md'), 'What each check means and how to fix a failure');
  for (const name of CHECKS) expect(checks).toContain(`- **${name}**`);
});

it('docs/signals.md has every trapped signal in its table', () => {
  const table = rows(section(read('docs/signals.md'), 'Signals'));
  for (const s of TRAPPED) expect(table.some((row) => row.split(' | ')[0]!.includes(`\`${s.name}\``)), s.name).toBe(true);
});

it('docs/failure-modes.md states the size of the bad input matrix and of the fault table truly', () => {
  const failures = read('docs/failure-modes.md');
  expect(failures).toContain(`**Bad input: ${MATRIX.length} malformed values, one line each.**`);
  // The faults table: its header, separator and one row per fault.
  const start = failures.indexOf('| Fault |');
  const faults = failures.slice(start, failures.indexOf('\n\n', start)).split('\n').length - 2;
  expect(failures).toContain(`**${faults} faults injected**`);
});

it("docs/development.md's layout lists every file of src/, and nothing that is not there", () => {
  const layout = /## Layout[^]*?```\n([^]*?)```/.exec(read('docs/development.md'))![1]!;
  const listed = new Set<string>();
  let dir = '';
  for (const line of layout.split('\n')) {
    const top = /^(\S+)/.exec(line)?.[1];
    const nested = /^ {2}(\S+?)(?:,|\s|$)/.exec(line)?.[1];
    if (top) {
      listed.add(top.replace(/\/$/, ''));
      dir = top.endsWith('/') ? top : '';
    } else if (nested && dir) {
      listed.add(`${dir}${nested}`);
    }
  }
  const files = (d: string): string[] =>
    readdirSync(join(ROOT, d)).flatMap((f) => (statSync(join(ROOT, d, f)).isDirectory() ? files(`${d}/${f}`) : [`${d}/${f}`]));
  // A file is listed by its path; src/app/host.ts and channel.ts by one line each.
  expect(files('src').filter((f) => !listed.has(f))).toEqual([]);
  expect([...listed].filter((path) => !existsSync(join(ROOT, path)))).toEqual([]);
});

// GitHub's anchors for a file's headings: lower case, punctuation dropped, spaces to dashes,
// a repeated heading numbered.
function anchors(path: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of read(path).split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^#{1,6} (.+)$/.exec(line);
    if (!m) continue;
    const base = m[1]!.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe('links', () => {
  // Relative links of the README and docs/: [text](path#anchor), outside code.
  const links = (path: string) => {
    const text = read(path).replace(/```[^]*?```/g, '').replace(/`[^`\n]*`/g, '');
    return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((to) => !/^[a-z]+:/.test(to));
  };

  it.each(['README.md', ...DOCS])('%s: every relative link leads to a file and a heading that exist', (path) => {
    const broken: string[] = [];
    for (const to of links(path)) {
      const [file, anchor] = to.split('#') as [string, string | undefined];
      const target = file === '' ? path : relative(ROOT, join(ROOT, dirname(path), file));
      if (!existsSync(join(ROOT, target))) broken.push(`${to}: no file ${target}`);
      else if (anchor !== undefined && !anchors(target).has(anchor)) broken.push(`${to}: no heading #${anchor} in ${target}`);
    }
    expect(broken).toEqual([]);
  });

  it('the README links every document in docs/', () => {
    const linked = new Set(links('README.md').map((to) => to.split('#')[0]));
    expect(DOCS.filter((doc) => !linked.has(doc))).toEqual([]);
  });
});

describe('README', () => {
  it('tells the two commands of the quick start', () => {
    const quick = section(readme, 'Quick start');
    expect(quick).toContain('npm install');
    // Not through npx (npm exec dies of the terminal's Ctrl+C: issue 11); test/e2e/terminal.test.ts runs it.
    expect(quick).toContain('./bin/graceful.js run -- node fixtures/http-server.js');
    expect(quick).not.toMatch(/^npx graceful/m);
    expect(quick).toContain('npm test');
  });

  it('states every exit status graceful chooses (core/exit.ts)', () => {
    const statuses = section(readme, 'Exit status and verdicts');
    for (const row of EXIT_TABLE) {
      const status = row.status.replace('128+n', '128 + n');
      if (/\d/.test(status)) expect(statuses, `${row.status}: ${row.when}`).toMatch(new RegExp(`(^|[^\\d])${status.replace(/[+]/g, '\\+')}([^\\d]|$)`, 'm'));
    }
  });

  it('names the main options by their flags as the code spells them', () => {
    const main = rows(section(readme, 'Main options'));
    for (const row of main) {
      for (const flag of row.split(' | ')[0]!.match(/`[^`]+`/g) ?? []) {
        const spec = [...RUN_OPTIONS, ...LIFECYCLE_OPTIONS].find((s) => `\`${s.flags}\`` === flag);
        expect(spec, `${flag} is an option of graceful run`).toBeDefined();
      }
    }
  });
});
