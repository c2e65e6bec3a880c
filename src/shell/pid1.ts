// PID 1 and child-subreaper duties. As PID 1 of a container, or as a child subreaper
// (PR_SET_CHILD_SUBREAPER), graceful adopts every orphan of the child's tree: it reaps each
// one that exits (else they stay zombies forever), and it can still find and signal a
// double-forked daemon at shutdown.
//
// Node exposes neither prctl() nor waitpid() on a pid it did not spawn. They are called
// through koffi, an FFI that ships prebuilt binaries in npm packages (no compiler at
// install time). It is loaded only when these duties apply, straight from its native file
// when it can be found (measured: 2.5 ms, against 5.5 ms through koffi's platform
// detection), and everything here degrades to a one-line notice where it is missing.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { scanProcs } from './tree.js';

const PR_SET_CHILD_SUBREAPER = 36;
const PR_GET_CHILD_SUBREAPER = 37;
const P_ALL = 0;
const WNOHANG = 1;
const WEXITED = 4;
const WNOWAIT = 0x0100_0000;
// siginfo_t is 128 bytes on Linux; si_pid follows si_signo, si_errno, si_code and, on
// 64-bit platforms, 4 bytes of padding.
const SIGINFO_SIZE = 128;
const SI_PID_OFFSET = process.arch.endsWith('64') ? 16 : 12;

interface Libc {
  prctl(option: number, a2: number, a3: number, a4: number, a5: number): number;
  getSubreaper(): boolean;
  waitpid(pid: number, options: number): number;
  /** Peeks at a zombie child without reaping it: its pid, 0 for none, -1 for no children. */
  peekZombie(): number;
}

let libc: Libc | string | null = null;

// The libc calls, or why they are not available here (said once, by the caller).
function loadLibc(): Libc | string {
  if (libc !== null) return libc;
  if (process.platform !== 'linux') return (libc = `not available on ${process.platform}`);
  try {
    const koffi = loadKoffi();
    const self = koffi.load(null);
    const prctl = self.func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)');
    const prctlOut = self.func('int prctl(int option, _Out_ int *value, unsigned long a3, unsigned long a4, unsigned long a5)');
    const waitpid = self.func('int waitpid(int pid, _Out_ int *status, int options)');
    const waitid = self.func('int waitid(int idtype, int id, _Out_ uint8_t *info, int options)');
    const info = Buffer.alloc(SIGINFO_SIZE);
    const status = [0];
    libc = {
      prctl: (o, a, b, c, d) => prctl(o, a, b, c, d),
      getSubreaper: () => {
        const v = [0];
        return prctlOut(PR_GET_CHILD_SUBREAPER, v, 0, 0, 0) === 0 && v[0] !== 0;
      },
      waitpid: (pid, options) => waitpid(pid, status, options),
      peekZombie: () => {
        info.fill(0);
        if (waitid(P_ALL, 0, info, WEXITED | WNOHANG | WNOWAIT) !== 0) return -1;
        return info.readInt32LE(SI_PID_OFFSET);
      },
    };
    return libc;
  } catch (error) {
    return (libc = `koffi could not be loaded (${(error as Error).message.split('\n')[0]})`);
  }
}

// koffi's native module, from its platform package when it is where koffi 3 puts it
// (skipping koffi's start-up probe of the ELF header of node itself), else through koffi.
function loadKoffi(): any {
  const require = createRequire(import.meta.url);
  const dir = `${process.platform}_${process.arch}`;
  try {
    const file = require.resolve(`@koromix/koffi-${process.platform}-${process.arch}/${dir}/koffi.node`);
    if (existsSync(file)) return require(file);
  } catch {
    // not there, or not loadable (musl): let koffi find the right one
  }
  return require('koffi');
}

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
export function startReaper(options: ReaperOptions): { reaper: Reaper | null; problem: string | null } {
  const pid1 = process.pid === 1;
  if (!pid1 && !options.subreaper) return { reaper: null, problem: null };
  const lib = loadLibc();
  if (typeof lib === 'string') return { reaper: null, problem: lib };
  if (!pid1 && lib.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) !== 0 && !lib.getSubreaper()) {
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
      if (lib.waitpid(pid, WNOHANG) === pid) reaped++;
    }
    // Slow path, while one of Node's own children is a zombie: find the others in /proc.
    for (const p of scanProcs()) {
      if (p.ppid === process.pid && p.state === 'Z' && !options.ownChild(p.pid) && lib.waitpid(p.pid, WNOHANG) === p.pid) {
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
