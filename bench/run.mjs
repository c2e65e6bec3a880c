#!/usr/bin/env node
// npm run bench [-- --quick] [-- --out FILE] [-- --only NAME,...]
//
// graceful's costs, each measured in one run against its baselines: bare `node`, the "Node
// floor" (floor.mjs, the least any Node wrapper can cost), and tini, dumb-init and
// pm2-runtime when they are installed (nothing is installed by this script). Prints a table
// and writes bench/results.md. --quick runs tiny counts, so that `npm test` keeps it working.
// --only runs some figures (startup, memory, signal, exit, escalation, tree, orphans,
// long-signals, long-restarts, tree-scale) and prints them without writing the results file.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const NODE = process.execPath;
const CLI = join(ROOT, 'bin/graceful.js');
const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const OUT = args.includes('--out') ? args[args.indexOf('--out') + 1] : join(HERE, 'results.md');
const ONLY = args.includes('--only') ? new Set(args[args.indexOf('--only') + 1].split(',')) : null;

// This machine sets NODE_EXTRA_CA_CERTS: it adds ~50 ms to every Node start and would hide
// the differences under measurement. Every command runs without it.
const ENV = { ...process.env, NO_COLOR: '1' };
delete ENV.NODE_EXTRA_CA_CERTS;
const trialsOf = (contender, n) => Math.min(n, contender.trials ?? n);

const COUNTS = QUICK
  ? { warmup: 1, startup: 3, rss: 1, signal: 3, exit: 3, escalation: 2, tree: 1, treeSize: 20, orphans: 50, longSignals: 100, longRestarts: 10, scaleTrees: [5, 10] }
  : { warmup: 5, startup: 40, rss: 5, signal: 60, exit: 60, escalation: 20, tree: 5, treeSize: 200, orphans: 1000, longSignals: 5000, longRestarts: 1500, scaleTrees: [10, 100, 1000] };

// ---------------------------------------------------------------- the contenders

function which(name) {
  for (const dir of [join(ROOT, 'node_modules/.bin'), ...(ENV.PATH ?? '').split(':')]) {
    const path = join(dir || '.', name);
    if (existsSync(path)) return path;
  }
  return null;
}

const tini = which('tini');
const dumbInit = which('dumb-init');
const pm2 = which('pm2-runtime');
// pm2-runtime keeps its state in PM2_HOME: a private one, so that the bench never touches
// a PM2 the user runs.
const PM2_HOME = pm2 ? mkdtempSync(join(os.tmpdir(), 'graceful-bench-pm2-')) : null;
if (PM2_HOME) ENV.PM2_HOME = PM2_HOME;
process.on('exit', () => PM2_HOME && rmSync(PM2_HOME, { recursive: true, force: true }));

/** Wrappers: how each one runs `command...`. */
const WRAPPERS = [
  { name: 'graceful', argv: (cmd) => [NODE, CLI, 'run', '-q', '--platform-timeout', '0', '--', ...cmd] },
  { name: 'Node floor', argv: (cmd) => [NODE, join(HERE, 'floor.mjs'), ...cmd] },
  tini && { name: 'tini', argv: (cmd) => [tini, '-s', '--', ...cmd] },
  dumbInit && { name: 'dumb-init', argv: (cmd) => [dumbInit, ...cmd] },
  // pm2-runtime runs a script, not a command line: node scripts as they are, anything else
  // with --interpreter none. It lingers ~8 s after its app is gone (it retries), so it
  // gets a few trials only.
  pm2 && {
    name: 'pm2-runtime',
    trials: QUICK ? 1 : 3,
    argv: (cmd) =>
      cmd[0] === NODE
        ? [pm2, 'start', cmd[1], '--no-autorestart', ...(cmd.length > 2 ? ['--', ...cmd.slice(2)] : [])]
        : [pm2, 'start', cmd[0], '--interpreter', 'none', '--no-autorestart', ...(cmd.length > 1 ? ['--', ...cmd.slice(1)] : [])],
  },
].filter(Boolean);
const missing = [!tini && 'tini', !dumbInit && 'dumb-init', !pm2 && 'pm2-runtime'].filter(Boolean);

