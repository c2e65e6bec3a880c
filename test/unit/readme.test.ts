// The README is the product's front door and docs/ holds the references: together they must
// document every option, variable, signal, check, preset, exit status, verdict and report
// field the code has, with the values the code uses, and every link between them must lead
// somewhere. The tables written from the code are checked by doc-tables.test.ts; the others
// are held here row by row against the code's tables. These fail when the code changes and
// the docs do not.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, EXIT_TABLE } from '../../src/core/exit.js';
import { CHECKS } from '../../src/core/judge.js';
import type { Verdict } from '../../src/core/timeline.js';
import { KILL_MODES, LIFECYCLE_OPTIONS, RUN_OPTIONS, resolveRunOptions } from '../../src/config/options.js';
import { CHECK_OPTIONS, CHECK_RUN_OPTIONS } from '../../src/commands/check/options.js';
import { PLATFORM_RESERVE_MS } from '../../src/config/defaults.js';
import { ECHO_WINDOW_MS } from '../../src/core/machine.js';
import { detectPlatform, PRESET_NAMES, PRESETS, type PresetName } from '../../src/config/presets.js';
import { parseReady, type ReadySpec } from '../../src/config/readiness.js';
import { TRAPPED } from '../../src/config/signals.js';
import { buildReport } from '../../src/report/json.js';
import { tablesIn } from '../../scripts/doc-tables.js';
import { MATRIX } from './bad-input-matrix.js';
import { Sim } from './sim.js';
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

// Markdown table rows, as trimmed cells (an escaped \| stays in its cell).
const cells = (row: string) => row.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim());
// The default of an option as --help shows it, up to its gloss: "30s (preset: ...)" -> "30s".
const byDefault = (key: string) => [...RUN_OPTIONS, ...LIFECYCLE_OPTIONS].find((o) => o.key === key)!.default.split(' ')[0]!;
// A document's text with every run of white space one space: its sentences, whatever the line breaks.
const flat = (text: string) => text.replace(/\s+/g, ' ');
const checkDefault = (key: string) => [...CHECK_RUN_OPTIONS, ...CHECK_OPTIONS].find((o) => o.key === key)!.default.split(/[ ,]/)[0]!;

it.each([
  ['docs/options.md', ['options-run', 'options-lifecycle', 'options-check']],
  ['docs/exit-status.md', ['exit-run', 'exit-check', 'exit-reload']],
  ['docs/check.md', ['exit-check']],
  ['docs/presets.md', ['presets', 'presets-auto-delay']],
])('%s holds the tables written from the code', (path, names) => {
  expect(tablesIn(read(path))).toEqual(names);
});

describe('docs/options.md', () => {
  const options = read('docs/options.md');

  it("states graceful check's own default kill mode", () => {
    expect(flat(options)).toContain(`Its \`--kill-mode\` defaults to \`${checkDefault('killMode')}\``);
  });

  it('has a row for every kind of readiness probe, each form one that --ready takes', () => {
    // Every kind of ReadySpec, once: a kind added to the code and not here fails to compile.
    const kinds = { tcp: true, http: true, log: true, ipc: true, notify: true, app: true, exec: true } satisfies Record<ReadySpec['kind'], true>;
    const table = rows(section(options, 'Readiness probes (`--ready`)'));
    const seen = new Set<string>();
    for (const row of table.slice(1)) {
      for (const form of cells(row)[0]!.match(/`[^`]+`/g) ?? []) {
        const example = form.slice(1, -1).replace('HOST', '127.0.0.1').replace('PORT', '3000').replace('PATH', 'ready').replace('REGEX', 'listening').replace('COMMAND', 'true');
        seen.add(parseReady(example, '--ready').kind);
      }
    }
    expect([...seen].sort()).toEqual(Object.keys(kinds).sort());
    expect(flat(options)).toContain(`if the child is not ready within \`--ready-timeout\` (${byDefault('readyTimeout')})`);
  });
});

it('docs/check.md explains every check, in the order of the checklist', () => {
  const checks = section(read('docs/check.md'), 'What each check means and how to fix a failure');
  expect([...checks.matchAll(/^- \*\*([a-z-]+)\*\*/gm)].map((m) => m[1])).toEqual([...CHECKS]);
});

describe('docs/signals.md', () => {
  const doc = read('docs/signals.md');
  const table = rows(section(doc, 'Signals')).slice(1).map(cells);

  it('has a row for every trapped signal, saying what graceful does with it', () => {
    const says = { stop: /^starts the shutdown/, forward: /^forwarded/, suspend: /^Ctrl\+Z|^as `SIGTSTP`/ };
    for (const s of TRAPPED) {
      const row = table.find(([names]) => names!.includes(`\`${s.name}\``));
      expect(row, s.name).toBeDefined();
      expect(row![1], s.name).toMatch(says[s.disposition]);
      if (s.interactive) expect(row![1], `${s.name} with --interactive`).toContain('With `--interactive`');
    }
    expect(table.find(([names]) => names === '`SIGINT`')![1]).toContain(`again while stopping (after ${ECHO_WINDOW_MS} ms): the kill signal at once`);
  });

  it('says of every other signal it names that graceful does not pass it on', () => {
    const trapped = new Set<string>(TRAPPED.map((s) => s.name));
    for (const [names, what] of table) {
      if ((names!.match(/SIG[A-Z0-9]+/g) ?? []).some((n) => trapped.has(n))) continue;
      expect(what, names).toMatch(/not forwarded|ignored by graceful|cannot be caught|how graceful learns/);
    }
  });

  it('names, for terminal mode, exactly the signals a terminal or a shell sends to the whole job', () => {
    const list = /what the terminal or the shell sends to the whole job\n\(([^)]*)\)/.exec(doc)![1]!;
    expect(new Set(list.match(/SIG[A-Z0-9]+/g))).toEqual(new Set(TRAPPED.filter((s) => s.job).map((s) => s.name)));
  });

  it('has a row for each kill mode, in order, the default marked', () => {
    const modes = rows(section(doc, 'Kill modes')).slice(1).map((r) => cells(r)[0]);
    expect(modes).toEqual(KILL_MODES.map((m) => (m === byDefault('killMode') ? `\`${m}\` (default)` : `\`${m}\``)));
  });

  it("states the stop sequence's defaults as the code has them", () => {
    expect(flat(doc)).toContain(`a copy of the first arriving within ${ECHO_WINDOW_MS} ms is taken as the same keypress`);
    expect(flat(doc)).toContain(`The defaults (a grace period of ${byDefault('timeout')}, ${byDefault('killSignal')}, the kill mode \`${byDefault('killMode')}\`)`);
  });
});

