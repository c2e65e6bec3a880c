// What graceful check's audit of any program (src/shell/audit/) costs, from the program's
// side and from graceful's: start-up, each trapped call, the exit, memory. Run by
// bench/audit.mjs (which bundles this file); prints a Markdown table for docs/audit-notes.md.
//
// Method: each figure is measured on the same program run plainly (spawned as graceful
// spawns it) and audited (the shim, the filter, the worker, the keeper), trial by trial in a
// rotating order, so that a slow moment of this shared machine hits both alike; medians.
// Times come from CLOCK_MONOTONIC on both sides (process.hrtime here, time.monotonic_ns in
// the program). Everything is built first (npm run build).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ALL_CALLS, startAudit, type AuditOptions } from '../src/shell/audit/audit.js';

const ROOT = resolve(process.argv[2] ?? '.');
const DIST = join(ROOT, 'dist');
const QUICK = process.argv.includes('--quick');
const TRIALS = QUICK ? 3 : 15;
const CALLS = QUICK ? 500 : 5000;
const now = () => Number(process.hrtime.bigint()) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type Mode = 'plain' | 'audited' | 'audited, close trapped' | 'audited, worker started before' | 'audited, no keeper' | 'audited, node shim';
const OPTIONS: Record<Exclude<Mode, 'plain'>, AuditOptions> = {
  audited: {},
  'audited, close trapped': { trap: ALL_CALLS },
  'audited, worker started before': {},
  'audited, no keeper': { keeper: false },
  'audited, node shim': { shim: 'node' },
};

interface Run {
  spawnedAt: number;
  firstByteAt: number | null;
  exitAt: number;
  stdout: string;
  audit: Awaited<ReturnType<ReturnType<typeof startAudit>['finish']>> | null;
  /** graceful's own RSS growth while the audit ran, and the keeper's RSS (kB). */
  rssKb: { graceful: number; keeper: number | null };
}