// ---------------------------------------------------------------- helpers

const ns = () => process.hrtime.bigint();
const ms = (n) => Number(n) / 1e6;

function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, i)];
}
const median = (v) => quantile(v, 0.5);
const p99 = (v) => quantile(v, 0.99);

// Runs argv; resolves with the time from spawn to exit (ms) and its stdout.
function timed(argv) {
  return new Promise((resolvePromise, reject) => {
    const t0 = ns();
    const child = spawn(argv[0], argv.slice(1), { env: ENV, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.once('error', reject);
    child.once('exit', (code) => resolvePromise({ ms: ms(ns() - t0), code, out }));
  });
}

// Starts argv with piped stdout; `line(re)` waits for a line of it.
function started(argv, extraEnv = {}) {
  const child = spawn(argv[0], argv.slice(1), { env: { ...ENV, ...extraEnv }, stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  const waiters = [];
  child.stdout.setEncoding('utf8').on('data', (c) => {
    out += c;
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal, at: ns() })));
  return {
    child,
    exited,
    async line(re, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = out.match(re);
        if (m) return m;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re} from ${argv.join(' ')}`);
        await new Promise((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
    },
  };
}

function rssKb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  } catch {
    return NaN;
  }
}

function procs() {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = readFileSync(`/proc/${name}/stat`, 'latin1');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(name), state: f[0], ppid: Number(f[1]), sid: Number(f[3]) });
    } catch {}
  }
  return out;
}

function fmt(n, unit = 'ms') {
  if (!Number.isFinite(n)) return 'n/a';
  return `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ${unit}`;
}

const rows = [];
/** graceful's and pm2-runtime's medians per figure, lower is better. */
const versusPm2 = [];
function comparePm2(figure, values) {
  if (values['pm2-runtime'] !== undefined) versusPm2.push({ figure, graceful: values.graceful, pm2: values['pm2-runtime'] });
}
function row(figure, values, target = '', met = null) {
  rows.push({ figure, values, target, met });
  const cells = Object.entries(values).map(([k, v]) => `${k} ${v}`).join(' | ');
  console.error(`${met === null ? ' ' : met ? '✓' : '✗'} ${figure}: ${cells}${target ? `   (target: ${target})` : ''}`);
}

// ---------------------------------------------------------------- the figures

async function startup() {
  const contenders = [
    { name: 'true', argv: ['true'] },
    { name: 'node -e 0', argv: [NODE, '-e', '0'] },
    ...WRAPPERS.map((w) => ({ name: w.name, argv: w.argv(['true']), trials: w.trials })),
  ];
  const times = Object.fromEntries(contenders.map((c) => [c.name, []]));
  for (let i = 0; i < COUNTS.warmup; i++) for (const c of contenders) if (!c.trials) await timed(c.argv);
  // Interleaved, so that a slow moment of the machine hits every contender alike.
  for (let i = 0; i < COUNTS.startup; i++) {
    for (const c of contenders) if (i < trialsOf(c, COUNTS.startup)) times[c.name].push((await timed(c.argv)).ms);
  }
  const med = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  comparePm2('start-up', med);
  const values = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, `${fmt(median(v))} (p99 ${fmt(p99(v))})`]));
  const ratio = med.graceful / med['Node floor'];
  values['graceful / floor'] = `${ratio.toFixed(2)}x`;
  values['graceful / node -e 0'] = `${(med.graceful / med['node -e 0']).toFixed(2)}x`;
  row('start-up + exit, `run -- true` (median)', values, '<= 1.25x the Node floor', ratio <= 1.25);
}

async function memory() {
  const contenders = [
    { name: 'bare node', argv: [NODE, join(HERE, 'stamp.mjs'), 'idle'], self: true },
    ...WRAPPERS.map((w) => ({ name: w.name, argv: w.argv([NODE, join(HERE, 'stamp.mjs'), 'idle']), trials: w.trials })),
  ];
  const kb = Object.fromEntries(contenders.map((c) => [c.name, []]));
  for (let i = 0; i < COUNTS.rss; i++) {
    for (const c of contenders) {
      if (i >= trialsOf(c, COUNTS.rss)) continue;
      const run = started(c.argv);
      await run.line(/^ready$/m);
      // Let the wrapper settle after the spawn: its idle footprint is the figure.
      await new Promise((r) => setTimeout(r, 300));
      kb[c.name].push(rssKb(run.child.pid));
      run.child.kill('SIGTERM');
      await run.exited;
    }
  }
  const med = Object.fromEntries(Object.entries(kb).map(([k, v]) => [k, median(v) / 1024]));
  comparePm2('RSS', med);
  const values = Object.fromEntries(Object.entries(med).map(([k, v]) => [k, fmt(v, 'MB')]));
  const ratio = med.graceful / med['Node floor'];
  values['graceful / floor'] = `${ratio.toFixed(2)}x`;
  row('own RSS, supervising an idle child (median)', values, '<= 1.2x the Node floor', ratio <= 1.2);
}

async function signalLatency() {
  const lat = Object.fromEntries(WRAPPERS.map((w) => [w.name, []]));
  for (let i = 0; i < COUNTS.signal; i++) {
    for (const w of WRAPPERS) {
      if (i >= trialsOf(w, COUNTS.signal)) continue;
      const run = started(w.argv([NODE, join(HERE, 'stamp.mjs')]));
      await run.line(/^ready$/m);
      const t0 = ns();
      process.kill(run.child.pid, 'SIGTERM');
      const m = await run.line(/^term (\d+)$/m);
      lat[w.name].push(ms(BigInt(m[1]) - t0));
      await run.exited;
    }
  }
  const values = {};
  for (const [k, v] of Object.entries(lat)) values[k] = `p50 ${fmt(median(v))}, p99 ${fmt(p99(v))}`;
  const ratio = median(lat.graceful) / median(lat['Node floor']);
  values['graceful / floor (p50)'] = `${ratio.toFixed(2)}x`;
  comparePm2('SIGTERM latency', Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, median(v)])));
  row(`SIGTERM forwarding latency, to the child's handler (${COUNTS.signal} trials)`, values, 'p50 <= 1.2x the Node floor, p99 <= 2 ms', ratio <= 1.2 && p99(lat.graceful) <= 2);
}

async function exitLatency() {
  const lat = Object.fromEntries(WRAPPERS.map((w) => [w.name, []]));
  for (let i = 0; i < COUNTS.exit; i++) {
    for (const w of WRAPPERS) {
      if (i >= trialsOf(w, COUNTS.exit)) continue;
      const run = started(w.argv([NODE, join(HERE, 'stamp.mjs'), 'exit']));
      const m = await run.line(/^exiting (\d+)$/m);
      const { at } = await run.exited;
      lat[w.name].push(ms(at - BigInt(m[1])));
    }
  }
  const values = {};
  for (const [k, v] of Object.entries(lat)) values[k] = `p50 ${fmt(median(v))}, p99 ${fmt(p99(v))}`;
  const ratio = median(lat.graceful) / median(lat['Node floor']);
  values['graceful / floor (p50)'] = `${ratio.toFixed(2)}x`;
  comparePm2('exit latency', Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, median(v)])));
  row(`exit latency, child exit -> wrapper exit (${COUNTS.exit} trials)`, values, 'p50 <= 1.2x the Node floor', ratio <= 1.2);
}

