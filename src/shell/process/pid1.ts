// PID 1 and child-subreaper duties. As PID 1 of a container, or as a child subreaper
// (PR_SET_CHILD_SUBREAPER), graceful adopts every orphan of the child's tree: it reaps each
// one that exits (else they stay zombies forever), and it can still find and signal a
// double-forked daemon at shutdown. prctl() and waitpid() on a pid Node did not spawn go
// through the FFI in ffi.ts; without it, graceful says so once and does without.
import { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { libc, WAIT } from './ffi.js';
import { signalName } from '../../config/signals.js';
import { readProc, scanProcs } from './tree.js';
import type { SignalName } from '../../core/types.js';

const PR_SET_CHILD_SUBREAPER = 36;

export interface Reaper {
  /** How many orphans graceful has reaped. */
  readonly reaped: number;
  /** Reaps every exited orphan now. */
  reap(): void;
  /** Does graceful have no child process at all (waitid says ECHILD)? */
  childless(): boolean;
  /**
   * Calls `listener` with each orphan graceful reaps and how it ended, until the returned
   * function is called. Every supervised program listens for its own (several at once
   * under a reload or a stack).
   */
  watch(listener: (pid: number, code: number | null, signal: SignalName | null) => void): () => void;
}

export interface ReaperOptions {
  /** --subreaper (default on Linux): become a child subreaper. */
  subreaper: boolean;
}

// Every process Node itself spawned (the child, a pre-stop hook, the helpers that
// libraries run: pidusage's getconf, tree-kill's ps) until Node has reaped it. The reaper
// must never reap one of them: Node would wait for its exit status for ever (seen: a
// pidusage sample hung when graceful reaped its getconf first). Registered by wrapping
// ChildProcess.prototype.spawn, which spawn, exec, execFile and fork all go through.
const nodeChildren = new Set<number>();
let tracking = false;

export function trackNodeChildren(): void {
  if (tracking) return;
  tracking = true;
  // Not in Node's typings, but the method every spawn goes through (lib/internal/child_process.js).
  const proto = ChildProcess.prototype as unknown as { spawn(this: ChildProcess, ...args: unknown[]): unknown };
  const original = proto.spawn;
  proto.spawn = function spawn(this: ChildProcess, ...args: unknown[]) {
    const result = original.apply(this, args);
    const pid = this.pid;
    if (pid !== undefined) {
      nodeChildren.add(pid);
      // 'exit' comes after Node reaped it: from then on the pid may be an orphan's.
      this.once('exit', () => nodeChildren.delete(pid));
    }
    return result;
  };
}

// Did Node spawn this process (and not yet reap it)?
export function isNodeChild(pid: number): boolean {
  return nodeChildren.has(pid);
}

/** How many of Node's own children are tracked: none once they have all exited. */
export function nodeChildCount(): number {
  return nodeChildren.size;
}

// Takes up the duties that apply: PID 1 reaps whatever the namespace's orphans are; a
// subreaper adopts the orphans of its own tree. Returns null with the reason when graceful
// has to do without (the caller says it once). Once per process: graceful check --repeat
// and restarts supervise several children in turn.
let started: { reaper: Reaper | null; problem: string | null } | null = null;

export function startReaper(options: ReaperOptions): { reaper: Reaper | null; problem: string | null } {
  // Before anything is spawned: graceful's children now are what it was handed.
  recordInherited();
  started ??= takeUpReaping(options);
  return started;
}

// How many orphans the process has reaped so far (0 without a reaper): the metrics' count.
export function reapedSoFar(): number {
  return started?.reaper?.reaped ?? 0;
}

// The processes that were graceful's children before it started anything: what an exec
// handed it (the logger of an entrypoint's `exec > >(tee log)`, a `sleep &` the shell left
// behind). They are not the program's (issue 24): never signalled, waited for, reported or
// killed as its tree; as PID 1, graceful still reaps them when they exit. By pid and start
// time (a pid may be reused once one is gone).
const inherited = new Map<number, number>();
let inheritedRead = false;

// Reads them, once per process, before graceful spawns anything.
export function recordInherited(): void {
  if (inheritedRead) return;
  inheritedRead = true;
  const pids = ownChildren() ?? scanProcs().filter((p) => p.ppid === process.pid).map((p) => p.pid);
  for (const pid of pids) {
    const info = readProc(pid);
    if (info && info.state !== 'Z') inherited.set(pid, info.start);
  }
}

// Is `pid` one of the processes graceful inherited (and still that process)?
export function isInherited(pid: number): boolean {
  const start = inherited.get(pid);
  return start !== undefined && readProc(pid)?.start === start;
}

// How long graceful, as PID 1, waits at its exit for the inherited processes to finish
// reading what it and the program wrote them (a logger's last lines); its exit then ends
// every process of the namespace. Within PLATFORM_RESERVE_MS (config/defaults.ts).
const INHERITED_LINGER_MS = 300;
// How often it looks meanwhile (the reaper reaps them as they exit).
const INHERITED_POLL_MS = 5;

// As PID 1, graceful's exit ends every process of the namespace at once, an inherited
// logger too, before it has read what is still in its pipe (graceful's summary, the
// program's last lines). So graceful lets go of its own ends of their pipes (stdout and
// stderr onto /dev/null) and waits, briefly, for them to read to the end and exit.
export async function letInheritedFinish(): Promise<void> {
  if (process.pid !== 1 || inheritedAlive().length === 0) return;
  const lib = libc();
  if (typeof lib !== 'string') lib.detachOutput();
  const until = Date.now() + INHERITED_LINGER_MS;
  while (inheritedAlive().length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, INHERITED_POLL_MS));
}

