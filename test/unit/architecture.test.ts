// The rooms of src/ and what each may import: the rules docs/architecture.md states, enforced
// from one table, and the document checked against the same table. The functional core stays
// pure (no node:*, no dependency, no clock, no process), so every decision is testable on a
// fake clock; the start path of `graceful run` loads no package and no other command.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../e2e/harness.js';

/** A room: its files (a folder ending in / or a file) and what their imports may name. */
interface Room {
  name: string;
  files: readonly string[];
  /** Files of src/ (a folder ending in /, or a file) that a static import may name. */
  imports: readonly string[];
  /** Packages and node: builtins a static import may name ('node:*' for every builtin). */
  packages: readonly string[];
  /** What a dynamic import() may name besides `imports`. */
  dynamic?: readonly string[];
}

// The first room whose `files` match a file is its room: the specific rows come first.
const ROOMS: readonly Room[] = [
  { name: 'core', files: ['src/core/'], imports: ['src/core/', 'src/app/protocol.ts'], packages: [] },
  { name: 'config', files: ['src/config/'], imports: ['src/core/', 'src/config/'], packages: ['node:os'] },
  {
    name: 'report',
    files: ['src/report/'],
    imports: ['src/core/', 'src/config/', 'src/report/', 'src/app/protocol.ts', 'src/app/log.ts'],
    packages: ['node:fs', 'node:path'],
  },
  {
    name: 'shell',
    files: ['src/shell/'],
    imports: ['src/core/', 'src/config/', 'src/report/', 'src/shell/', 'src/app/protocol.ts'],
    packages: ['node:*', 'koffi', 'chalk', 'tree-kill', 'pidusage'],
  },
  {
    name: "check's own bundles",
    files: ['src/commands/check/preload.ts', 'src/commands/check/stream.ts', 'src/commands/check/stream-worker.ts'],
    imports: ['src/commands/check/stream.ts'],
    packages: ['node:*'],
  },
  {
    name: 'commands',
    files: ['src/commands/check/'],
    imports: ['src/core/', 'src/config/', 'src/report/', 'src/shell/', 'src/commands/check/', 'src/commands/run/'],
    packages: ['node:*', 'chalk', 'js-yaml', 'shell-quote'],
  },
  ...['run', 'reload', 'up', 'ctl'].map((c) => ({
    name: 'commands',
    files: [`src/commands/${c}/`],
    imports: ['src/core/', 'src/config/', 'src/report/', 'src/shell/', `src/commands/${c}/`],
    packages: ['node:*', 'chalk', 'js-yaml', 'shell-quote'],
  })),
  {
    name: 'cli',
    files: ['src/cli/'],
    imports: ['src/core/', 'src/config/', 'src/cli/', 'src/shell/ui/output.ts', 'src/commands/check/options.ts', 'src/commands/reload/options.ts', 'src/commands/up/options.ts', 'src/commands/ctl/options.ts'],
    packages: ['commander', 'node:fs'],
  },
  {
    name: 'main',
    files: ['src/main.ts', 'src/main-run.ts', 'src/entry.ts'],
    imports: ['src/config/', 'src/entry.ts', 'src/shell/process/ffi.ts', 'src/shell/ui/output.ts'],
    packages: ['node:fs'],
    dynamic: ['src/cli/', 'src/commands/', 'src/shell/process/pid1.ts'],
  },
  { name: 'library', files: ['src/app/'], imports: ['src/app/'], packages: ['node:*'] },
  { name: 'types', files: ['src/types/'], imports: [], packages: [] },
];

const files = (d: string): string[] =>
  readdirSync(join(ROOT, d)).flatMap((f) => (statSync(join(ROOT, d, f)).isDirectory() ? files(`${d}/${f}`) : [`${d}/${f}`]));
const SRC = files('src').filter((f) => f.endsWith('.ts'));

const matches = (path: string, patterns: readonly string[]) => patterns.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p));
const roomOf = (file: string) => ROOMS.find((room) => matches(file, room.files));

