// The tables of docs/ that restate a table of the code, written from that table. Each sits
// between two markers in its document:
//
//   <!-- table options-run: ... -->
//   | Option | Variable | Default | Meaning |
//   ...
//   <!-- end table options-run -->
//
// `npm run docs` (scripts/docs.js) rewrites every such block with rewrite() below, and
// test/unit/doc-tables.test.ts fails when a committed block differs from what rewrite() would
// write: a flag, a variable, a default, an exit status or a preset value changed in the code
// and not in the docs. In an options table, the Meaning column is the document's own prose
// (links, details --help has no room for), kept row by row; every other cell, and the rows
// themselves (which, in what order), come from the code. A new option gets its --help
// description as a first Meaning.
//
// Written against the exported tables (RUN_OPTIONS and the others, whose `default` strings
// are what --help shows), so that it follows them wherever they move.
import { EXIT_TABLE, type ExitRow } from '../src/core/exit.js';
import { RELOAD_COMMAND_OPTIONS } from '../src/commands/reload/options.js';
import { LIFECYCLE_OPTIONS, RUN_OPTIONS } from '../src/config/options.js';
import { CHECK_OPTIONS } from '../src/commands/check/options.js';
import { UP_FILES } from '../src/config/defaults.js';
import { PRESET_NAMES, PRESETS } from '../src/config/presets.js';
import { UP_OPTIONS } from '../src/commands/up/options.js';
import { CTL_COMMANDS, CTL_OPTIONS } from '../src/commands/ctl/options.js';

/** What an options table needs of an option: OptionSpec's fields, however its key is typed. */
interface Spec {
  flags: string;
  env: string;
  default: string;
  description: string;
}

interface Table {
  /** Where its facts live, for the marker a reader sees. */
  from: string;
  /** Editable in the document: the Meaning column of an options table. */
  editable?: string;
  /** The table, from the code; `previous` is the block as committed (its prose is kept). */
  render: (previous: string) => string;
}

// The reload options of graceful run (docs/reload.md restates them beside graceful reload's).
const RELOAD_KEYS: readonly string[] = ['listen', 'listenPid', 'control', 'reloadSignal', 'instances'];

export const TABLES: Record<string, Table> = {
  'options-run': options('RUN_OPTIONS (src/config/options.ts)', RUN_OPTIONS),
  'options-lifecycle': options('LIFECYCLE_OPTIONS (src/config/options.ts)', LIFECYCLE_OPTIONS),
  'options-check': options('CHECK_OPTIONS (src/commands/check/options.ts)', CHECK_OPTIONS),
  'options-reload': options('RUN_OPTIONS (src/config/options.ts)', RUN_OPTIONS.filter((o) => RELOAD_KEYS.includes(o.key))),
  'options-reload-command': options('RELOAD_COMMAND_OPTIONS (src/commands/reload/options.ts)', RELOAD_COMMAND_OPTIONS),
  'options-up': options('UP_OPTIONS (src/commands/up/options.ts)', UP_OPTIONS),
  'exit-run': exits(['run', 'both']),
  'exit-check': exits(['check', 'both']),
  'exit-reload': exits(['reload']),
  'exit-up': exits(['up']),
  'options-ctl': options('CTL_OPTIONS (src/commands/ctl/options.ts)', CTL_OPTIONS),
  'commands-ctl': {
    from: 'CTL_COMMANDS (src/commands/ctl/options.ts)',
    render: () => table(['Command', 'Does'], Object.entries(CTL_COMMANDS).map(([name, c]) => [`\`${[name, ...c.operands.map((o) => o.toUpperCase())].join(' ')}\``, c.does])),
  },
  'exit-ctl': exits(['ctl']),
  'presets-auto-delay': {
    from: 'PRESETS (src/config/presets.ts)',
    render: () =>
      table(
        ['Preset', 'Floor', 'Quiet window', 'Cap (at most half of `--timeout`)', 'Why'],
        PRESET_NAMES.map((name) => {
          const p = PRESETS[name];
          const seconds = (ms: number) => `${ms / 1000}s`;
          return [`\`${p.name}\``, seconds(p.autoDelay.floorMs), seconds(p.autoDelay.quietMs), seconds(p.autoDelay.capMs), p.sources.autoDelay];
        }),
      ),
  },
  presets: {
    from: 'PRESETS (src/config/presets.ts)',
    render: () =>
      table(
        ['Preset', 'Platform deadline', '`--timeout`', '`--stop-delay`', 'Stop signal', 'Kill signal', 'Kill mode', 'Kill mode of `graceful check`', 'SIGCONT', 'Success besides 0'],
        PRESET_NAMES.map((name) => {
          const p = PRESETS[name];
          const seconds = (ms: number) => `${ms / 1000}s`;
          return [`\`${p.name}\``, seconds(p.budgetMs), seconds(p.timeoutMs), p.stopDelay ?? '0s', p.stopSignal, p.killSignal, p.killMode, p.deliveryMode, p.sigcont ? 'yes' : 'no', p.successExitStatus.join(', ') || 'none'];
        }),
      ),
  },
};