// The inherited processes still alive (not zombies).
export function inheritedAlive(): number[] {
  const alive: number[] = [];
  for (const [pid, start] of inherited) {
    const info = readProc(pid);
    if (info && info.start === start && info.state !== 'Z') alive.push(pid);
    else inherited.delete(pid);
  }
  return alive;
}

function takeUpReaping(options: ReaperOptions): { reaper: Reaper | null; problem: string | null } {
  const pid1 = process.pid === 1;
  if (!pid1 && !options.subreaper) return { reaper: null, problem: null };
  const lib = libc();
  if (typeof lib === 'string') return { reaper: null, problem: lib };
  trackNodeChildren();
  if (!pid1 && lib.prctl(PR_SET_CHILD_SUBREAPER, 1) !== 0 && !lib.isSubreaper()) {
    return { reaper: null, problem: 'prctl(PR_SET_CHILD_SUBREAPER) was refused' };
  }

  let reaped = 0;
  let scheduled = false;
  const listeners = new Set<(pid: number, code: number | null, signal: SignalName | null) => void>();
  // Reaps `pid` if it is a zombie now; tells the listener how it ended.
  const reapOne = (pid: number): boolean => {
    if (lib.waitpid(pid, WAIT.WNOHANG) !== pid) return false;
    reaped++;
    if (listeners.size > 0) {
      const s = lib.lastStatus();
      // The wait status: WIFEXITED when the low 7 bits are 0 (the code in bits 8-15), else
      // the number of the signal that ended it.
      const [code, signal] = (s & 0x7f) === 0 ? [(s >> 8) & 0xff, null] : [null, signalName(s & 0x7f)];
      for (const listener of listeners) listener(pid, code, signal);
    }
    return true;
  };
  const reapNow = () => {
    scheduled = false;
    // Fast path: waitid(WNOWAIT) names a zombie child without reaping it; reap it unless
    // Node spawned it. One syscall pair per orphan, however many processes there are.
    for (;;) {
      const pid = lib.peekZombie();
      if (pid <= 0) return;
      if (isNodeChild(pid)) break; // Node's to reap; it would stay at the head of the queue
      reapOne(pid);
    }
    // Slow path, while one of Node's own children is a zombie: find the others among
    // graceful's children (a few reads; a scan of every process where that list is missing).
    const children = ownChildren();
    if (children) {
      for (const pid of children) if (!isNodeChild(pid) && readProc(pid)?.state === 'Z') reapOne(pid);
      return;
    }
    for (const p of scanProcs()) {
      if (p.ppid === process.pid && p.state === 'Z' && !isNodeChild(p.pid)) reapOne(p.pid);
    }
  };
  const reaper: Reaper = {
    get reaped() {
      return reaped;
    },
    reap: reapNow,
    childless: () => lib.peekZombie() === -1,
    watch: (fn) => {
      listeners.add(fn);
      return () => void listeners.delete(fn);
    },
  };
  // One pass per burst: SIGCHLDs arriving together (a thousand orphans exiting at once) are
  // answered by one reap, and a zombie that appears during a pass raises SIGCHLD again.
  process.on('SIGCHLD', () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(reapNow);
  });
  reapNow();
  return { reaper, problem: null };
}

// The helper that gives the child a parent-death signal (util-linux's setpriv), if any:
// Linux can signal a process when its parent dies, but the child has to ask for it itself,
// between fork and exec, which Node cannot do.
export function pdeathsigHelper(): string | null {
  if (process.platform !== 'linux') return null;
  for (const path of ['/usr/bin/setpriv', '/bin/setpriv']) if (existsSync(path)) return path;
  return null;
}

// graceful's own child processes (those it spawned, and the orphans it adopted as PID 1 or
// a subreaper), from /proc/self/task/*/children: a few small reads, where a /proc scan reads
// every process of the machine. null where that file is not there (an old kernel, no /proc).
export function ownChildren(): number[] | null {
  try {
    const out: number[] = [];
    for (const task of readdirSync('/proc/self/task')) {
      for (const pid of readFileSync(`/proc/self/task/${task}/children`, 'latin1').split(' ')) if (pid !== '') out.push(Number(pid));
    }
    return out;
  } catch {
    return null;
  }
}

// Whether the process's environment holds `entry` (NAME=value): how graceful up tells whose
// orphan an adopted process is (each program's processes inherit its GRACEFUL_UP_PROCESS).
// False when it cannot be read (gone, or another user's).
export function environHas(pid: number, entry: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(entry);
  } catch {
    return false;
  }
}