async function escalation() {
  const late = [];
  const dir = mkdtempSync(join(os.tmpdir(), 'graceful-bench-'));
  for (let i = 0; i < COUNTS.escalation; i++) {
    const report = join(dir, `r${i}.json`);
    const run = started([NODE, CLI, 'run', '-q', '--platform-timeout', '0', '--timeout', '300ms', '--report-file', report, '--', NODE, join(HERE, 'stamp.mjs'), 'ignore']);
    await run.line(/^ready$/m);
    process.kill(run.child.pid, 'SIGTERM');
    await run.exited;
    late.push(JSON.parse(readFileSync(report, 'utf8')).stop.killSentAfterMs - 300);
  }
  rmSync(dir, { recursive: true, force: true });
  const worst = Math.max(...late);
  row(`escalation: kill signal after the deadline (${COUNTS.escalation} trials, graceful's clock)`, { median: fmt(median(late)), worst: fmt(worst) }, '<= 10 ms late, every trial', worst <= 10);
}

// Times, over `trials`, from graceful's kill signal to the last process of a tree of
// `size` sleeps (that ignore SIGTERM) being gone.
async function killTree(size, trials) {
  const gone = [];
  const dir = mkdtempSync(join(os.tmpdir(), 'graceful-bench-'));
  for (let i = 0; i < trials; i++) {
    const report = join(dir, `r${i}.json`);
    const run = started([NODE, CLI, 'run', '-q', '--platform-timeout', '0', '--timeout', '200ms', '--report-file', report, '--', NODE, join(HERE, 'tree.mjs'), String(size)]);
    await run.line(/ready/, 120_000);
    const members = procs().filter((p) => p.sid !== 0);
    const mainPid = procs().find((p) => p.ppid === run.child.pid)?.pid;
    const tree = members.filter((p) => p.sid === mainPid || p.pid === mainPid).map((p) => p.pid);
    const t0 = ns();
    process.kill(run.child.pid, 'SIGTERM');
    // Poll until every process of the tree is gone (or a zombie), 1 ms apart.
    const alive = new Set(tree);
    while (alive.size > 0) {
      for (const p of procs()) if (alive.has(p.pid) && p.state === 'Z') alive.delete(p.pid);
      const live = new Set(procs().map((p) => p.pid));
      for (const pid of [...alive]) if (!live.has(pid)) alive.delete(pid);
      if (alive.size > 0) await new Promise((r) => setTimeout(r, 1));
    }
    const allGone = ms(ns() - t0);
    await run.exited;
    const r = JSON.parse(readFileSync(report, 'utf8'));
    gone.push(allGone - r.stop.killSentAfterMs);
  }
  rmSync(dir, { recursive: true, force: true });
  return gone;
}

