// Spawns the main child: argv as given (no shell), stdio inherited (its bytes never pass
// through graceful), in a new session so that signals reach graceful alone, or in terminal
// mode (terminal.ts) in graceful's own process group, on graceful's terminal.
// node:child_process rather than execa: execa costs start-up time on every run
// (bench/analysis.md, "The pre-stop hook without execa").
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { fdStream } from '../ui/output.js';
import { tryKill } from './tree.js';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { EXIT } from '../../config/errors.js';
import type { SignalName } from '../../core/types.js';

export interface ChildEvents {
  spawned(pid: number): void;
  failed(status: 126 | 127, message: string): void;
  exited(code: number | null, signal: SignalName | null): void;
}

export interface Child {
  readonly pid: number | null;
  /** Node's handle, for piped output and IPC (--ready log:, --ready ipc). */
  readonly proc: ChildProcess | null;
  /** Resolves once the child's piped output has all been passed on, or after `ms`. */
  drained(ms: number): Promise<void>;
  /** True once Node has reaped it: its pid may belong to someone else from then on. */
  readonly exited: boolean;
  /** Signals the main process, never after it was reaped; false if it could not be. */
  signal(signal: SignalName): boolean;
}

/**
 * The child's stdio: inherited (its bytes never pass through graceful); its output piped
 * through graceful, for --ready log:; or an IPC channel besides, for --ready ipc.
 */
export type ChildStdio = 'inherit' | 'pipe-output' | 'ipc';

export interface SpawnOptions {
  stdio: ChildStdio;
  /** Variables added to graceful's environment for the child (NOTIFY_SOCKET). */
  env: Record<string, string>;
  /**
   * A program that sets the child's parent-death signal and then execs the command in the
   * same process (util-linux setpriv), with that signal; null to spawn the command itself.
   */
  pdeathsig: { helper: string; signal: SignalName } | null;
  /** Terminal mode: the child joins graceful's process group and keeps its terminal. */
  terminal: boolean;
  /**
   * Held listening sockets (--listen), passed as fd 3 onwards; `listenPid`: set LISTEN_PID
   * to the child's own pid, which is known only once it runs (see SET_LISTEN_PID).
   */
  sockets?: { fds: readonly number[]; listenPid: boolean } | null;
  /**
   * graceful up: the child's stdout and stderr pass through these (its name in front of each
   * line) instead of going straight to graceful's; its stdin is /dev/null (several programs
   * cannot share one). Absent: as `stdio` says.
   */
  relay?: { stdout: Writable; stderr: Writable };
  /** Its working directory; graceful's own when absent. */
  cwd?: string;
  /**
   * graceful check's audit (shell/audit/): a program spawned in the command's place that
   * runs it in its own process (it execs: the same pid). It comes first, before setpriv and
   * LISTEN_PID's sh, whose execs keep the pid and what the shim set; its channel is the
   * first descriptor after the held sockets.
   */
  shim?: Shim | null;
}

/** What spawnChild needs of graceful check's audit session (shell/audit/audit.ts). */
export interface Shim {
  wrap(command: readonly string[], channel: number, env: NodeJS.ProcessEnv): { command: string[]; env: NodeJS.ProcessEnv };
  attach(proc: ChildProcess, channel: number): unknown;
}

// LISTEN_PID must name the process that reads it (sd_listen_fds() and go-systemd ignore the
// sockets otherwise), and its pid is only known once it is forked: sh sets the variable to
// its own pid, then execs the command, which keeps that pid. setpriv (--pdeathsig) execs
// too, so the pid is still the one graceful spawned and supervises. Its cost, only with
// sockets to pass: bench/analysis.md, "Spawning the child".
const SET_LISTEN_PID = 'LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"';

