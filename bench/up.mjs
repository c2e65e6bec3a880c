// The cost of an ordered stop (graceful up): a 10-process stack in 3 levels, each process
// draining for a known time once asked to stop. An ordered stop cannot take less than the
// slowest process of each level, one level after the other: that sum, measured from the
// processes' own stop times (each one's shutdownMs in the report), is the limit. What
// graceful adds is the rest: noticing that a level is gone, asking the next one, and its
// own exit. bench/run.mjs calls stackStop(); it writes nothing by itself.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const NODE = process.execPath;
const CLI = join(ROOT, 'bin/graceful.js');
const DRAINS = join(ROOT, 'fixtures/drains-for.js');

// The stack: name -> [drain ms, what it depends on]. Level 0: a*, level 1: b*, level 2: c*.
// The slowest of each level (c0 120, b0 100, a0 90 ms) form one chain: an ordered stop cannot
// be shorter than that chain, and the chain is the sum of the slowest per level, the limit.
const STACK = {
  a0: [90, []],
  a1: [60, []],
  b0: [100, ['a0']],
  b1: [70, ['a0', 'a1']],
  b2: [40, ['a1']],
  b3: [30, ['a1']],
  c0: [120, ['b0']],
  c1: [80, ['b1', 'b2']],
  c2: [50, ['b3']],
  c3: [20, ['b0', 'b3']],
};
const LEVELS = [['c0', 'c1', 'c2', 'c3'], ['b0', 'b1', 'b2', 'b3'], ['a0', 'a1']];

function stackFile(dir) {
  const lines = ['processes:'];
  for (const [name, [ms, deps]] of Object.entries(STACK)) {
    lines.push(`  ${name}:`, `    command: [${JSON.stringify(NODE)}, ${JSON.stringify(DRAINS)}, "${ms}"]`, '    ready: log:^ready', `    depends_on: [${deps.join(', ')}]`);
  }
  const file = join(dir, 'stack.yml');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

// One stop: start the stack, wait for its 10 processes, SIGTERM, wait for graceful's exit.
function trial(file, report, env) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(NODE, [CLI, 'up', '-q', '--platform-timeout', '0', '-f', file, '--report-file', report], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    let t0 = null;
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error('bench up: the stack did not come up within 30 s'))), 30_000);
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk;
      if (t0 === null && (out.match(/\| ready \d+/g) ?? []).length === Object.keys(STACK).length) {
        t0 = process.hrtime.bigint();
        child.kill('SIGTERM');
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      const wall = t0 === null ? NaN : Number(process.hrtime.bigint() - t0) / 1e6;
      resolvePromise({ code, wall });
    });
  });
}

// Measures and adds the figure's row through `row` (bench/run.mjs's).
export async function stackStop({ quick, row, fmt, median, env }) {
  const trials = quick ? 1 : 10;
  const dir = mkdtempSync(join(os.tmpdir(), 'graceful-bench-up-'));
  const file = stackFile(dir);
  const over = [];
  const stops = [];
  const limits = [];
  const walls = [];
  try {
    for (let i = 0; i < trials; i++) {
      const report = join(dir, `r${i}.json`);
      const { code, wall } = await trial(file, report, env);
      if (code !== 0) throw new Error(`bench up: graceful up exited ${code}`);
      const r = JSON.parse(readFileSync(report, 'utf8'));
      const shutdown = (name) => r.processes[name].report.exit.shutdownMs;
      const limit = LEVELS.reduce((sum, level) => sum + Math.max(...level.map(shutdown)), 0);
      // The stop on graceful's clock: from the stop request to the last process gone. The
      // wall (the bench's SIGTERM to graceful's exit) adds graceful's own exit: the report
      // written, then Node's exit, as for graceful run (the exit latency row).
      stops.push(r.stop.durationMs);
      walls.push(wall);
      limits.push(limit);
      over.push(r.stop.durationMs - limit);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const worst = Math.max(...over);
  row(
    `ordered stop: 10 processes in 3 levels (${trials} trials; stop request to the last process gone)`,
    {
      stop: fmt(median(stops)),
      'limit (slowest per level, summed)': fmt(median(limits)),
      'over the limit': `median ${fmt(median(over))}, worst ${fmt(worst)}`,
      'SIGTERM to graceful\'s exit': fmt(median(walls)),
    },
    '<= 5 ms over the limit (median)',
    median(over) <= 5,
  );
}