async function treeKill() {
  const gone = await killTree(COUNTS.treeSize, COUNTS.tree);
  const worst = Math.max(...gone);
  row(`tree kill: ${COUNTS.treeSize + 2} processes gone after the kill signal (${COUNTS.tree} trials)`, { median: fmt(median(gone)), worst: fmt(worst) }, '<= 300 ms', worst <= 300);
}

async function orphans() {
  const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']);
  if (probe.status !== 0) {
    row('reaping orphans as PID 1', { skipped: 'unshare --pid needs root here' });
    return;
  }
  const run = started(['unshare', '--pid', '--fork', '--mount-proc', NODE, CLI, 'run', '-q', '--platform-timeout', '0', '--', NODE, join(ROOT, 'fixtures/orphans.js'), String(COUNTS.orphans), '1000']);
  await run.line(/ready/, 60_000);
  const graceful = procs().find((p) => p.ppid === run.child.pid).pid;
  const before = rssKb(graceful);
  await run.line(/orphans done/, 60_000);
  const t0 = ns();
  let zombies = Infinity;
  let maxZombies = 0;
  while (zombies > 0 && ms(ns() - t0) < 2000) {
    zombies = procs().filter((p) => p.ppid === graceful && p.state === 'Z').length;
    maxZombies = Math.max(maxZombies, zombies);
    if (zombies > 0) await new Promise((r) => setTimeout(r, 1));
  }
  const clear = ms(ns() - t0);
  const after = rssKb(graceful);
  process.kill(graceful, 'SIGTERM');
  await run.exited;
  row(`reaping ${COUNTS.orphans} orphans as PID 1`, {
    'zombies at most': String(maxZombies),
    'none left after': fmt(clear),
    'zombies left': String(zombies),
    'RSS before/after': `${fmt(before / 1024, 'MB')} / ${fmt(after / 1024, 'MB')}`,
  }, 'none left within 1 s', zombies === 0 && clear <= 1000);
}