// Starts `command`; exactly one of `spawned`+`exited` or `failed` follows.
export function spawnChild(command: readonly string[], on: ChildEvents, options: SpawnOptions): Child {
  // detached: setsid() in the child. It leads a new session and process group (pgid = sid =
  // pid), outside the terminal's foreground group: Ctrl+C reaches graceful once, and
  // graceful decides what the child gets. The child still reads and writes a terminal
  // through the inherited descriptors, but has no controlling terminal. In terminal mode,
  // not detached: the child stays in graceful's group and session, and the terminal is its
  // controlling terminal, as it would be without graceful.
  let proc: ReturnType<typeof spawn>;
  try {
    let [file, args] = [command[0]!, command.slice(1)];
    const raw = rawCommand(command);
    if (raw) [file, args] = ['perl', ['-e', EXEC_HEX, ...raw.map((b) => b.toString('hex'))]];
    if (options.sockets?.listenPid) {
      // sh would report a missing command in its own words: looked up first, as below.
      const problem = raw ? null : findProblem(file);
      if (problem) {
        queueMicrotask(() => on.failed(...problem));
        return notStarted;
      }
      [file, args] = ['/bin/sh', ['-c', SET_LISTEN_PID, file, ...args]];
    }
    if (options.pdeathsig) {
      // The helper would report a missing command in its own words and exit 127: look it
      // up first, the way it will (execvp), to say it in graceful's.
      const problem = raw ? null : findProblem(file, options.cwd);
      if (problem) {
        queueMicrotask(() => on.failed(...problem));
        return notStarted;
      }
      args = ['--pdeathsig', options.pdeathsig.signal, '--', file, ...args];
      file = options.pdeathsig.helper;
    }
    // The held sockets at 3 onwards (LISTEN_FDS counts from 3); the audit's channel, then the
    // IPC channel, after them. graceful up relays the output (its name in front of each line)
    // and gives no stdin.
    const fds = options.sockets?.fds ?? [];
    const channel = 3 + fds.length;
    const head: StdioOptions = options.relay ? ['ignore', 'pipe', 'pipe'] : options.stdio === 'pipe-output' ? ['inherit', 'pipe', 'pipe'] : ['inherit', 'inherit', 'inherit'];
    const tail = [...fds, ...(options.shim ? ['pipe' as const] : []), ...(options.stdio === 'ipc' ? ['ipc' as const] : [])];
    const stdio: StdioOptions = tail.length === 0 && head[1] === 'inherit' ? 'inherit' : [...head, ...tail];
    let env: NodeJS.ProcessEnv = Object.keys(options.env).length > 0 ? { ...process.env, ...options.env } : process.env;
    if (options.shim) {
      // The shim would report a missing command on its channel: looked up first, as above.
      const problem = raw || options.pdeathsig || options.sockets?.listenPid ? null : findProblem(file, options.cwd);
      if (problem) {
        queueMicrotask(() => on.failed(...problem));
        return notStarted;
      }
      const wrapped = options.shim.wrap([file, ...args], channel, env);
      [file, ...args] = wrapped.command as [string, ...string[]];
      env = wrapped.env;
    }
    proc = spawn(file, args, { stdio, env, detached: !options.terminal, cwd: options.cwd });
    if (options.shim && proc.pid !== undefined) options.shim.attach(proc, channel);
  } catch (error) {
    // Synchronous refusals (E2BIG, EINVAL): reported like any other failure to start.
    const e = error as NodeJS.ErrnoException;
    queueMicrotask(() => on.failed(EXIT.notExecutable, `${command[0]}: cannot be executed: ${e.code ?? e.message}`));
    return notStarted;
  }
  const { relay } = options;
  const piped = relay
    ? [passOn(proc.stdout, relay.stdout, true), passOn(proc.stderr, relay.stderr, true)]
    : [passOn(proc.stdout, fdStream(1), false), passOn(proc.stderr, fdStream(2), false)];
  let exited = false;
  const child: Child = {
    proc,
    get pid() {
      return proc.pid ?? null;
    },
    async drained(ms) {
      if (proc.stdout === null && proc.stderr === null) return; // inherited: nothing passes through graceful
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
      await Promise.race([Promise.all(piped), bound]);
      clearTimeout(timer);
    },
    get exited() {
      return exited;
    },
    signal(signal) {
      if (exited || proc.pid === undefined) return false;
      return tryKill(proc.pid, signal);
    },
  };
  proc.on('error', (error: NodeJS.ErrnoException) => {
    // After a successful spawn, 'error' only reports a failed kill, which signal() avoids.
    if (proc.pid !== undefined) return;
    const [status, message] = describeSpawnError(command[0]!, error);
    on.failed(status, message);
  });
  proc.on('exit', (code, signal) => {
    if (proc.pid === undefined) return; // a failed spawn, reported through 'error'
    exited = true;
    on.exited(code, signal as SignalName | null);
  });
  if (proc.pid !== undefined) on.spawned(proc.pid);
  return child;
}

// Node decodes argv as UTF-8 (an invalid byte becomes U+FFFD) and encodes a child's argv
// as UTF-8: an argument that is not valid UTF-8 would reach the child changed. When one
// is, the raw bytes are read back from /proc/self/cmdline and handed, hex-encoded, to this
// perl program, which decodes them and execs the command in its own process (the same
// pid), no shell involved.
const EXEC_HEX = 'my @a = map { pack "H*", $_ } @ARGV; exec { $a[0] } @a; exit 127';

