// The listener's side of the audit: takes each seccomp notification of the program's tree,
// reads what it needs about that process while the call waits, and lets the call go on
// (SECCOMP_USER_NOTIF_FLAG_CONTINUE). Runs in a worker thread (worker.ts) in a blocking
// loop: a trapped process waits for this thread only, never for graceful's event loop,
// which may be busy sending load or scanning the tree.
//
// What each call tells:
// - connect: an outbound connection, its peer (read from the caller's memory) and socket;
// - listen: a listening socket;
// - shutdown, close: the program letting a socket go (a close of anything else is answered
//   after one readlink);
// - exit_group: the process exits; whatever it still has open is closed by the kernel, not
//   by it: its sockets (with their TCP state and peer) and its files open for writing.
import { existsSync, readdirSync, readSync } from 'node:fs';
import type { AuditCalls } from './calls.js';
import { callOf, NOTIF, RESP, SECCOMP, type TrappedCall } from './filter.js';
import { alive, cmdline, descendants, fdTarget, openAtExit, sockaddrAt, socketInode, socketTable, threadOf } from './procfs.js';
import { protoByName, socketInfo } from './sockets.js';
import type { RawEvent, ReceiverStats, SocketInfo } from '../../core/audit/types.js';

// Commands from graceful's main thread, in a shared Int32Array, with a wake-up on the eventfd.
export const COMMAND = { none: 0, snapshot: 1, finish: 2 } as const;

// How often, when close is not trapped, the followed sockets are looked at after the stop:
// a readlink each, in this thread; the program pays nothing. Two releases closer together
// than this are seen as simultaneous.
export const FOLLOW_MS = 1;

const POLLIN = 0x1;
const POLLHUP = 0x10;

export interface ReceiverOptions {
  calls: AuditCalls;
  listener: number;
  /** The program's main process: the stop snapshot covers it and all its descendants, seen or not. */
  root: number;
  /** An eventfd graceful's main thread writes to when it puts a command in `command[0]`. */
  wake: number;
  command: Int32Array;
  now: () => number;
  /** Each process's first sight, as it happens (graceful check keeps the list of the tree). */
  onProcess?: (pid: number) => void;
  /** After each snapshot command. */
  onSnapshot?: () => void;
  /**
   * close is not trapped: from the stop snapshot on, the sockets worth following are looked
   * at every FOLLOW_MS instead (their close times are then known to within that).
   */
  followCloses?: boolean;
  /** Each notification's handling time, for GRACEFUL_AUDIT_DEBUG. */
  debug?: (line: string) => void;
}

