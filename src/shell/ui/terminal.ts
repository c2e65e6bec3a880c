// Terminal mode (issue 11). Run from a shell in a terminal, graceful is the foreground job:
// the child then joins graceful's process group instead of a session of its own, so it keeps
// the terminal as its controlling terminal (/dev/tty opens, password prompts hide what is
// typed, Ctrl+Z suspends it) and the terminal's signals reach it directly, as they would
// without graceful. Everywhere else (a pipe or /dev/null on stdin, CI, a container, PID 1, a
// background job) the child gets a session of its own, as before.
//
// Why the same process group rather than tini's own group made the foreground one
// (setpgid + tcsetpgrp): the terminal signals one group, and graceful must see Ctrl+C to
// count down and to force the kill on a second one; in a background group it sees none of
// it (what that looked like: bench/analysis.md, "The terminal: one process group"). In one
// group, the terminal's signals reach graceful and the child at once; the machine then
// never sends a second copy.
import { fstatSync, readFileSync } from 'node:fs';
import { isatty } from 'node:tty';
import { TRAPPED } from '../../config/signals.js';
import { readProc } from '../process/tree.js';
import type { SignalName } from '../../core/types.js';

/** Where graceful stands in its terminal, in terminal mode. */
export interface TerminalJob {
  /** graceful's process group, the terminal's foreground group, which the child joins. */
  pgid: number;
  /** graceful leads its session (`script -c 'exec graceful ...'`, ssh host graceful ...). */
  sessionLeader: boolean;
}

// Terminal mode applies when stdin is graceful's controlling terminal and graceful's process
// group is its foreground group, and graceful is not PID 1; null otherwise. Linux (/proc);
// elsewhere the child has a session of its own.
export function terminalJob(): TerminalJob | null {
  if (process.pid === 1 || !isatty(0)) return null;
  let fields: string[];
  let rdev: number;
  try {
    const stat = readFileSync('/proc/self/stat', 'latin1');
    // pid (comm) state ppid pgrp session tty_nr tpgid ...: comm may hold spaces and ')'.
    fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    rdev = fstatSync(0).rdev;
  } catch {
    return null;
  }
  const [pgrp, session, ttyNr, tpgid] = [2, 3, 4, 5].map((i) => Number(fields[i]));
  // A terminal that is not graceful's controlling terminal (`graceful run < /dev/pts/3` from
  // elsewhere) gives the child no controlling terminal either way.
  if (ttyNr === 0 || ttyNr !== rdev || tpgid !== pgrp) return null;
  return { pgid: pgrp!, sessionLeader: session === process.pid };
}

const JOB_SIGNALS = new Set(TRAPPED.filter((s) => s.job).map((s) => s.name));

// Did `signal` reach the child too, sent to graceful's whole process group by the terminal
// (Ctrl+C, Ctrl+\, Ctrl+Z, a resize, a read from the background) or by the shell's job
// control (fg and bg send SIGCONT to the job; a shell sends SIGHUP to each job when its
// terminal hangs up)? A hang-up's SIGHUP comes to the session leader alone: when graceful
// leads its session, it passes that one on. A signal sent with kill(1) to graceful alone
// looks the same as one sent to its group: in terminal mode, send SIGTERM or SIGUSR1 to
// graceful, or signal the child itself.
export function reachesJob(signal: SignalName, job: TerminalJob): boolean {
  if (!JOB_SIGNALS.has(signal)) return false;
  return !(signal === 'SIGHUP' && job.sessionLeader);
}

// Is the process stopped (job control, SIGSTOP)? False if it is gone.
export function isStopped(pid: number): boolean {
  const state = readProc(pid)?.state;
  return state === 'T' || state === 't';
}
