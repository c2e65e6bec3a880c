// End-to-end harness: runs the built CLI on fixtures, waits for markers (never sleeps to
// synchronise), and makes sure every process a test started is gone when it ends.
//
// Leak detection: every process a test starts carries E2E_LEAK_TOKEN=<token of the test>
// in its environment, and environments are inherited, so a /proc scan finds every
// descendant, even one that changed its session or was reparented. afterEach fails the
// test if any is still alive, and kills it by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect } from 'vitest';
import { ECHO_WINDOW_MS } from '../../src/core/machine.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(ROOT, 'bin/graceful.js');
/**
 * GRACEFUL_BIN=/path/to/dist/graceful-linux-x64 runs the suite against the standalone
 * executable (npm run build:binary) instead of the npm install's bin/graceful.js.
 */
export const BINARY = process.env.GRACEFUL_BIN ? resolve(process.env.GRACEFUL_BIN) : null;
/** The command that starts graceful, as argv: node bin/graceful.js, or the binary. */
export const GRACEFUL: readonly string[] = BINARY ? [BINARY] : [process.execPath, CLI];
/** graceful as an executable file, the way a user starts it (bin/graceful.js's own first lines run). */
export const EXECUTABLE = BINARY ?? CLI;
export const fixture = (name: string) => join(ROOT, 'fixtures', name);

const TOKEN_VAR = 'E2E_LEAK_TOKEN';
let token = '';
const runs: Run[] = [];
const tempDirs: string[] = [];

/** A stream's text as it arrives, with waits on patterns. */
export class Output {
  text = '';
  /** The stream ended: nothing more will come, so a wait for what has not come fails at once. */
  ended = false;
  #waiters: (() => void)[] = [];

