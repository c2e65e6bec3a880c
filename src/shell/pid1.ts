// PID 1 and child-subreaper duties. As PID 1 of a container, or as a child subreaper
// (PR_SET_CHILD_SUBREAPER), graceful adopts every orphan of the child's tree: it reaps each
// one that exits (else they stay zombies forever), and it can still find and signal a
// double-forked daemon at shutdown. prctl() and waitpid() on a pid Node did not spawn go
// through the FFI in ffi.ts; without it, graceful says so once and does without.
import { existsSync } from 'node:fs';
import { libc, WAIT } from './ffi.js';
import { scanProcs } from './tree.js';

const PR_SET_CHILD_SUBREAPER = 36;

export interface Reaper {
  /** Orphans of the child's tree are reparented to graceful (PID 1, or a child subreaper). */
  readonly adopts: boolean;
  /** How many orphans graceful has reaped. */
  readonly reaped: number;
  /** Reaps every exited orphan now. */
  reap(): void;
}

export interface ReaperOptions {
  /** --subreaper (default on Linux): become a child subreaper. */
  subreaper: boolean;
  /** Pids Node spawned and waits for itself: never reaped here, or Node loses their status. */
  ownChild(pid: number): boolean;
}

// Takes up the duties that apply: PID 1 reaps whatever the namespace's orphans are; a
// subreaper adopts the orphans of its own tree. Returns null with the reason when graceful
// has to do without (the caller says it once).
let started: { result: { reaper: Reaper | null; problem: string | null }; options: ReaperOptions } | null = null;

export function startReaper(options: ReaperOptions): { reaper: Reaper | null; problem: string | null } {
  // Once per process (graceful check --repeat supervises several children in turn): the
  // later calls only change whose children are Node's own.
  if (started) {
    started.options.ownChild = options.ownChild;
    return started.result;
  }
  const own = { ...options };
  started = { result: takeUpReaping(own), options: own };
  return started.result;
}

function takeUpReaping(options: ReaperOptions): { reaper: Reaper | null; problem: string | null } {
  const pid1 = process.pid === 1;
  if (!pid1 && !options.subreaper) return { reaper: null, problem: null };
  const lib = libc();
  if (typeof lib === 'string') return { reaper: null, problem: lib };
  if (!pid1 && lib.prctl(PR_SET_CHILD_SUBREAPER, 1) !== 0 && !lib.isSubreaper()) {
    return { reaper: null, problem: 'prctl(PR_SET_CHILD_SUBREAPER) was refused' };
  }

  let reaped = 0;
  let scheduled = false;
  const reapNow = () => {
    scheduled = false;
    // Fast path: waitid(WNOWAIT) names a zombie child without reaping it; reap it unless
    // Node spawned it. One syscall pair per orphan, however many processes there are.
    for (;;) {
      const pid = lib.peekZombie();
      if (pid <= 0) return;
      if (options.ownChild(pid)) break; // Node's to reap; it would stay at the head of the queue
      if (lib.waitpid(pid, WAIT.WNOHANG) === pid) reaped++;
    }
    // Slow path, while one of Node's own children is a zombie: find the others in /proc.
    for (const p of scanProcs()) {
      if (p.ppid === process.pid && p.state === 'Z' && !options.ownChild(p.pid) && lib.waitpid(p.pid, WAIT.WNOHANG) === p.pid) {
        reaped++;
      }
    }
  };
  const reaper: Reaper = {
    adopts: true,
    get reaped() {
      return reaped;
    },
    reap: reapNow,
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
