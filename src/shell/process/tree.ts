// The child's process tree: find it, signal it, tell when it is gone. On Linux a /proc scan
// finds every member, including those that left the process group; elsewhere the process
// group, plus tree-kill for the descendants outside it.
//
// Why not tree-kill on Linux: it runs `ps` once per process of the tree, seconds for a tree
// that kill(-pgid) and a /proc scan end in milliseconds (bench/analysis.md, "The process tree").
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { signalNumber } from '../../config/signals.js';
import { loadedLibc } from './ffi.js';
import type { SignalName } from '../../core/types.js';

/** One line of /proc/PID/stat, the fields graceful uses. */
export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  /** R, S, D, Z, T, ... */
  state: string;
  /** Start time in clock ticks after boot: with pid, identifies a process across pid reuse. */
  start: number;
}

// One buffer for every read of /proc/PID/stat (a line of a few hundred bytes): a scan
// reads one per process on the machine, and readFileSync's allocations doubled its cost.
const STAT = Buffer.alloc(4096);

const HAS_PROC = process.platform === 'linux' && readProc(process.pid) !== null;

// How old a scan a forwarded signal may reuse. A terminal being resized sends SIGWINCH
// dozens of times a second, and a scan for each costs CPU and garbage (bench/analysis.md,
// "The process tree").
const FORWARD_SCAN_MAX_AGE_MS = 1000;

// How long after a group signal the scan for the rest of the tree waits (see signalAll).
export const FOLLOW_UP_MS = 1;

const monotonicMs = () => Number(process.hrtime.bigint() / 1_000_000n);

