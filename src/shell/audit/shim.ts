// The audit's shim (built to dist/audit-shim.cjs), the process graceful check spawns in place
// of the program:
//
//   node audit-shim.cjs --channel 3 --trap exit_group,connect,close,shutdown,listen -- program args
//
// It sets no_new_privs and a seccomp filter that traps those calls for user notification,
// hands the filter's listener to graceful (which takes it with pidfd_getfd while the shim
// waits), then execs the program: same pid, and every process the program forks inherits
// the filter. Where the kernel refuses, it says why in one line on the channel and execs
// the program unaudited.
//
// The channel (fd 3, a socket graceful made) carries one line each way at a time:
//   graceful: "go" (it can take a descriptor from this process) | "no <reason>"
//   shim:     "listener <fd>" | "refused <reason>"
//   graceful: "ok" (it holds the listener)
//   shim:     "exec-failed <errno>" if execvp fails; on success the channel just closes
//             (it is close-on-exec).
//
// Between the filter and the exec, this process makes no call the filter traps (no close,
// no exit): the listener that would answer is only just on its way to graceful.
//
// Second use: `node audit-shim.cjs --keep <fd>`, the keeper of the listener (see keep()).
import { readFileSync, readSync, writeSync } from 'node:fs';
import { auditCalls, type AuditCalls } from './calls.js';
import { filterProgram, NOTIF, RESP, SECCOMP, SHIM_NODE_OPTIONS, type TrappedCall } from './filter.js';

const ERRNO_NAMES: Record<number, string> = { 1: 'EPERM', 2: 'ENOENT', 13: 'EACCES', 14: 'EFAULT', 16: 'EBUSY', 22: 'EINVAL', 38: 'ENOSYS', 8: 'ENOEXEC', 20: 'ENOTDIR' };
const errnoName = (e: number) => ERRNO_NAMES[e] ?? `errno ${e}`;
const SIGKILL = 9;
const SIGPIPE = 13;
const SIGXFSZ = 25;

function main(argv: string[]): void {
  const calls = auditCalls();
  if (argv[0] === '--keep') return keep(calls, Number(argv[1]));
  const dash = argv.indexOf('--');
  const channel = Number(argv[argv.indexOf('--channel') + 1]);
  const trap = (argv[argv.indexOf('--trap') + 1] ?? '').split(',').filter(Boolean) as TrappedCall[];
  const command = argv.slice(dash + 1);
  if (dash < 0 || command.length === 0 || !Number.isInteger(channel)) {
    process.stderr.write('graceful audit-shim: usage: audit-shim --channel FD --trap CALLS -- PROGRAM [ARGS]\n');
    process.exit(2);
  }
  if (typeof calls === 'string') {
    // Unreachable where graceful could load koffi itself (it checks before choosing the shim).
    send(channel, `exec-failed 0 ${calls}`);
    process.exit(127);
  }
  const lines = reader(channel);
  const verdict = lines();
  if (verdict === null) return void calls.kill(process.pid, SIGKILL); // graceful is gone
  const refusal = verdict === 'go' ? install(calls, trap, channel, lines) : verdict.replace(/^no /, '');
  if (refusal !== null) send(channel, `refused ${refusal}`);
  // Node ignores SIGPIPE and SIGXFSZ; an exec keeps what is ignored. The program gets the
  // defaults, as when graceful spawns it itself.
  calls.resetSignal(SIGPIPE);
  calls.resetSignal(SIGXFSZ);
  // Node marks standard input, output and error close-on-exec at start-up: the program gets
  // them, as it would from graceful's own spawn.
  for (const fd of [0, 1, 2]) calls.cloexec(fd, true);
  calls.cloexec(channel);
  // The program's NODE_OPTIONS back in place (process.env writes through to the environment
  // execvp passes on).
  const aside = process.env[SHIM_NODE_OPTIONS];
  if (aside !== undefined) {
    process.env.NODE_OPTIONS = aside;
    delete process.env[SHIM_NODE_OPTIONS];
  }
  const errno = -calls.execvp(command[0]!, command);
  send(channel, `exec-failed ${errno} ${errnoName(errno)}`);
  process.exit(errno === 2 ? 127 : 126);
}