describe('docs/presets.md', () => {
  const doc = read('docs/presets.md');

  it("states graceful's reserve inside the platform's deadline", () => {
    expect(flat(doc)).toContain(`**less ${PLATFORM_RESERVE_MS} ms**`);
    expect(doc).toContain(`graceful needs ${PLATFORM_RESERVE_MS}ms after its kill signal`);
  });

  it('recognises each platform as its row says, with its preset\'s deadline', () => {
    const table = rows(doc.slice(doc.indexOf('| Platform | Preset | Recognised by |'))).slice(1).map(cells);
    expect(table.map(([, preset]) => preset!.replace(/`/g, '')).sort()).toEqual(Object.keys(PRESETS).sort());
    for (const [, preset, by, deadline] of table) {
      const name = preset!.replace(/`/g, '') as PresetName;
      const variable = /^`(\w+)` is set$/.exec(by!)?.[1];
      // containerd's clue is the root's mount: a line of mountinfo such as it writes.
      const mountinfo = by!.includes('/proc/self/mountinfo') ? '1 0 0:1 / / rw - overlay overlay rw,lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/1/fs\n' : '';
      const found = variable ? detectPlatform({ [variable]: '1' }, () => false, 4242) : detectPlatform({}, (path) => by!.includes(`\`${path}\``), 1, () => mountinfo);
      expect(found?.name, by).toBe(name);
      expect(deadline, name).toBe(`${PRESETS[name].budgetMs / 1000}s`);
    }
  });
});

describe('docs/exit-status.md', () => {
  const doc = read('docs/exit-status.md');

  it('has a row for every verdict, in order', () => {
    // Every verdict, once: a verdict added to the code and not here fails to compile.
    const verdicts = { clean: 1, 'signal-default': 1, escalated: 1, failed: 1, exited: 1, crashed: 1, 'not-ready': 1, 'not-started': 1 } satisfies Record<Verdict, 1>;
    const table = rows(section(doc, 'Verdicts')).slice(1).map(cells);
    expect(table.map(([v]) => v)).toEqual(Object.keys(verdicts).map((v) => `\`${v}\``));
    expect(table.find(([v]) => v === '`not-ready`')![1]).toContain(`(exit status ${EXIT.notReady})`);
  });

  it('shows a usage error with its hint', () => {
    expect(doc).toContain(`exit status ${EXIT.usage}:`);
  });
});

it("docs/report.md has a row for every field of the report, at the top, in stop and in descendants", () => {
  const sim = Sim.started({ timeoutMs: 1000 });
  sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
  sim.feed({ type: 'child-exited', code: 0, signal: null, signo: null, survivors: 0 });
  const options = { ...resolveRunOptions({ command: ['app'], flags: {}, env: {}, exists: () => false, pid: 1 }), policy: sim.policy };
  const extras = { descendants: { atStop: [], atMainExit: [], atAppExit: null, killed: [], leaked: [] }, reaper: null };
  const report = buildReport(sim.state.facts, options, 0, (at) => at, extras);
  const table = rows(section(read('docs/report.md'), 'graceful run: the JSON report (graceful.report/v1)')).slice(1);
  const fields = table.flatMap((row) => cells(row)[0]!.match(/`[\w.]+`/g)!.map((f) => f.slice(1, -1)));
  const at = (prefix: string) => fields.filter((f) => f.startsWith(prefix)).map((f) => f.slice(prefix.length)).sort();
  expect(new Set(fields.map((f) => f.split('.')[0]))).toEqual(new Set(Object.keys(report)));
  expect(at('stop.')).toEqual(Object.keys(report.stop!).sort());
  expect(at('descendants.')).toEqual(Object.keys(report.descendants).sort());
});

it("docs/restarts.md's comparison gives graceful's defaults", () => {
  const doc = read('docs/restarts.md');
  for (const key of ['restartDelay', 'minUptime', 'maxRestarts', 'restartWindow']) {
    const spec = LIFECYCLE_OPTIONS.find((o) => o.key === key)!;
    expect(doc, spec.flags).toContain(`\`${spec.flags.split(' ')[0]} ${spec.default}\``);
  }
});

it("docs/platforms.md's examples state the presets' deadlines", () => {
  const doc = read('docs/platforms.md');
  expect(flat(doc)).toContain(`within Docker's ${PRESETS.docker.budgetMs / 1000} s`);
  expect(doc).toContain(`terminationGracePeriodSeconds: ${PRESETS.kubernetes.budgetMs / 1000}   # the preset gives the app ${PRESETS.kubernetes.timeoutMs / 1000} s of it`);
  expect(flat(doc)).toContain(`against the ${PRESETS.kubernetes.timeoutMs / 1000} s grace period`);
  const auto = PRESETS.kubernetes.autoDelay;
  expect(flat(doc)).toContain(`has come for ${auto.quietMs / 1000} s (at least ${auto.floorMs / 1000} s, at most ${auto.capMs / 1000} s;`);
  expect(doc).toContain(`TimeoutStopSec=${PRESETS.systemd.budgetMs / 1000}\n`);
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

it('every heading of bench/analysis.md that a comment in src/ points to exists', () => {
  const files = (d: string): string[] =>
    readdirSync(join(ROOT, d)).flatMap((f) => (statSync(join(ROOT, d, f)).isDirectory() ? files(`${d}/${f}`) : [`${d}/${f}`]));
  const headings = new Set(read('bench/analysis.md').split('\n').filter((l) => l.startsWith('#')).map((l) => l.replace(/^#+ /, '')));
  // A heading's name may go on over the comment's next line.
  const pointers = files('src').flatMap((f) => [...read(f).matchAll(/bench\/analysis\.md,\s*(?:\/\/\s*)?"([^"]+)"/g)].map((m) => `${f}: ${m[1]!.replace(/\s*\/\/\s*/g, ' ')}`));
  expect(pointers.length).toBeGreaterThan(0);
  expect(pointers.filter((p) => !headings.has(p.slice(p.indexOf(': ') + 2)))).toEqual([]);
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
  it('is read in three minutes: 200 lines at most (the references live in docs/)', () => {
    expect(readme.trimEnd().split('\n').length).toBeLessThanOrEqual(200);
  });

  it('tells the two commands of the quick start', () => {
    const quick = section(readme, 'Quick start');
    expect(quick).toContain('npm install');
    // Not through npx (npm exec dies of the terminal's Ctrl+C: issue 11); test/e2e/terminal.test.ts runs it.
    expect(quick).toContain('./bin/graceful.js run -- node fixtures/http-server.js');
    expect(quick).not.toMatch(/^npx graceful/m);
    expect(quick).toContain('npm test');
  });

  it("shows the defaults' figures in its examples: the grace period, the in-flight requests, check's kill mode", () => {
    const timeout = byDefault('timeout');
    expect(flat(readme)).toContain(`under the default ${timeout} grace period`);
    expect(readme).toContain(`SIGKILL sent at +${timeout} (grace period of ${timeout} over)`);
    expect(readme).toContain(`0/${checkDefault('inflightCount')} in-flight requests completed`);
    expect(flat(readme)).toContain(`within the ${timeout} grace period`);
    expect(readme).toContain(`(as docker stop and Kubernetes send it; --kill-mode ${checkDefault('killMode')})`);
  });

  it('names every preset', () => {
    expect(flat(readme)).toContain(`a \`--preset\` (${PRESET_NAMES.join(', ')})`);
  });

  it('gives the exit statuses of graceful reload as the code has them', () => {
    const status = (word: string) => EXIT_TABLE.find((r) => r.command === 'reload' && r.when.startsWith(word))!.status;
    expect(readme).toContain(`# exit ${status('switched')} switched, ${status('rolled back')} rolled back, ${status('failed')} failed`);
  });
});