// Reads /proc/PID/stat; null if the process is gone (or /proc is not there).
export function readProc(pid: number): ProcInfo | null {
  let text: string;
  try {
    const fd = openSync(`/proc/${pid}/stat`, 'r');
    try {
      text = STAT.toString('latin1', 0, readSync(fd, STAT, 0, STAT.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
  // comm, the second field, is in parentheses and may itself hold spaces and parentheses.
  const close = text.lastIndexOf(')');
  const f = text.slice(close + 2).split(' ');
  return { pid, state: f[0]!, ppid: Number(f[1]), pgid: Number(f[2]), sid: Number(f[3]), start: Number(f[19]) };
}

// Every process on the machine (in graceful's PID namespace).
export function scanProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const info = readProc(Number(name));
    if (info) out.push(info);
  }
  return out;
}

// How many times a kill of a tree that shares graceful's process group is repeated, at
// most: one scan and kill per round, until a scan finds no member it has not killed yet.
// A process that forks between the scan and its SIGKILL leaves a child the next round
// finds; a kill(-pgid) has no such gap, but would hit graceful itself.
const MAX_KILL_ROUNDS = 32;

// The tree of the child spawned as `root`. In a new session (the usual case) root is its own
// session id and process group id, so members are found by session, by group, and by
// parentage (a member may move to a new group or even a new session); members seen once are
// remembered by (pid, start time) so they are still found after their parent dies and they
// are reparented. In terminal mode the child shares graceful's process group instead: then
// parentage and adoption find the members, and they are signalled one by one.
export class Tree {
  readonly #known = new Map<number, number>();
  readonly #commands = new Map<number, string>();
  #mainGone = false;
  #last: ProcInfo[] = [];
  #scannedAt = -Infinity;
  #followUp: { sent: { signal: SignalName | null; done: ((members: readonly ProcInfo[]) => void) | undefined }[]; timer: NodeJS.Timeout } | null = null;
  /** The process group that holds the tree and nothing else, signalled as one; null in terminal mode. */
  readonly #group: number | null;

  /**
   * @param root the main child's pid (its session and process group id too)
   * @param adopted when graceful is PID 1 or a child subreaper, whether a process whose
   *   parent is graceful belongs to the tree: every orphan of the tree is reparented to
   *   graceful; only the processes Node spawned itself (the child, a pre-stop hook) are not.
   */
  constructor(
    readonly root: number,
    private readonly adopted: ((pid: number) => boolean) | null = null,
    /** Whether /proc can be scanned (Linux); tests turn it off to exercise the fallback. */
    private readonly proc = HAS_PROC,
    /**
     * Terminal mode: graceful's own process group, which the child shares. It is never
     * signalled as a whole (that would signal graceful and whatever runs it, npm say).
     */
    private readonly sharedGroup: number | null = null,
  ) {
    this.#group = sharedGroup === null ? root : null;
  }

  /** The command line of a member, as first seen. */
  command(pid: number): string {
    return this.#commands.get(pid) ?? commandOf(pid);
  }

  /** The members found by the latest scan. */
  get lastMembers(): readonly ProcInfo[] {
    return this.#last;
  }

  /** The main process was reaped: from now on its pid may be reused by a stranger. */
  mainGone(): void {
    this.#mainGone = true;
  }

  // The live (non-zombie) members, the main process included if still alive.
  members(): ProcInfo[] {
    if (!this.proc) return [];
    const all = scanProcs();
    const byPid = new Map(all.map((p) => [p.pid, p]));
    const inTree = new Map<number, boolean>();
    const isMember = (p: ProcInfo, depth = 0): boolean => {
      const seen = inTree.get(p.pid);
      if (seen !== undefined) return seen;
      let yes =
        (p.pid === this.root && !this.#mainGone) ||
        p.sid === this.root ||
        p.pgid === this.root ||
        this.#known.get(p.pid) === p.start ||
        (p.ppid === process.pid && this.adopted !== null && this.adopted(p.pid));
      if (!yes && depth < 64) {
        const parent = byPid.get(p.ppid);
        yes = parent !== undefined && parent.pid !== p.pid && isMember(parent, depth + 1);
      }
      inTree.set(p.pid, yes);
      return yes;
    };
    const members = all.filter((p) => p.state !== 'Z' && p.pid !== process.pid && isMember(p));
    for (const p of members) {
      this.#known.set(p.pid, p.start);
      // Read now: by the time a report is written, the process may be gone.
      this.#commands.set(p.pid, this.#commands.get(p.pid) || commandOf(p.pid));
    }
    this.#last = members;
    this.#scannedAt = monotonicMs();
    return members;
  }

  // Passes a signal on to the tree (a forwarded signal, or SIGSTOP for Ctrl+Z): the group
  // at once, then the members outside it from a scan at most FORWARD_SCAN_MAX_AGE_MS old,
  // each checked by start time first (its pid may belong to a stranger by now). Without
  // /proc, the group only, as a terminal signals its foreground group. `outsideOnly`: to the
  // members outside graceful's group only (terminal mode: the terminal signalled the group).
  forward(signal: SignalName, outsideOnly = false): void {
    if (!this.proc) {
      if (this.#group !== null) tryKill(-this.#group, signal);
      return;
    }
    if (monotonicMs() - this.#scannedAt > FORWARD_SCAN_MAX_AGE_MS) this.members();
    if (this.#group !== null) tryKill(-this.#group, signal);
    for (const p of this.#last) {
      if (this.#outside(p, outsideOnly) && readProc(p.pid)?.start === p.start) tryKill(p.pid, signal);
    }
  }

  // Whether a member needs a signal of its own: it is not in the group signalled as one (the
  // child's in a session of its own; graceful's, when the terminal signalled it).
  #outside(p: ProcInfo, outsideOnly: boolean): boolean {
    if (this.#group !== null) return p.pgid !== this.#group;
    return !outsideOnly || p.pgid !== this.sharedGroup;
  }

  // Sends `signal` to the whole tree; `done` gets the members that were signalled.
  //
  // A process that left the group is linked to the tree by its parent only, until an
  // adopting graceful (PID 1, subreaper) inherits it. Without adoption, the tree is found
  // first: the group signal may kill that parent and orphan the process out of sight. With
  // adoption, the group gets the signal at once (one syscall reaches most of the tree), and
  // the /proc scan for the rest follows FOLLOW_UP_MS later: done at once, it kept the child,
  // just woken onto graceful's CPU, waiting behind it (bench/analysis.md, "The process
  // tree"). Signals sent meanwhile share that scan.
  signalAll(signal: SignalName, done?: (members: readonly ProcInfo[]) => void, outsideOnly = false): void {
    if (this.#group === null) {
      // Not done?.(this.#signalEach(...)): without `done`, that would not signal at all.
      const members = this.#signalEach(signal, outsideOnly);
      done?.(members);
      return;
    }
    if (!this.proc) {
      // No /proc: tree-kill walks the parentage with ps and signals the main process and
      // its descendants, the ones that left the group included; the group goes after it,
      // since a parent killed first would orphan its children out of tree-kill's sight.
      if (this.#mainGone) tryKill(-this.root, signal);
      else {
        void import('tree-kill').then(
          ({ default: treeKill }) => treeKill(this.root, signal, () => tryKill(-this.root, signal)),
          () => tryKill(-this.root, signal),
        );
      }
      done?.([]);
      return;
    }
    if (this.adopted === null) {
      const members = this.members();
      tryKill(-this.root, signal);
      this.#signalOutside(members, signal);
      done?.(members);
      return;
    }
    tryKill(-this.root, signal);
    this.#afterScan(signal, done);
  }

  /** Calls `done` with the members a scan finds FOLLOW_UP_MS from now (the one pending signals share). */
  whenScanned(done: (members: readonly ProcInfo[]) => void): void {
    this.#afterScan(null, done);
  }

  #afterScan(signal: SignalName | null, done: ((members: readonly ProcInfo[]) => void) | undefined): void {
    this.#followUp ??= { sent: [], timer: setTimeout(() => this.flush(), FOLLOW_UP_MS) };
    this.#followUp.sent.push({ signal, done });
  }

  /** Finishes the signals still waiting for their scan, now (at exit, on an internal error). */
  flush(): void {
    const followUp = this.#followUp;
    if (!followUp) return;
    this.#followUp = null;
    clearTimeout(followUp.timer);
    const members = this.members();
    for (const { signal, done } of followUp.sent) {
      if (signal !== null) this.#signalOutside(members, signal);
      done?.(members);
    }
  }

  #signalOutside(members: readonly ProcInfo[], signal: SignalName): void {
    for (const p of members) {
      if (this.#outside(p, false)) tryKill(p.pid, signal);
    }
  }

  // Terminal mode: signals each member found by a fresh scan, the main process first, before
  // the scan (it is the one waiting for the signal). A SIGKILL is repeated on what each new
  // scan finds (see MAX_KILL_ROUNDS); a killed process cannot fork any more. Returns every
  // member found.
  #signalEach(signal: SignalName, outsideOnly: boolean): ProcInfo[] {
    const sent = new Set<number>();
    const found = new Map<number, ProcInfo>();
    const main = !outsideOnly && !this.#mainGone ? readProc(this.root) : null;
    if (main && main.state !== 'Z') {
      tryKill(this.root, signal);
      sent.add(this.root);
      found.set(this.root, main);
    }
    for (let i = 0; i < MAX_KILL_ROUNDS; i++) {
      const members = this.members();
      for (const p of members) found.set(p.pid, p);
      const fresh = members.filter((p) => !sent.has(p.pid) && this.#outside(p, outsideOnly));
      for (const p of fresh) {
        tryKill(p.pid, signal);
        sent.add(p.pid);
      }
      if (fresh.length === 0 || signal !== 'SIGKILL') break;
    }
    return [...found.values()];
  }

  // How many processes of the tree are alive (zombies do not count). Without /proc only
  // the process group can be probed: 1 means "some". `childless` says that graceful, as PID 1
  // or subreaper, has no child left: then an empty process group means an empty tree (an
  // orphan of the tree would have come to graceful), and two syscalls spare a /proc scan.
  count(childless?: () => boolean): number {
    if (this.#mainGone && childless && !(this.#group !== null && tryKill(-this.#group, 0)) && childless()) {
      this.#last = [];
      return 0;
    }
    if (this.proc) return this.members().length;
    return this.#group !== null && tryKill(-this.#group, 0) ? 1 : 0;
  }
}

// The command line of a process, for reports ("" once it is gone).
export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

// process.kill that reports success instead of throwing (ESRCH: already gone; EPERM: not ours).
// Through the FFI when it is loaded: kill(2) and nothing else. process.kill makes a getpid()
// first, and a failure costs an exception, the first one dearly: ESRCH from the probe of an
// empty group as the child exits (bench/analysis.md, "The process tree").
export function tryKill(pid: number, signal: SignalName | number): boolean {
  const lib = loadedLibc();
  const signo = typeof signal === 'number' ? signal : signalNumber(signal);
  if (lib && signo !== null) return lib.kill(pid, signo) === 0;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}