// Answers notifications until no process uses the filter any more (POLLHUP) or graceful
// asks it to finish; returns what it saw.
export function receive(o: ReceiverOptions): { events: RawEvent[]; stats: ReceiverStats } {
  const { calls, listener, now } = o;
  const events: RawEvent[] = [];
  const stats: ReceiverStats = { notifications: 0, byCall: {}, busyMs: 0, maxLatencyUs: 0 };
  const notif = Buffer.alloc(NOTIF.size);
  const resp = Buffer.alloc(RESP.size);
  const idBuf = Buffer.alloc(8);
  const wakeBuf = Buffer.alloc(8);
  // Thread -> its process, cached: a thread's process never changes, and a thread id is
  // reused only once its process is gone (an exit drops the process's entries).
  const processOf = new Map<number, number>();
  // Each process's pidfd, to take copies of its sockets (sockets.ts).
  const pidfds = new Map<number, number>();
  // Sockets connected, listened on or accepted (at the stop), by inode: the ones whose
  // close is worth a look at the socket.
  const tracked = new Set<number>();
  const listened = new Set<number>();
  // close not trapped: per process, the descriptors to look at after the stop (fd -> inode).
  const followed = new Map<number, Map<number, number>>();
  const tick = () => {
    const t = now();
    for (const [pid, follow] of followed) {
      for (const [fd, inode] of follow) {
        const target = fdTarget(pid, fd);
        if (socketInode(target) === inode) continue;
        // Gone from a process that died (or is a zombie): the kernel closed it, not the program.
        if (target === null && !alive(pid)) {
          followed.delete(pid);
          break;
        }
        follow.delete(fd);
        events.push({ e: 'close', t, pid, tid: pid, fd, inode, socket: null });
      }
      if (follow.size === 0) followed.delete(pid);
    }
  };

  const pidOf = (tid: number, t: number): number => {
    const cached = processOf.get(tid);
    if (cached !== undefined) return cached;
    const thread = threadOf(tid);
    const pid = thread?.tgid ?? tid;
    processOf.set(tid, pid);
    if (!pidfds.has(pid)) {
      pidfds.set(pid, calls.pidfdOpen(pid));
      events.push({ e: 'process', t, pid, ppid: thread?.ppid ?? 0, argv: cmdline(pid) });
      o.onProcess?.(pid);
    }
    return pid;
  };
  // Falls back on the network namespace's tables where no copy of the socket can be taken.
  const describe = (pid: number, fd: number, inode: number): SocketInfo | null => {
    const pidfd = pidfds.get(pid) ?? -1;
    const info = pidfd >= 0 ? socketInfo(calls, pidfd, fd) : null;
    if (info) return info;
    const row = socketTable(pid).get(inode);
    return row ? { proto: row.proto, local: row.local, peer: row.peer, state: row.state, bytesReceived: null, peerSpokeLast: null, listening: row.state === 'listen' } : null;
  };
  // Is the notification still the one read? (The thread may have been killed and its id
  // reused while /proc was read: seccomp_unotify(2).)
  const valid = (id: bigint) => {
    idBuf.writeBigUInt64LE(id);
    return calls.ioctl(listener, SECCOMP.IOCTL_NOTIF_ID_VALID, idBuf) === 0;
  };
  const answer = (id: bigint) => {
    resp.fill(0);
    resp.writeBigUInt64LE(id, RESP.id);
    resp.writeUInt32LE(SECCOMP.USER_NOTIF_FLAG_CONTINUE, RESP.flags);
    // ENOENT: the call is gone (its thread was interrupted by a signal, or killed).
    calls.ioctl(listener, SECCOMP.IOCTL_NOTIF_SEND, resp);
  };

  const handle = (call: TrappedCall, id: bigint, tid: number, args: bigint[], t: number) => {
    const fd = Number(BigInt.asIntN(32, args[0]!));
    switch (call) {
      case 'close':
      case 'shutdown': {
        const inode = socketInode(fdTarget(tid, fd));
        if (inode === null) return; // not a socket (a file, a pipe...): nothing to record
        const pid = pidOf(tid, t);
        const socket = tracked.has(inode) ? describe(pid, fd, inode) : null;
        if (!valid(id)) return;
        events.push({ e: call, t, pid, tid, fd, inode, socket, ...(call === 'shutdown' ? { how: Number(args[1]) } : {}) });
        return;
      }
      case 'connect': {
        const pid = pidOf(tid, t);
        const inode = socketInode(fdTarget(tid, fd));
        // Its protocol by name (one call); a copy of the socket only where the name is not enough.
        const byName = protoByName(calls.getxattr(`/proc/${tid}/fd/${fd}`, 'system.sockprotoname'));
        const proto = byName ?? (inode !== null ? (describe(pid, fd, inode)?.proto ?? 'other') : 'other');
        const peer = sockaddrAt(calls.readMemory, tid, args[1]!, Number(args[2]));
        // A Unix path that is not there: the connect fails with ENOENT (glibc's resolver tries
        // nscd's socket on every lookup). Nothing to follow.
        if (peer !== null && peer.startsWith('/') && !existsSync(peer)) return;
        if (!valid(id)) return;
        if (inode !== null) tracked.add(inode);
        // Opened after the stop (a client that reconnects): followed from now on too.
        if (inode !== null && o.followCloses && stopped) {
          const follow = followed.get(pid) ?? new Map<number, number>();
          follow.set(fd, inode);
          followed.set(pid, follow);
        }
        events.push({ e: 'connect', t, pid, tid, fd, inode, proto, peer });
        return;
      }
      case 'listen': {
        const pid = pidOf(tid, t);
        const inode = socketInode(fdTarget(tid, fd));
        const byName = protoByName(calls.getxattr(`/proc/${tid}/fd/${fd}`, 'system.sockprotoname'));
        const proto = byName ?? (inode !== null ? (describe(pid, fd, inode)?.proto ?? 'other') : 'other');
        if (!valid(id)) return;
        if (inode !== null) {
          tracked.add(inode);
          listened.add(inode);
        }
        events.push({ e: 'listen', t, pid, tid, fd, inode, proto });
        return;
      }
      case 'exit_group': {
        const pid = pidOf(tid, t);
        const open = openAtExit(pid, (sfd, inode) => describe(pid, sfd, inode));
        const argv = cmdline(pid);
        if (!valid(id)) return;
        events.push({ e: 'exit', t, pid, tid, code: Number(BigInt.asIntN(32, args[0]!)), argv, open });
        for (const [thread, p] of processOf) if (p === pid) processOf.delete(thread);
        followed.delete(pid);
        const pidfd = pidfds.get(pid);
        if (pidfd !== undefined && pidfd >= 0) calls.close(pidfd);
        pidfds.set(pid, -1);
        return;
      }
    }
  };

  let stopped = false;
  const snapshot = () => {
    const t = now();
    stopped = true;
    // Processes that made no trapped call yet (close is not trapped by default) are in the tree all the same.
    for (const pid of descendants(o.root)) pidOf(pid, t);
    const port = (a: string | null) => a?.replace(/^.*:/, '') ?? null;
    const all = new Map<number, { fd: number; inode: number; info: SocketInfo }[]>();
    for (const [pid, pidfd] of pidfds) {
      if (pidfd < 0) continue; // exited
      let names: string[];
      try {
        names = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue; // gone
      }
      const sockets: { fd: number; inode: number; info: SocketInfo }[] = [];
      for (const name of names) {
        const inode = socketInode(fdTarget(pid, Number(name)));
        if (inode === null) continue;
        const info = describe(pid, Number(name), inode);
        if (info) sockets.push({ fd: Number(name), inode, info });
      }
      all.set(pid, sockets);
    }
    // The ports the tree listens on: a cluster worker serves connections its primary accepted.
    const ports = new Set<string | null>();
    for (const sockets of all.values()) for (const s of sockets) if (s.info.listening || listened.has(s.inode)) ports.add(port(s.info.local));
    for (const [pid, sockets] of all) {
      const listening = sockets.filter((s) => s.info.listening || listened.has(s.inode)).map((s) => ({ inode: s.inode, local: s.info.local }));
      // Accepted connections: established on a port the tree listens on, and not one it connected.
      const inbound = sockets.flatMap((s) =>
        s.info.state === 'established' && !tracked.has(s.inode) && s.info.local && s.info.peer && ports.has(port(s.info.local))
          ? [{ inode: s.inode, local: s.info.local, peer: s.info.peer }]
          : [],
      );
      const outbound = sockets
        .filter((s) => tracked.has(s.inode) && !listened.has(s.inode))
        .map((s) => ({ inode: s.inode, local: s.info.local, state: s.info.state, bytesReceived: s.info.bytesReceived }));
      events.push({ e: 'stop', t, pid, listening, inbound, outbound });
      for (const i of inbound) tracked.add(i.inode);
      if (o.followCloses) {
        const follow = new Map<number, number>();
        for (const s of sockets) if (tracked.has(s.inode)) follow.set(s.fd, s.inode);
        if (follow.size > 0) followed.set(pid, follow);
      }
    }
    o.onSnapshot?.();
  };

  // Linux 6.6+: the trapped thread hands its CPU to this one (a shorter round trip); refused
  // before, which changes nothing else.
  calls.ioctlValue(listener, SECCOMP.IOCTL_NOTIF_SET_FLAGS, SECCOMP.USER_NOTIF_FD_SYNC_WAKE_UP);
  let finishing = false;
  for (;;) {
    const revents = calls.poll([listener, o.wake], finishing ? 0 : followed.size > 0 ? FOLLOW_MS : -1);
    if (followed.size > 0) tick();
    if (revents === null) break;
    const [lst, wake] = revents as [number, number];
    if (wake & POLLIN) {
      try {
        readSync(o.wake, wakeBuf);
      } catch {
        // EAGAIN: nothing left to read
      }
      const command = Atomics.exchange(o.command, 0, COMMAND.none);
      if (command === COMMAND.snapshot) snapshot();
      if (command === COMMAND.finish) finishing = true;
    }
    if (lst & POLLIN) {
      notif.fill(0);
      // Fails with ENOENT when the call was withdrawn meanwhile (its thread interrupted).
      if (calls.ioctl(listener, SECCOMP.IOCTL_NOTIF_RECV, notif) !== 0) continue;
      const start = now();
      const id = notif.readBigUInt64LE(NOTIF.id);
      const tid = notif.readUInt32LE(NOTIF.pid);
      const nr = notif.readInt32LE(NOTIF.nr);
      const args = [0, 1, 2].map((i) => notif.readBigUInt64LE(NOTIF.args + i * 8));
      const call = callOf(calls.table, nr);
      try {
        if (call) handle(call, id, tid, args, start);
      } catch {
        // A reading that failed (the process died meanwhile) must never keep it waiting.
      }
      answer(id);
      const spent = now() - start;
      stats.notifications++;
      stats.byCall[call ?? String(nr)] = (stats.byCall[call ?? String(nr)] ?? 0) + 1;
      stats.busyMs += spent;
      stats.maxLatencyUs = Math.max(stats.maxLatencyUs, Math.round(spent * 1000));
      o.debug?.(`${call} tid ${tid} ${(spent * 1000).toFixed(0)}us`);
      continue;
    }
    // No process uses the filter any more (the kernel says so from Linux 5.8 on).
    if (lst & POLLHUP) break;
    if (finishing) break;
  }
  for (const pidfd of pidfds.values()) if (pidfd >= 0) calls.close(pidfd);
  return { events, stats };
}