  push(chunk: string): void {
    this.text += chunk;
    for (const wake of this.#waiters.splice(0)) wake();
  }

  end(): void {
    this.ended = true;
    for (const wake of this.#waiters.splice(0)) wake();
  }

  count(re: RegExp): number {
    return [...this.text.matchAll(new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`))].length;
  }

  // Resolves with the first match of `re` (from `from` on); rejects after `ms` saying what was awaited and seen.
  async waitFor(re: RegExp, what: string, ms = 10_000, from = 0): Promise<RegExpMatchArray> {
    const deadline = performance.now() + ms;
    for (;;) {
      const m = this.text.slice(from).match(re);
      if (m) return m;
      // The process closed the stream (it exited, or crashed at start): the state awaited
      // cannot come, and waiting out the ceiling would only hide why.
      if (this.ended) throw new Error(`the stream ended before ${what} (${re}); saw:\n${this.text.slice(-2000)}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out after ${ms}ms waiting for ${what} (${re}); saw:\n${this.text.slice(-2000)}`);
      await new Promise<void>((wake) => {
        const t = setTimeout(wake, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          wake();
        });
      });
    }
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** performance.now() when the test saw graceful exit. */
  at: number;
}

export interface Run {
  proc: ChildProcess;
  pid: number;
  stdout: Output;
  stderr: Output;
  exited: Promise<Exit>;
  /** Sends a signal to graceful itself. Returns performance.now() just before. */
  signal(sig: NodeJS.Signals): number;
  /** Waits for "ready <pid>" from the fixture; returns its pid. */
  ready(ms?: number): Promise<number>;
}

export interface StartOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Run this program instead of graceful (e.g. `script`, to give graceful a terminal). */
  via?: string[];
  /** Keep stdout in run.stdout (default); false leaves it to the test, for huge outputs. */
  collectStdout?: boolean;
  /** Descriptors of the test's to pass as fd 3 onwards (a listening socket, as systemd passes one). */
  fds?: number[];
}

// Starts `graceful <args>` (node bin/graceful.js, or GRACEFUL_BIN) with piped stdio.
export function start(args: string[], options: StartOptions = {}): Run {
  if (!token) throw new Error('start() outside a test: call useHarness() in the file');
  const env: Record<string, string | undefined> = {
    ...process.env,
    // Tests decide colour and platform themselves.
    NO_COLOR: '1',
    KUBERNETES_SERVICE_HOST: undefined,
    INVOCATION_ID: undefined,
    // The harness's own setting, not the program's.
    GRACEFUL_BIN: undefined,
    [TOKEN_VAR]: token,
    ...options.env,
  };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  const [file, ...rest] = options.via ?? [...GRACEFUL, ...args];
  const proc = spawn(file!, rest, { env, cwd: options.cwd ?? ROOT, stdio: ['pipe', 'pipe', 'pipe', ...(options.fds ?? [])] });
  const stdout = new Output();
  const stderr = new Output();
  if (options.collectStdout !== false) proc.stdout!.setEncoding('utf8').on('data', (c: string) => stdout.push(c)).on('end', () => stdout.end());
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => stderr.push(c)).on('end', () => stderr.end());
  const exited = new Promise<Exit>((resolve) => {
    proc.on('exit', (code, signal) => {
      const exit = { code, signal, at: performance.now() };
      // Read what graceful wrote before it exited. Its pipes can stay open after it (a
      // process it was told to leave alone inherited them), so do not wait for them forever.
      const done = () => resolve(exit);
      const t = setTimeout(done, 300);
      proc.on('close', () => {
        clearTimeout(t);
        done();
      });
    });
  });
  const run: Run = {
    proc,
    pid: proc.pid!,
    stdout,
    stderr,
    exited,
    signal(sig) {
      const at = performance.now();
      process.kill(proc.pid!, sig);
      return at;
    },
    async ready(ms = 10_000) {
      const m = await stdout.waitFor(/ready (\d+)/, 'the fixture to print "ready <pid>"', ms);
      return Number(m[1]);
    },
  };
  runs.push(run);
  return run;
}

// Waits for graceful to exit, with a ceiling; says what it saw on failure.
export async function exitOf(run: Run, ms = 15_000): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const ceiling = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`graceful (pid ${run.pid}) did not exit within ${ms}ms; stderr:\n${run.stderr.text}`)),
      ms,
    );
  });
  try {
    return await Promise.race([run.exited, ceiling]);
  } finally {
    clearTimeout(timer);
  }
}

// CLOCK_MONOTONIC in milliseconds: graceful's own clock (shell/clock.ts), the same in every
// process of the machine, so a time read here compares with one graceful read.
export const monotonicMs = () => Number(process.hrtime.bigint()) / 1e6;

// A second Ctrl+C is a new keypress only ECHO_WINDOW_MS after graceful received the first
// (core/machine.ts); this is part of the behaviour under test, not synchronisation. Waits
// for `marker`, a line graceful prints once it has handled the first signal (its step line,
// or the countdown on a terminal). graceful stamped the request with its monotonic clock
// before printing it, so it received the signal no later than the moment the line is seen
// here; the window is then waited out from that moment on the same clock, and never less (a
// Node timer may fire a millisecond early). No margin: however late the line comes, the next
// signal reaches graceful at least ECHO_WINDOW_MS after its first.
export async function pastEchoWindow(out: Output, marker: RegExp, what: string): Promise<void> {
  await out.waitFor(marker, what);
  const until = monotonicMs() + ECHO_WINDOW_MS;
  for (let left = ECHO_WINDOW_MS; left > 0; left = until - monotonicMs()) {
    await new Promise((r) => setTimeout(r, Math.ceil(left)));
  }
}

// A TCP port nothing listens on now. Chosen at random below Linux's ephemeral range
// (32768-60999), not by listen(0): the kernel hands a just-released ephemeral port out
// again, so two test files running side by side could be given the same one.
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const server = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!bound) continue;
    await new Promise((resolve) => server.close(resolve));
    return port;
  }
}

// The children of `pid`, from /proc: pid, state (Z: a zombie nobody reaped) and command line.
export function childrenOf(pid: number): { pid: number; state: string; cmd: string }[] {
  const out: { pid: number; state: string; cmd: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) !== pid) continue;
      out.push({ pid: Number(name), state: f[0]!, cmd: readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0').join(' ').trim() });
    } catch {
      // gone
    }
  }
  return out;
}

// The one child of `pid` (graceful under unshare, as the host sees it).
export function onlyChild(pid: number): number {
  const child = childrenOf(pid)[0];
  if (!child) throw new Error(`no child of ${pid} found`);
  return child.pid;
}

// How many zombie children `pid` has: orphans nobody reaped.
export function zombiesOf(pid: number): number {
  return childrenOf(pid).filter((c) => c.state === 'Z').length;
}

/** Is the process alive (a zombie counts as gone)? */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

// Polls until none of `pids` is alive, under a ceiling.
export async function waitGone(pids: number[], ms = 5000): Promise<void> {
  const deadline = performance.now() + ms;
  while (pids.some(alive)) {
    if (performance.now() > deadline) throw new Error(`still alive after ${ms}ms: ${pids.filter(alive).join(', ')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Live processes carrying this test's token, with their command lines. */
export function leftovers(): { pid: number; cmd: string }[] {
  const needle = `${TOKEN_VAR}=${token}`;
  const found: { pid: number; cmd: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(needle)) continue;
      if (!alive(pid)) continue;
      found.push({ pid, cmd: readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim() });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** Pids printed by spawns-tree.js: "tree <role> <pid>". */
export function treePids(out: Output): Record<string, number> {
  return Object.fromEntries([...out.text.matchAll(/tree (\S+) (\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
}

/** A fresh private directory, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'graceful-e2e-'));
  tempDirs.push(dir);
  return dir;
}

export function readJson(path: string): any {
  return JSON.parse(readFileSync(path, 'utf8'));
}

// Registers the per-test token and the leak check. Call once at the top of each e2e file.
export function useHarness(): void {
  beforeEach(() => {
    token = randomBytes(8).toString('hex');
  });
  afterEach(async () => {
    // Ends what the test started, by pid: graceful itself first, then anything left.
    for (const run of runs.splice(0)) {
      if (run.proc.exitCode === null && run.proc.signalCode === null) {
        try {
          process.kill(run.pid, 'SIGKILL');
        } catch {
          // already gone
        }
        await run.exited;
      }
    }
    // A test that asserted "nothing left" already waited; give stragglers of a failed
    // test a moment to be reparented and die before calling them leaks.
    let left = leftovers();
    const deadline = performance.now() + 1000;
    while (left.length > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      left = leftovers();
    }
    for (const p of left) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    expect(left, 'processes left behind by the test').toEqual([]);
  });
}