function keeperRss(): number | null {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'latin1');
      if (!cmd.includes('audit-shim.cjs\0--keep') && !cmd.includes('IO::Poll')) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== process.pid) continue;
      return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${name}/status`, 'latin1'))?.[1] ?? NaN);
    } catch {
      // gone
    }
  }
  return null;
}

async function run(command: string[], mode: Mode, busyMainMs = 0): Promise<Run> {
  const rssBefore = process.memoryUsage().rss;
  const session = mode === 'plain' ? null : startAudit(command, DIST, OPTIONS[mode]);
  // As graceful check should do it: the worker started with graceful, before the spawn.
  if (mode === 'audited, worker started before') await session!.ready;
  const spawnedAt = now();
  const child = session
    ? spawn(session.file, session.args, { stdio: ['ignore', 'pipe', 'inherit', 'pipe'], detached: true })
    : spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  let firstByteAt: number | null = null;
  let stdout = '';
  child.stdout!.on('data', (c: Buffer) => {
    firstByteAt ??= now();
    stdout += c.toString();
  });
  const closed = new Promise((r) => child.stdout!.once('close', r));
  const attached = session?.attach(child);
  // graceful's own event loop held up (load, a /proc scan): the program must not notice.
  if (busyMainMs > 0) {
    const until = now() + busyMainMs;
    while (now() < until);
  }
  let keeper: number | null = null;
  const exitAt = await new Promise<number>((resolve) => {
    child.on('exit', () => resolve(now()));
    // The keeper, once the program runs (it is started when graceful holds the listener).
    void attached?.then(() => (keeper = keeperRss()));
  });
  await closed;
  const rssDuring = process.memoryUsage().rss;
  const audit = session ? await session.finish(() => false) : null;
  return { spawnedAt, firstByteAt, exitAt, stdout, audit, rssKb: { graceful: Math.round((rssDuring - rssBefore) / 1024), keeper } };
}

// Each mode once per trial, in a rotating order; `figure` reads one number from each run.
async function compare(modes: Mode[], command: () => string[], figures: Record<string, (r: Run) => number>, busyMainMs = 0): Promise<Record<string, Record<Mode, number>>> {
  const samples: Record<string, Partial<Record<Mode, number[]>>> = Object.fromEntries(Object.keys(figures).map((f) => [f, {}]));
  for (let t = 0; t < TRIALS; t++) {
    for (let i = 0; i < modes.length; i++) {
      const mode = modes[(t + i) % modes.length]!;
      const r = await run(command(), mode, busyMainMs);
      for (const [name, read] of Object.entries(figures)) (samples[name]![mode] ??= []).push(read(r));
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, byMode]) => [name, Object.fromEntries(Object.entries(byMode).map(([m, xs]) => [m, median(xs!)])) as Record<Mode, number>]));
}

const rows: string[] = [];
const fmt = (x: number, unit: string) => (Number.isFinite(x) ? `${x < 10 ? x.toFixed(2) : x.toFixed(1)} ${unit}` : 'n/a');
function table(title: string, result: Record<string, Record<Mode, number>>, unit: string, modes: Mode[]) {
  rows.push(`| ${title} | ${modes.map((m) => m).join(' | ')} |`, `|---|${modes.map(() => '---:').join('|')}|`);
  for (const [name, byMode] of Object.entries(result)) rows.push(`| ${name} | ${modes.map((m) => fmt(byMode[m], unit)).join(' | ')} |`);
  rows.push('');
}

const tmp = mkdtempSync(join(tmpdir(), 'graceful-audit-bench-'));
try {
  const all: Mode[] = ['plain', 'audited', 'audited, worker started before', 'audited, no keeper', 'audited, node shim'];
  // 1. Start-up: from the spawn to the program's first output (echo: a C program, 3 closes at start).
  table('start-up: spawn to first output', await compare(all, () => ['/bin/echo', 'x'], { '/bin/echo x': (r) => r.firstByteAt! - r.spawnedAt }), 'ms', all);
  table(
    'a Node program: spawn to exit',
    await compare(['plain', 'audited', 'audited, close trapped'], () => [process.execPath, '-e', "require('node:http')"], { "node -e \"require('node:http')\"": (r) => r.exitAt - r.spawnedAt }),
    'ms',
    ['plain', 'audited', 'audited, close trapped'],
  );
  // 2. Each trapped call, from inside the program (Python's loop overhead is in every column).
  const calls = (held: number, files: number) => () => ['/usr/bin/python3', join(ROOT, 'bench/audit-calls.py'), String(CALLS), String(held), String(files), tmp];
  const json = (r: Run) => JSON.parse(r.stdout.trim().split('\n').pop()!);
  const perCall = {
    'open + close (a file)': (r: Run) => json(r).open_close_us,
    'socket + close (a socket never connected)': (r: Run) => json(r).socket_close_us,
    'socket + connect + close, and accept + close of the other end (TCP, loopback)': (r: Run) => json(r).connect_close_us,
  };
  const three: Mode[] = ['plain', 'audited', 'audited, close trapped'];
  table('per call, in the program', await compare(three, calls(0, 0), perCall), 'µs', three);
  table('per call, graceful\'s main thread busy (2 s)', await compare(three, calls(0, 0), perCall, 2000), 'µs', three);
  // 3. The exit: from the program's last stamp to graceful seeing it exit, with what it holds.
  const exit = (r: Run) => r.exitAt - json(r).exiting / 1e6;
  table('exit: last stamp to exit seen', await compare(['plain', 'audited'], calls(0, 0), { 'holding nothing': exit }), 'ms', ['plain', 'audited']);
  table('exit: last stamp to exit seen', await compare(['plain', 'audited'], calls(50, 10), { 'holding 50 TCP connections and 10 files': exit }), 'ms', ['plain', 'audited']);
  // 4. Memory and the receiver's own account.
  const r = await run(calls(50, 10)(), 'audited, close trapped');
  rows.push(
    `Memory: graceful's RSS grew ${r.rssKb.graceful} kB during an audited run (the worker thread); the keeper process: ${r.rssKb.keeper ?? '?'} kB RSS.`,
    `Receiver, one run of the call loops (${CALLS} each), close trapped, and an exit holding 50 connections: ${r.audit!.stats.notifications} notifications, ${r.audit!.stats.busyMs.toFixed(1)} ms busy, the longest ${r.audit!.stats.maxLatencyUs} µs; by call: ${JSON.stringify(r.audit!.stats.byCall)}.`,
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(rows.join('\n'));