// Installs the filter and hands its listener over; null, or why the audit cannot run here
// (the program then runs unaudited).
function install(calls: AuditCalls, trap: readonly TrappedCall[], channel: number, lines: () => string | null): string | null {
  let avail = '';
  try {
    avail = readFileSync('/proc/sys/kernel/seccomp/actions_avail', 'latin1');
  } catch {
    return 'this kernel has no seccomp actions list (/proc/sys/kernel/seccomp/actions_avail): Linux 5.5 or later is needed';
  }
  if (!/\buser_notif\b/.test(avail)) return 'this kernel has no seccomp user notification (user_notif is not in /proc/sys/kernel/seccomp/actions_avail): Linux 5.5 or later is needed';
  const sizes = calls.notifSizes();
  if (!sizes) return 'seccomp(SECCOMP_GET_NOTIF_SIZES) was refused (a seccomp filter already in place forbids seccomp()?)';
  if (sizes.notif > NOTIF.size || sizes.resp > RESP.size) return `this kernel's seccomp notifications are larger than the audit reads (${sizes.notif}/${sizes.resp} bytes)`;
  const nnp = calls.noNewPrivs();
  if (nnp < 0) return `prctl(PR_SET_NO_NEW_PRIVS) was refused (${errnoName(-nnp)})`;
  const program = filterProgram(calls.table, trap, true);
  let listener = calls.installFilter(program, SECCOMP.FLAG_NEW_LISTENER | SECCOMP.FLAG_WAIT_KILLABLE_RECV);
  // Before Linux 5.19 there is no WAIT_KILLABLE_RECV: without it, a signal that arrives
  // while a call waits for graceful's answer interrupts it (see docs/audit-notes.md).
  if (listener === -22) listener = calls.installFilter(program, SECCOMP.FLAG_NEW_LISTENER);
  if (listener < 0) {
    const e = -listener;
    if (e === 16) return 'a seccomp listener is already set on this process tree (EBUSY: a container runtime or another supervisor uses user notification)';
    if (e === 22) return 'this kernel refuses SECCOMP_FILTER_FLAG_NEW_LISTENER (EINVAL): Linux 5.5 or later is needed';
    return `seccomp() was refused (${errnoName(e)}: a seccomp filter already in place may forbid it)`;
  }
  send(channel, `listener ${listener}`);
  const reply = lines();
  // Not taken (graceful is gone, or could not take it): this process must not run the
  // program with a filter nobody answers, and cannot close the listener (close is trapped).
  if (reply !== 'ok') calls.kill(process.pid, SIGKILL);
  // Drop this process's own reference now, without close(): if the exec fails, the exit that
  // follows is answered by graceful, and were graceful gone, nothing would wait on us.
  calls.dup3(channel, listener);
  return null;
}

// Writes one line, whole (the channel is a blocking socket in this process).
function send(fd: number, line: string): void {
  try {
    writeSync(fd, `${line}\n`);
  } catch {
    // graceful is gone: its end of the channel closed
  }
}

// Reads the channel line by line (blocking); null at its end.
function reader(fd: number): () => string | null {
  let pending = '';
  const buf = Buffer.alloc(256);
  return () => {
    for (;;) {
      const nl = pending.indexOf('\n');
      if (nl >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        return line;
      }
      let n: number;
      try {
        n = readSync(fd, buf);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
          continue;
        }
        return null;
      }
      if (n === 0) return null;
      pending += buf.toString('latin1', 0, n);
    }
  };
}

// The keeper, started by graceful check as soon as it holds the listener, with a copy of it
// on fd `listener` and a pipe from graceful on its standard input. While graceful lives it
// only waits; once that pipe ends (graceful is done, or died: even of SIGKILL) it answers
// "go on" to every trapped call until no process uses the filter any more (POLLHUP, Linux
// 5.8+). Without it, a listener closed with graceful makes every trapped call of the
// program fail with ENOSYS: connect() fails, close() leaves the descriptor open, and
// exit_group() returns, after which glibc ends only the calling thread (docs/audit-notes.md).
function keep(calls: AuditCalls | string, listener: number): void {
  if (typeof calls === 'string') process.exit(1);
  const buf = Buffer.alloc(64);
  for (;;) {
    const r = calls.poll([0], -1);
    if (r === null || r[0]! === 0) continue;
    let n = 0;
    try {
      n = readSync(0, buf);
    } catch {
      // EAGAIN: not yet; anything else: graceful is gone
    }
    if (n === 0) break;
  }
  const notif = Buffer.alloc(NOTIF.size);
  const resp = Buffer.alloc(RESP.size);
  for (;;) {
    const revents = calls.poll([listener], -1);
    if (revents === null) break;
    if (revents[0]! & 0x1) {
      // The kernel wants the buffer zeroed (EINVAL otherwise, since Linux 5.9).
      notif.fill(0);
      if (calls.ioctl(listener, SECCOMP.IOCTL_NOTIF_RECV, notif) !== 0) continue;
      resp.fill(0);
      notif.copy(resp, RESP.id, NOTIF.id, NOTIF.id + 8);
      resp.writeUInt32LE(SECCOMP.USER_NOTIF_FLAG_CONTINUE, RESP.flags);
      calls.ioctl(listener, SECCOMP.IOCTL_NOTIF_SEND, resp);
    } else if (revents[0]! & 0x10) break;
  }
  // Its own exit is not trapped: the keeper is not a descendant of the filter.
  process.exit(0);
}

main(process.argv.slice(2));
