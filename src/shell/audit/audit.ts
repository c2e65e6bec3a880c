// graceful check's side of the audit: what to spawn instead of the program (the shim, with a
// channel on fd 3), the handshake that takes the seccomp listener from the shim before it
// execs, the receiver's worker thread, the stop snapshot, and the end: the report, and a
// keeper for the listener if audited processes outlive graceful's watch.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeSync } from 'node:fs';
import { endianness, release } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { assemble } from '../../core/audit/assemble.js';
import { auditCalls, type AuditCalls } from './calls.js';
import { filterProgram, SHIM_NODE_OPTIONS, type TrappedCall } from './filter.js';
import { perlKeeper, perlShim } from './perl.js';
import { COMMAND } from './receiver.js';
import type { AuditReport, RawEvent, ReceiverStats } from '../../core/audit/types.js';

/** Everything the audit can trap: with close, the exact order of every release. */
export const ALL_CALLS: readonly TrappedCall[] = ['exit_group', 'connect', 'close', 'shutdown', 'listen'];
/**
 * What it traps by default: not close, the most frequent call, which a signal arriving
 * during its round trip would make fail with EINTR; releases after the stop are followed by
 * looking instead, to within FOLLOW_MS (receiver.ts; docs/audit-notes.md).
 */
export const DEFAULT_CALLS: readonly TrappedCall[] = ['exit_group', 'connect', 'shutdown', 'listen'];

export type AttachOutcome =
  | { state: 'audited' }
  | { state: 'refused'; reason: string }
  | { state: 'exec-failed'; status: 126 | 127; message: string };

export interface AuditSession {
  /** What to spawn in place of the command given to startAudit; the channel must be fd 3 (stdio[3]: 'pipe'). */
  readonly file: string;
  readonly args: string[];
  /**
   * The command that runs `command` under the shim with the channel at fd `channel` of the
   * spawn's stdio (a 'pipe'), and the environment the shim needs from `env` (the node shim
   * takes NODE_OPTIONS aside, for the program only).
   */
  wrap(command: readonly string[], channel: number, env: NodeJS.ProcessEnv): { command: string[]; env: NodeJS.ProcessEnv };
  /**
   * The receiver's thread is up: the program's first trapped call does not wait for it. Start
   * the audit early (at graceful check's start) and spawn when this resolves, or anyway.
   */
  readonly ready: Promise<void>;
  /**
   * Right after the spawn: the handshake on the channel (fd `channel`, 3 unless said).
   * Resolves once the program runs (or could not start). One program per session: a second
   * spawn (a restart) runs unaudited.
   */
  attach(child: ChildProcess, channel?: number): Promise<AttachOutcome>;
  /** The outcome of the first attach(), once known. */
  readonly attached: Promise<AttachOutcome>;
  /** The processes seen so far (the tree that made a trapped call). */
  pids(): number[];
  /** Records, per process, its listening and accepted sockets now: take it just before the stop signal. */
  snapshot(): Promise<void>;
  /**
   * Ends the audit: once graceful has seen the tree end (`running` says which pids are still
   * alive). If any process still uses the filter, a keeper takes the listener over.
   */
  finish(running: (pid: number) => boolean): Promise<AuditReport>;
}

const ERRNO_NAMES: Record<number, string> = { 1: 'EPERM', 3: 'ESRCH', 9: 'EBADF', 13: 'EACCES', 38: 'ENOSYS' };

// Why the audit cannot run here, before anything is spawned; null if it may. The shim finds
// the rest (the kernel's answer to seccomp()).
export function auditUnavailable(dist: string): string | null {
  if (!existsSync(join(dist, 'audit-shim.cjs')) || !existsSync(join(dist, 'audit-worker.cjs'))) return `the audit's files are not built (${dist}/audit-shim.cjs)`;
  const calls = auditCalls();
  if (typeof calls === 'string') return `the audit needs the FFI: ${calls}`;
  try {
    if (!/\buser_notif\b/.test(readFileSync('/proc/sys/kernel/seccomp/actions_avail', 'latin1'))) {
      return 'this kernel has no seccomp user notification (Linux 5.5 or later is needed)';
    }
  } catch {
    return 'this kernel has no seccomp actions list (Linux 5.5 or later is needed)';
  }
  return null;
}

export interface AuditOptions {
  /** The calls to trap (DEFAULT_CALLS); without close, releases after the stop are followed by looking. */
  trap?: readonly TrappedCall[];
  /** Start the keeper (shim.ts): the program's calls never fail, even if graceful dies. Default true. */
  keeper?: boolean;
  /**
   * The shim and keeper's language: perl where there is one (auto: /usr/bin/perl), else node.
   * perl starts in ~2 ms, node in ~40 ms (docs/audit-notes.md).
   */
  shim?: 'auto' | 'perl' | 'node';
  /**
   * How to run the node shim: the standalone executable runs it through a hidden mode of its
   * own (scripts/sea-main.cjs), where no script can be given to its node. Default: this node
   * with dist/audit-shim.cjs.
   */
  nodeShim?: readonly string[];
}



