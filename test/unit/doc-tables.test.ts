// The tables of docs/ written from the code's tables (scripts/doc-tables.ts): each committed
// table must be what `npm run docs` would write, every table the script knows must sit in some
// document, and the script must really read the code (a changed default changes its output).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codeSpans, rewrite, rows, TABLES, tablesIn } from '../../scripts/doc-tables.js';
import { RUN_OPTIONS } from '../../src/config/options.js';
import { ROOT } from '../e2e/harness.js';

const FILES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

describe('tables written from the code', () => {
  it.each(FILES)('%s: every table between markers is what npm run docs writes', (path) => {
    const text = read(path);
    // A difference here: run `npm run docs` and commit what it wrote.
    expect(rewrite(text)).toBe(text);
  });

  it('every table the script knows is in a document', () => {
    const used = new Set(FILES.flatMap((path) => tablesIn(read(path))));
    expect(Object.keys(TABLES).filter((name) => !used.has(name))).toEqual([]);
  });

  it("takes Option, Variable and Default from the code and keeps the document's Meaning", () => {
    const block = (name: string, body: string) => `<!-- table ${name} -->\n${body}\n<!-- end table ${name} -->\n`;
    const committed = block('options-run', '| Option | Variable | Default | Meaning |\n|---|---|---|---|\n| `-t, --timeout <duration>` | `GRACEFUL_WRONG` | `1s` | the grace period, in our words |');
    const table = rows(rewrite(committed));
    expect(table).toHaveLength(RUN_OPTIONS.length);
    expect(table[0]).toEqual(['`-t, --timeout <duration>`', '`GRACEFUL_TIMEOUT`', codeSpans(RUN_OPTIONS[0]!.default, 'default'), 'the grace period, in our words']);
    // A row the document lacks gets --help's description.
    expect(table[1]![3]).toBe(codeSpans(RUN_OPTIONS[1]!.description, 'prose'));
  });

  it('refuses a marker that names no table, or has no end', () => {
    expect(() => rewrite('<!-- table no-such -->\n| a |\n<!-- end table no-such -->\n')).toThrow(/no such table/);
    expect(() => rewrite('<!-- table presets -->\n| a |\n')).toThrow(/no <!-- end table NAME -->/);
  });

  it('shows the values to type as code, and the words around them as words', () => {
    expect(codeSpans('group', 'default')).toBe('`group`');
    expect(codeSpans('none', 'default')).toBe('none');
    expect(codeSpans('30s (preset: its deadline less 500ms)', 'default')).toBe('`30s` (preset: its deadline less `500ms`)');
    expect(codeSpans('with reloads on: $XDG_RUNTIME_DIR/graceful/<pid>.sock, else none', 'default')).toBe('with reloads on: `$XDG_RUNTIME_DIR/graceful/<pid>.sock`, else none');
    expect(codeSpans('0 (no reloads)', 'default')).toBe('`0` (no reloads)');
    expect(codeSpans('143 for SIGTERM (see --success-exit-status, GRACEFUL_TMPDIR)', 'prose')).toBe('143 for SIGTERM (see `--success-exit-status`, `GRACEFUL_TMPDIR`)');
  });
});