// Code only: comments and string contents blanked (a message may name process.exit()), the
// specifiers of imports kept.
function code(text: string): string {
  return text.replace(/\/\*[^]*?\*\//g, '').replace(/\/\/.*$/gm, '');
}

interface Import {
  spec: string;
  dynamic: boolean;
  /** The file of src/ it names, or null for a package or builtin. */
  target: string | null;
}

// Static imports and re-exports (not `import type`: erased), and dynamic import()s (not `typeof import()`: a type).
function importsOf(file: string): Import[] {
  const text = code(readFileSync(join(ROOT, file), 'utf8'));
  const found: Import[] = [];
  const target = (spec: string) => (spec.startsWith('.') ? relative(ROOT, resolve(dirname(join(ROOT, file)), spec)).replace(/\.js$/, '.ts') : null);
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(?!type\s)[^;'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm)) {
    const spec = m[1] ?? m[2]!;
    found.push({ spec, dynamic: false, target: target(spec) });
  }
  for (const m of text.matchAll(/(typeof\s+)?\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    if (m[1]) continue;
    found.push({ spec: m[2]!, dynamic: true, target: target(m[2]!) });
  }
  return found;
}

const allowedPackage = (spec: string, packages: readonly string[]) =>
  packages.includes(spec) || (spec.startsWith('node:') && packages.includes('node:*'));

describe('the rooms of src/', () => {
  it('every file of src/ belongs to a room', () => {
    expect(SRC.filter((f) => !roomOf(f))).toEqual([]);
  });

  it.each(ROOMS.map((room) => [room.files.join(', '), room] as const))('%s imports only what its room may', (_, room) => {
    const offenders: string[] = [];
    for (const file of SRC.filter((f) => roomOf(f) === room)) {
      for (const imp of importsOf(file)) {
        const ok = imp.target
          ? matches(imp.target, room.imports) || (imp.dynamic && matches(imp.target, room.dynamic ?? []))
          : allowedPackage(imp.spec, room.packages);
        if (!ok) offenders.push(`${file}: ${imp.dynamic ? 'import()' : 'import'} ${imp.spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('src/core uses no clock, no process, no timer, no console', () => {
    const offenders: string[] = [];
    for (const file of SRC.filter((f) => roomOf(f)?.name === 'core')) {
      const text = code(readFileSync(join(ROOT, file), 'utf8')).replace(/'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`/g, '""');
      for (const banned of ['Date.now', 'performance.now', 'process.', 'setTimeout', 'setInterval', 'console.']) {
        if (text.includes(banned)) offenders.push(`${file}: ${banned}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it("graceful run's start path (main-run.ts and run.ts, statically) loads no package, no cli/ and no other command", () => {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const queue = ['src/main-run.ts', 'src/commands/run/run.ts'];
    while (queue.length) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const imp of importsOf(file).filter((i) => !i.dynamic)) {
        if (imp.target) queue.push(imp.target);
        else if (!imp.spec.startsWith('node:')) packages.add(`${file}: ${imp.spec}`);
      }
    }
    expect([...packages]).toEqual([]);
    expect([...seen].filter((f) => f.startsWith('src/cli/') || (f.startsWith('src/commands/') && !f.startsWith('src/commands/run/')))).toEqual([]);
    // graceful check's audit of every process (issue 22): the supervisor knows only its
    // interface (a type, erased); none of its code is on run's start path.
    expect([...seen].filter((f) => f.startsWith('src/shell/audit/') || f.startsWith('src/core/audit/'))).toEqual([]);
  });
});

it("docs/architecture.md's table of rooms states the rules this test enforces", () => {
  const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
  const cells = (row: string) => row.split(' | ').map((c) => c.replace(/^\| /, ''));
  const rows = doc.split('\n').filter((line) => line.startsWith('| ')).map(cells);
  const ticks = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
  const missing: string[] = [];
  for (const room of ROOMS) {
    const row = rows.find(([name, where]) => name === room.name && room.files.every((f) => ticks(where!).includes(f) || ticks(where!).includes('src/commands/')));
    if (!row) {
      missing.push(`no row for ${room.name} (${room.files.join(', ')})`);
      continue;
    }
    const may = row[2]!;
    for (const allowed of [...room.imports, ...room.packages, ...(room.dynamic ?? [])]) {
      const said =
        ticks(may).includes(allowed) ||
        (allowed === `${room.files[0]}` && /its own folder/.test(may)) ||
        (/^src\/commands\/\w+\/options\.ts$/.test(allowed) && may.includes("a command's `options.ts`"));
      if (!said) missing.push(`${room.name} (${room.files.join(', ')}) may import ${allowed}: the row does not say so`);
    }
  }
  expect(missing).toEqual([]);
});