// ---------------------------------------------------------------- scale

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

// A process's CPU time so far (user + system, ms; the kernel counts in 1/CLK_TCK s) and RSS (KB).
function usage(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK, rssKb: rssKb(pid) };
}

// After a warm-up of `n` operations, two more rounds of `n` each: the second round must cost
// what the first did, in CPU per operation and in memory, or graceful grows with its life.
function growth(label, unit, n, [warm, a, b]) {
  const perA = (a.cpuMs - warm.cpuMs) / n;
  const perB = (b.cpuMs - a.cpuMs) / n;
  const rssGrowthKb = b.rssKb - a.rssKb;
  // CPU is counted in 10 ms ticks: a round must take several for the ratio to mean anything.
  const cpuFlat = perB <= perA * 1.5 || b.cpuMs - a.cpuMs < 50;
  row(label, {
    'RSS after the warm-up / round 1 / round 2': `${fmt(warm.rssKb / 1024, 'MB')} / ${fmt(a.rssKb / 1024, 'MB')} / ${fmt(b.rssKb / 1024, 'MB')}`,
    [`CPU per ${unit}, round 1 / round 2`]: `${fmt(perA * 1000, 'us')} / ${fmt(perB * 1000, 'us')}`,
  }, 'round 2: RSS within 2 MB of round 1, CPU per operation within 1.5x', rssGrowthKb <= 2048 && cpuFlat);
}

// Many forwarded signals to one child: SIGWINCH, which a terminal sends on every resize
// and which the child ignores by default.
async function longSignals() {
  const n = COUNTS.longSignals;
  const dir = mkdtempSync(join(os.tmpdir(), 'graceful-bench-'));
  const report = join(dir, 'r.json');
  const run = started([NODE, CLI, 'run', '-q', '--platform-timeout', '0', '--report-file', report, '--', NODE, join(HERE, 'stamp.mjs'), 'idle']);
  await run.line(/^ready$/m);
  const pid = run.child.pid;
  const samples = [];
  let sent = 0;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < n; i++) {
      process.kill(pid, 'SIGWINCH');
      sent++;
      // One at a time (1 ms apart): signals of a kind that arrive together are merged by
      // the kernel, and the count would be of signals sent, not handled.
      await new Promise((r) => setTimeout(r, 1));
    }
    await new Promise((r) => setTimeout(r, 200));
    samples.push(usage(pid));
  }
  process.kill(pid, 'SIGTERM');
  await run.exited;
  const forwarded = JSON.parse(readFileSync(report, 'utf8')).forwarded.SIGWINCH ?? 0;
  rmSync(dir, { recursive: true, force: true });
  growth(`long life: ${3 * n} signals sent (${forwarded} forwarded; the kernel merges the rest), in rounds of ${n}`, 'signal', n, samples);
}