// An options table: Option, Variable and Default from the code, the Meaning kept from the
// document's row for the same flags.
function options(from: string, specs: readonly Spec[]): Table {
  return {
    from,
    editable: 'the Meaning column',
    render: (previous) => {
      const meaning = new Map(rows(previous).map((cells) => [cells[0], cells[3]]));
      return table(
        ['Option', 'Variable', 'Default', 'Meaning'],
        specs.map((s) => {
          const option = `\`${s.flags}\``;
          return [option, `\`${s.env}\``, codeSpans(s.default, 'default'), meaning.get(option) || codeSpans(s.description, 'prose')];
        }),
      );
    },
  };
}

// The exit statuses of a command, as --help lists them (core/exit.ts).
function exits(commands: readonly ExitRow['command'][]): Table {
  return {
    from: 'EXIT_TABLE (src/core/exit.ts)',
    render: () =>
      table(
        ['Status', 'When'],
        EXIT_TABLE.filter((r) => commands.includes(r.command)).map((r) => [/^[\dn+]+$/.test(r.status) ? `\`${r.status}\`` : r.status, codeSpans(r.when, 'prose')]),
      ),
  };
}

function table(header: readonly string[], body: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replace(/(?<!\\)\|/g, '\\|')).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...body.map(line)].join('\n');
}

// The body rows of a Markdown table, as trimmed cells (an escaped \| stays in its cell).
export function rows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|[-| ]+\|$/.test(l))
    .slice(1)
    .map((l) => l.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));
}

// Words of the code's text that are values to type, as Markdown code: flags, variables,
// paths, systemd directives, and in a default also signal names, file names, durations and
// numbers (in a sentence, "143 for SIGTERM" reads as words). A default of one word (group,
// SIGKILL, 127.0.0.1) is a value, except none, off and on.
const FILES: readonly string[] = UP_FILES;
const PROSE = /^(--[a-z][\w-]*|[A-Z][A-Z0-9]*_[A-Z0-9_]+|\$\S+|\S*\/\S*|[A-Z][A-Za-z]+=)$/;
const VALUE = /^(SIG[A-Z0-9]+|\d+(\.\d+)*(ms|s|m|h)?)$/;
export function codeSpans(text: string, kind: 'default' | 'prose'): string {
  if (kind === 'default' && !/\s/.test(text) && !['none', 'off', 'on'].includes(text)) return `\`${text}\``;
  return text.replace(/\S+/g, (word) => {
    const [, open, core, close] = /^(\(?)(.*?)([,;:)]*)$/.exec(word)!;
    const value = PROSE.test(core!) || (kind === 'default' && (VALUE.test(core!) || FILES.includes(core!)));
    return value ? `${open}\`${core}\`${close}` : word;
  });
}

const BLOCK = /^<!-- table ([\w-]+)(?:: [^\n]*)? -->\n([^]*?)^<!-- end table \1 -->$/gm;

// The document with every table between markers written from the code. Throws on a marker
// that names no table, and on a begin marker without its end.
export function rewrite(text: string): string {
  const opened = [...text.matchAll(/^<!-- table ([\w-]+)/gm)].length;
  let closed = 0;
  const out = text.replace(BLOCK, (_, name: string, previous: string) => {
    const spec = TABLES[name];
    if (!spec) throw new Error(`<!-- table ${name} -->: no such table (scripts/doc-tables.ts knows ${Object.keys(TABLES).join(', ')})`);
    closed++;
    const edit = spec.editable ? `edit ${spec.editable} here, the rest in the code` : 'edit it in the code';
    return `<!-- table ${name}: written by npm run docs from ${spec.from}; ${edit} -->\n${spec.render(previous)}\n<!-- end table ${name} -->`;
  });
  if (closed !== opened) throw new Error(`a <!-- table NAME --> marker has no <!-- end table NAME --> after it`);
  return out;
}

// Names of the tables a document holds.
export function tablesIn(text: string): string[] {
  return [...text.matchAll(/^<!-- table ([\w-]+)/gm)].map((m) => m[1]!);
}