// Debian's perl-base is essential; a slim image may lack it (then node does the same job).
const PERL = '/usr/bin/perl';

// An audit; spawn wrap(command)'s command (or, for `command`, session.file with session.args
// and stdio[3] 'pipe'), then attach.
export function startAudit(command: readonly string[], dist: string, options: AuditOptions = {}): AuditSession {
  const trap = options.trap ?? DEFAULT_CALLS;
  const calls = auditCalls() as AuditCalls;
  const command$ = new Int32Array(new SharedArrayBuffer(4));
  const wake = calls.eventfd();
  // Started now, while the shim starts: the first trapped call (the loader closing a
  // library, a few ms after the exec) waits for this thread to be up.
  const worker = new Worker(join(dist, 'audit-worker.cjs'), { workerData: { wake, command: command$, followCloses: !trap.includes('close') } });
  const filterHex = filterProgram(calls.table, trap, endianness() === 'LE').toString('hex');
  const usePerl = options.shim !== 'node' && (options.shim === 'perl' || existsSync(PERL)) && perlShim(PERL, calls.table, process.arch, filterHex, 3, []) !== null;
  const nodeShim = options.nodeShim ?? [process.execPath, join(dist, 'audit-shim.cjs')];
  const wrap = (cmd: readonly string[], channel: number): string[] =>
    usePerl ? perlShim(PERL, calls.table, process.arch, filterHex, channel, cmd)! : [...nodeShim, '--channel', String(channel), '--trap', trap.join(','), '--', ...cmd];
  const [file, ...args] = wrap(command, 3);
  worker.unref();
  const ready = new Promise<void>((resolve) => {
    worker.once('online', () => resolve());
    worker.once('error', () => resolve());
  });
  const seen = new Set<number>();
  let listener = -1;
  let keeper: ChildProcess | null = null;
  let outcome: AttachOutcome = { state: 'refused', reason: 'not attached' };
  let attachedOnce = false;
  let settleAttached!: (o: AttachOutcome) => void;
  const attached = new Promise<AttachOutcome>((resolve) => (settleAttached = resolve));
  let snapshotDone: (() => void) | null = null;
  const done = new Promise<{ events: RawEvent[]; stats: ReceiverStats | null; error?: string }>((resolve) => {
    worker.on('message', (m: any) => {
      if (m.type === 'process') seen.add(m.pid);
      else if (m.type === 'snapshot') snapshotDone?.();
      else if (m.type === 'done') resolve(m);
    });
    worker.on('error', (error) => resolve({ events: [], stats: null, error: error.message }));
    worker.on('exit', () => resolve({ events: [], stats: null, error: 'the receiver stopped' }));
  });
  let woken = false;
  const signalWorker = (cmd: number) => {
    if (woken) return;
    if (cmd === COMMAND.finish) woken = true;
    Atomics.store(command$, 0, cmd);
    const one = Buffer.alloc(8);
    one.writeBigUInt64LE(1n);
    writeSync(wake, one);
  };
  // graceful exiting without finish() (an error path): Node joins its worker threads at exit,
  // and this one sits in poll() until the audited tree has ended, which may be never. Wake it
  // up to end; the keeper answers from then on.
  const onExit = () => signalWorker(COMMAND.finish);
  process.once('exit', onExit);

  return {
    file: file!,
    args,
    wrap(cmd, channel, env) {
      if (usePerl || env.NODE_OPTIONS === undefined) return { command: wrap(cmd, channel), env };
      const { NODE_OPTIONS, ...rest } = env;
      return { command: wrap(cmd, channel), env: { ...rest, [SHIM_NODE_OPTIONS]: NODE_OPTIONS } };
    },
    ready,
    attached,
    attach(child, fd = 3) {
      const channel = child.stdio[fd] as import('node:net').Socket | null | undefined;
      if (attachedOnce) {
        // A second program (a restart): the session audits the first one only.
        channel?.end("no the audit covers the program's first start only\n");
        return Promise.resolve({ state: 'refused', reason: "the audit covers the program's first start only" });
      }
      attachedOnce = true;
      return new Promise<AttachOutcome>((resolve) => {
        if (!channel || child.pid === undefined) {
          worker.postMessage('cancel');
          outcome = { state: 'refused', reason: 'the shim has no channel' };
          settleAttached(outcome);
          return resolve(outcome);
        }
        const pidfd = calls.pidfdOpen(child.pid);
        // Can graceful take a descriptor from this process? Tried on the channel itself, before
        // the shim sets a filter that only a listener graceful holds may answer.
        let refusal: string | null = null;
        if (pidfd < 0) refusal = `pidfd_open was refused (${ERRNO_NAMES[-pidfd] ?? -pidfd}: Linux 5.3 or later is needed)`;
        else {
          const probe = calls.pidfdGetfd(pidfd, fd);
          if (probe < 0) refusal = `pidfd_getfd was refused (${ERRNO_NAMES[-probe] ?? -probe}: Linux 5.6 or later, and ptrace access to the child, are needed)`;
          else calls.close(probe);
        }
        channel.write(refusal ? `no ${refusal}\n` : 'go\n');
        let pending = '';
        let settled = false;
        const settle = (o: AttachOutcome) => {
          if (settled) return;
          settled = true;
          outcome = o;
          if (pidfd >= 0) calls.close(pidfd);
          if (o.state !== 'audited' && listener < 0) worker.postMessage('cancel');
          resolve(o);
          settleAttached(o);
        };
        channel.on('data', (chunk: Buffer) => {
          pending += chunk.toString('latin1');
          let nl: number;
          while ((nl = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, nl);
            pending = pending.slice(nl + 1);
            const [word, ...rest] = line.split(' ');
            if (word === 'listener') {
              listener = calls.pidfdGetfd(pidfd, Number(rest[0]));
              if (listener < 0) {
                // The shim then kills itself rather than run the program with nobody to answer.
                channel.write('drop\n');
                settle({ state: 'exec-failed', status: 126, message: `the audit could not take the seccomp listener (${ERRNO_NAMES[-listener] ?? -listener})` });
                continue;
              }
              worker.postMessage({ listener, root: child.pid });
              channel.write('ok\n');
              if (options.keeper !== false && keeperCanEnd()) keeper = startKeeper(usePerl ? perlKeeper(PERL, 3) : [...nodeShim, '--keep', '3'], listener);
            } else if (word === 'refused') settle({ state: 'refused', reason: rest.join(' ') });
            else if (word === 'exec-failed') {
              const errno = Number(rest[0]);
              settle({ state: 'exec-failed', status: errno === 2 ? 127 : 126, message: rest.slice(1).join(' ') });
            }
          }
        });
        // The channel is close-on-exec: its end means the exec happened (or the shim died).
        channel.on('close', () => settle(listener >= 0 ? { state: 'audited' } : { state: 'refused', reason: refusal ?? 'the shim ended before it set the filter' }));
        channel.on('error', () => {});
      });
    },
    pids: () => [...seen],
    snapshot() {
      if (listener < 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        snapshotDone = resolve;
        signalWorker(COMMAND.snapshot);
      });
    },
    async finish(running) {
      process.off('exit', onExit);
      const trapped = trap.map(String);
      if (listener < 0) {
        worker.postMessage('cancel');
        calls.close(wake);
        const reason = outcome.state === 'refused' ? outcome.reason : outcome.state === 'exec-failed' ? outcome.message : 'not attached';
        return { refused: reason, trapped, processes: [], stats: { notifications: 0, byCall: {}, busyMs: 0, maxLatencyUs: null } };
      }
      // Processes still under the filter (they escaped the tree, or graceful stops watching
      // early) are the keeper's from now on: none of their calls fails.
      keeper?.stdin?.end();
      signalWorker(COMMAND.finish);
      const result = await done;
      calls.close(listener);
      calls.close(wake);
      const processes = assemble(result.events, running);
      const s = result.stats;
      return {
        refused: result.error ?? null,
        trapped,
        processes,
        stats: { notifications: s?.notifications ?? 0, byCall: s?.byCall ?? {}, busyMs: s?.busyMs ?? 0, maxLatencyUs: s?.maxLatencyUs ?? null },
      };
    },
  };
}

// The listener reports POLLHUP once no process uses the filter from Linux 5.8 on; before,
// a keeper could not tell when to end, and none is started (graceful's death then leaves
// the program's trapped calls failing with ENOSYS: docs/audit-notes.md).
function keeperCanEnd(): boolean {
  const [major, minor] = release().split('.').map(Number) as [number, number];
  return major > 5 || (major === 5 && minor >= 8);
}

// The keeper (shim.ts, --keep): a process of its own, detached, holding a copy of the
// listener; it takes over when its standard input ends, which graceful's exit or death does.
function startKeeper([file, ...args]: string[], listener: number): ChildProcess {
  const keeper = spawn(file!, args, { stdio: ['pipe', 'ignore', 'ignore', listener], detached: true });
  keeper.on('error', () => {});
  keeper.unref();
  (keeper.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  keeper.stdin?.on('error', () => {});
  return keeper;
}