// Many restarts: `true` under --restart always, restarted at once, for ever.
async function longRestarts() {
  const n = COUNTS.longRestarts;
  const child = spawn(NODE, [CLI, 'run', '--platform-timeout', '0', '--restart', 'always', '--restart-delay', '0ms', '--min-uptime', '0ms', '--', 'true'], { env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((r) => child.once('exit', r));
  let restarts = 0;
  let waiter = null;
  let tail = '';
  child.stderr.setEncoding('utf8').on('data', (c) => {
    tail = (tail + c).slice(-200);
    const m = [...tail.matchAll(/\(restart (\d+)\)/g)].at(-1);
    if (m) restarts = Number(m[1]);
    if (waiter && restarts >= waiter.at) waiter.resolve();
  });
  const samples = [];
  // The warm-up is two rounds long: at this rate (~125 restarts a second) V8 keeps growing
  // its heap to the allocation rate for the first ~3000 restarts (analysis below).
  for (const at of [2 * n, 3 * n, 4 * n]) {
    await new Promise((resolve) => {
      waiter = { at, resolve };
      if (restarts >= waiter.at) resolve();
    });
    samples.push(usage(child.pid));
  }
  child.kill('SIGTERM');
  await exited;
  growth(`long life: ${4 * n} restarts, a warm-up of ${2 * n} then rounds of ${n}`, 'restart', n, samples);
}

// Kill time against tree size: per descendant, it should not grow.
async function treeScale() {
  const values = {};
  for (const size of COUNTS.scaleTrees) {
    const gone = median(await killTree(size, QUICK ? 1 : 3));
    values[`${size + 2} processes`] = `${fmt(gone)} (${fmt((gone * 1000) / (size + 2), 'us')} each)`;
  }
  row(`tree kill against tree size (median of ${QUICK ? 1 : 3})`, values);
}

// ---------------------------------------------------------------- the report

// A tool's version line (dumb-init prints it on stderr).
function version(argv) {
  const r = spawnSync(argv[0], argv.slice(1), { env: ENV, encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] || 'n/a';
}

async function main() {
  if (!existsSync(join(ROOT, 'dist/cli.cjs'))) {
    console.error('bench: graceful is not built: run npm install (or npm run build) first');
    process.exit(2);
  }
  console.error(`graceful bench${QUICK ? ' (quick: tiny counts, figures not meaningful)' : ''}; missing, not measured: ${missing.join(', ') || 'none'}`);
  const figures = {
    startup,
    memory,
    signal: signalLatency,
    exit: exitLatency,
    escalation,
    tree: treeKill,
    orphans,
    up: () => import('./up.mjs').then((m) => m.stackStop({ quick: QUICK, row, fmt, median, env: ENV })),
    // Scale: how the cost grows with the work.
    'long-signals': longSignals,
    'long-restarts': longRestarts,
    'tree-scale': treeScale,
  };
  const unknown = [...(ONLY ?? [])].filter((name) => !(name in figures));
  if (unknown.length > 0) {
    console.error(`bench: --only ${unknown.join(',')}: no such figure; choose from ${Object.keys(figures).join(', ')}`);
    process.exit(2);
  }
  for (const [name, measure] of Object.entries(figures)) {
    if (!ONLY || ONLY.has(name)) await measure();
    if (name === 'orphans' && pm2 && versusPm2.length > 0) {
      const worse = versusPm2.filter((c) => !(c.graceful < c.pm2)).map((c) => c.figure);
      row('graceful against pm2-runtime (medians)', Object.fromEntries(versusPm2.map((c) => [c.figure, `${(c.pm2 / c.graceful).toFixed(1)}x better`])), 'better on every figure', worse.length === 0);
    }
  }
  if (ONLY) return;

  const cpu = os.cpus();
  const header = [
    `# graceful benchmark results${QUICK ? ' (quick mode: not meaningful)' : ''}`,
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${cpu[0]?.model ?? 'unknown'}, ${cpu.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`,
    `- Node ${process.version}; graceful ${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version} (${version(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'])})`,
    `- tini: ${tini ? version([tini, '--version']) : 'not installed'}; dumb-init: ${dumbInit ? version([dumbInit, '--version']) : 'not installed'}; pm2-runtime: ${pm2 ? version([pm2, '--version']) : 'not installed'}`,
    `- Counts: ${Object.entries(COUNTS).map(([k, v]) => `${k} ${v}`).join(', ')}; NODE_EXTRA_CA_CERTS unset for every command.`,
    '',
    '| Figure | Measured | Target | Met |',
    '|---|---|---|---|',
  ];
  const lines = rows.map((r) => `| ${r.figure} | ${Object.entries(r.values).map(([k, v]) => `${k}: ${v}`).join('<br>')} | ${r.target} | ${r.met === null ? '' : r.met ? 'yes' : '**no**'} |`);
  // The measured explanations of the misses are kept by hand in analysis.md.
  const analysis = readFileSync(join(HERE, 'analysis.md'), 'utf8');
  writeFileSync(OUT, `${[...header, ...lines].join('\n')}\n\n${analysis}`);
  console.error(`\nwritten to ${OUT}`);
}

main().catch((error) => {
  console.error(`bench: ${error.message}`);
  process.exit(1);
});