// The command's raw bytes when some argument is not valid UTF-8, else null.
export function rawCommand(command: readonly string[]): Buffer[] | null {
  if (!command.some((a) => a.includes('\uFFFD'))) return null;
  let all: Buffer;
  try {
    all = readFileSync('/proc/self/cmdline');
  } catch {
    return null; // not Linux: passed as Node decoded it
  }
  const parts: Buffer[] = [];
  for (let start = 0, end = all.indexOf(0); end !== -1; start = end + 1, end = all.indexOf(0, start)) parts.push(all.subarray(start, end));
  const tail = parts.slice(parts.length - command.length);
  // The command is the end of graceful's own argv; make sure these are its bytes.
  if (tail.length !== command.length || !tail.every((b, i) => b.toString('utf8') === command[i])) return null;
  // Without perl (Debian's perl-base is essential; slim images may lack it), as decoded.
  return findProblem('perl') ? null : tail;
}

const notStarted: Child = { pid: null, proc: null, exited: true, signal: () => false, drained: async () => {} };

// Passes the child's piped output on to graceful's own stream, byte for byte, with
// backpressure (a slow reader slows the child, never graceful's memory). Resolves when the
// child's side has ended. If graceful's side breaks (EPIPE), the rest is drained unread, so
// that the child never blocks on a full pipe. A relay of this child's own (`end`: graceful
// up's name prefixes) is ended with it, and done once it has passed its last line on.
function passOn(from: Readable | null, to: Writable, end: boolean): Promise<void> {
  if (!from) return Promise.resolve();
  // { end: false } always, and the end passed on by hand: pipe() with end compares its
  // destination with process.stdout, and that getter makes Node open fd 1 as a stream,
  // which sets O_NONBLOCK on graceful's stdout (and on everything that shares it).
  from.pipe(to, { end: false });
  if (end) from.once('end', () => to.end());
  to.on('error', () => {
    from.unpipe(to);
    from.resume();
  });
  return new Promise((resolve) => {
    if (end) to.once('finish', resolve);
    else from.once('end', resolve);
    from.once('error', () => resolve());
    to.once('error', () => resolve());
  });
}

// Why execvp(file) would fail, as a spawn failure, or null if it would find a program. A
// relative path is the child's: from `cwd` when it has its own.
function findProblem(file: string, cwd?: string): [126 | 127, string] | null {
  const candidates = file.includes('/')
    ? [cwd && !file.startsWith('/') ? `${cwd}/${file}` : file]
    : (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':').map((dir) => `${dir || '.'}/${file}`);
  let denied: NodeJS.ErrnoException | null = null;
  for (const path of candidates) {
    try {
      // throwIfNoEntry: a missing PATH entry is the common case, and an exception per entry
      // (with its stack) costs start-up time (bench/analysis.md, "Spawning the child").
      const stat = statSync(path, { throwIfNoEntry: false });
      if (stat === undefined) continue;
      if (!stat.isFile()) {
        if (file.includes('/')) denied = Object.assign(new Error('EACCES'), { code: 'EACCES' });
        continue;
      }
      accessSync(path, constants.X_OK);
      return null;
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      if (e.code === 'EACCES') denied = e;
    }
  }
  return describeSpawnError(file, denied ?? Object.assign(new Error('ENOENT'), { code: 'ENOENT' }));
}

// A spawn failure as the shell would put it: 127 for not found, 126 for not executable.
function describeSpawnError(file: string, error: NodeJS.ErrnoException): [126 | 127, string] {
  const isDir = (() => {
    try {
      return statSync(file).isDirectory();
    } catch {
      return false;
    }
  })();
  const exists = (() => {
    try {
      statSync(file);
      return true;
    } catch {
      return false;
    }
  })();
  switch (error.code) {
    case 'ENOENT':
      if (file.includes('/') && exists) {
        return [EXIT.notFound, `${file}: its interpreter was not found; check the #! line`];
      }
      return file.includes('/')
        ? [EXIT.notFound, `${file}: no such file; check the path`]
        : [EXIT.notFound, `${file}: command not found in PATH; check the name or give its path`];
    case 'EACCES':
      return isDir
        ? [EXIT.notExecutable, `${file}: is a directory, not a program`]
        : [EXIT.notExecutable, `${file}: permission denied; make it executable (chmod +x ${file}) or run it through its interpreter`];
    default:
      return [EXIT.notExecutable, `${file}: cannot be executed: ${error.code ?? error.message}`];
  }
}
