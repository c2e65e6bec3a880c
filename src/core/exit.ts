// PURE: the one table of exit statuses. Every status graceful chooses itself is here, with
// when it is used; the code and --help read it, and npm run docs writes the docs' tables from
// it (docs/exit-status.md). (The child's own statuses pass through as they are.)

/** Exit statuses graceful itself uses. */
export const EXIT = {
  /** Success: every check passed (graceful check), the new generation serves (graceful reload). */
  ok: 0,
  /** graceful check: a check failed. */
  checkFailed: 1,
  /** graceful up: a process the start waited for ended with success, but another needed it ready. */
  unmetDependency: 1,
  /** graceful up: a process counted as failed whose own status was 0 (stopped for graceful's own reason). */
  stackFailed: 1,
  /** Bad flag, bad value, missing command: the user can fix the command line. */
  usage: 2,
  /** A bug in graceful (EX_SOFTWARE from sysexits.h), or graceful not built. */
  internal: 70,
  /** The standalone executable could not load its native part (EX_OSERR; scripts/sea-main.cjs, docs/binary.md). */
  nativeUnavailable: 71,
  /** Stopped for missing its watchdog pings (WatchdogSec= with --ready notify), and not restarted: the first status free below timeout(1)'s. */
  watchdog: 123,
  /** Not ready within --ready-timeout, as timeout(1) exits when its command timed out. */
  notReady: 124,
  /** Stopped for going over --max-memory (and not restarted): a failure whatever the child said. */
  overMemory: 125,
  /** The command exists but cannot be executed (permissions, a directory, bad format). */
  notExecutable: 126,
  /** The command was not found. */
  notFound: 127,
  /** graceful reload: the new generation failed to start or to become ready; the old one still serves. */
  rolledBack: 1,
  /** graceful reload: nothing was switched: no running graceful found, or it stopped (or had nothing serving) during the reload (EX_UNAVAILABLE). */
  reloadFailed: 69,
  /** graceful ctl: the stack refused the command (its reason said), or what it asked for failed. */
  ctlRefused: 1,
  /** graceful ctl: no running graceful up to ask (EX_UNAVAILABLE). */
  ctlUnavailable: 69,
} as const;

// What a process that ended by signal n exits with, as shells and tini report it.
export function signalStatus(signo: number): number {
  return 128 + signo;
}

/** One row of the table: the status (or its rule), the command it applies to, and when. */
export interface ExitRow {
  status: string;
  command: 'run' | 'check' | 'both' | 'reload' | 'up' | 'ctl';
  when: string;
}

export const EXIT_TABLE: readonly ExitRow[] = [
  { status: 'n', command: 'run', when: 'the child exited with code n (0 if n is in --success-exit-status)' },
  { status: '128+n', command: 'run', when: 'the child died of signal n, e.g. 143 for SIGTERM, 137 for SIGKILL (0 if the signal is in --success-exit-status)' },
  { status: 'the program\'s', command: 'run', when: 'behind a launcher (npm start, sh -c) that exited first: the status of the program it started, when graceful reaped it' },
  { status: String(EXIT.notReady), command: 'run', when: 'not ready within --ready-timeout' },
  { status: String(EXIT.overMemory), command: 'run', when: 'stopped for going over --max-memory (and not restarted)' },
  { status: String(EXIT.watchdog), command: 'run', when: "stopped for missing its watchdog pings (a service manager's WatchdogSec= with --ready notify; and not restarted)" },
  { status: String(EXIT.ok), command: 'check', when: 'every check passed' },
  { status: String(EXIT.checkFailed), command: 'check', when: 'a check failed' },
  { status: '128+n', command: 'check', when: 'graceful check itself was interrupted by signal n (130 Ctrl+C, 143 SIGTERM): verdict aborted' },
  { status: String(EXIT.notExecutable), command: 'both', when: 'the command is not executable' },
  { status: String(EXIT.notFound), command: 'both', when: 'the command was not found' },
  { status: String(EXIT.usage), command: 'both', when: 'usage error: a bad option or value, no command' },
  { status: String(EXIT.internal), command: 'both', when: 'internal error in graceful (a bug: please report it)' },
  { status: String(EXIT.ok), command: 'reload', when: 'switched: the new generation is ready and serves; the old one was asked to stop and drains' },
  { status: String(EXIT.rolledBack), command: 'reload', when: 'rolled back: the new generation failed to start or to become ready and was stopped; the old one still serves' },
  { status: String(EXIT.reloadFailed), command: 'reload', when: 'failed: no running graceful with reloads on was found, or it was stopping (or had no generation serving) and switched nothing' },
  { status: String(EXIT.usage), command: 'reload', when: 'usage error: a bad option or value' },
  { status: "NAME's", command: 'up', when: "--exit-with NAME: NAME's status as graceful run would exit (0 for its success statuses)" },
  { status: "the process's", command: 'up', when: 'the stack stopped because a process ended (on_exit), was not ready (124), could not start (127, 126), or gave up restarting' },
  { status: String(EXIT.unmetDependency), command: 'up', when: 'a process the start waited for ended with success, but another needed it ready' },
  { status: String(EXIT.ok), command: 'up', when: 'stopped by a signal, and every process stopped with success' },
  { status: 'the first failure', command: 'up', when: 'stopped by a signal: the status of the first process, in stop order, that did not (137 for one killed at its deadline)' },
  { status: String(EXIT.usage), command: 'up', when: 'the file or an option is wrong (nothing started)' },
  { status: String(EXIT.internal), command: 'up', when: 'an internal error in graceful (a bug: please report it)' },
  { status: String(EXIT.ok), command: 'ctl', when: 'done: the process is stopped, or up again (ready where it has a probe); status printed' },
  { status: String(EXIT.ctlRefused), command: 'ctl', when: 'refused (the reason is printed: a process that depends on it runs, it is not running, the stack is stopping, ...), or what it asked for failed' },
  { status: String(EXIT.ctlUnavailable), command: 'ctl', when: 'no running graceful up was found, or it could not be reached' },
  { status: String(EXIT.usage), command: 'ctl', when: 'usage error: a bad command, name, count or option' },
  { status: String(EXIT.nativeUnavailable), command: 'both', when: 'the standalone executable cannot load its native part (a noexec or read-only temporary directory: GRACEFUL_TMPDIR, docs/binary.md)' },
];

// The exit statuses of `command`, for --help.
export function exitHelp(command: 'run' | 'check' | 'reload' | 'up' | 'ctl'): string {
  const rows = EXIT_TABLE.filter((r) => r.command === command || (r.command === 'both' && (command === 'run' || command === 'check')));
  const width = Math.max(...rows.map((r) => r.status.length));
  return rows.map((r) => `  ${r.status.padEnd(width)}  ${r.when}`).join('\n');
}
