// PURE: what the audit's receiver recorded (shell/audit/receiver.ts, in order) -> one
// AuditedProcess per process of the tree.
import type { AuditedProcess, OutboundConnection, RawEvent, SocketProto } from './types.js';

// Connections in the sense of connections-closed: a stream to a peer. A connect() on a UDP
// or Unix datagram socket (a DNS query, syslog) only sets a default address.
const STREAM: readonly SocketProto[] = ['tcp', 'tcp6', 'unix-stream', 'unix-seqpacket'];

// `running(pid)`: is the process still alive now (the audit ended before it)?
export function assemble(events: readonly RawEvent[], running: (pid: number) => boolean): AuditedProcess[] {
  const byPid = new Map<number, AuditedProcess>();
  const get = (pid: number, t: number): AuditedProcess => {
    let p = byPid.get(pid);
    if (!p) {
      p = { pid, ppid: null, argv: [], firstSeenAt: t, outbound: [], listeners: [], inboundAtStop: null, exit: null, endedBy: 'still-running' };
      byPid.set(pid, p);
    }
    return p;
  };
  const closedWith = new Map<OutboundConnection, Seen | null>();
  for (const ev of events) {
    switch (ev.e) {
      case 'process': {
        const p = get(ev.pid, ev.t);
        p.ppid = ev.ppid || null;
        p.argv = ev.argv;
        break;
      }
      case 'connect': {
        if (ev.inode === null || ev.peer === null || !STREAM.includes(ev.proto)) break;
        get(ev.pid, ev.t).outbound.push({
          inode: ev.inode,
          proto: ev.proto,
          peer: ev.peer,
          local: null,
          tid: ev.tid,
          fd: ev.fd,
          openedAt: ev.t,
          end: 'unknown',
          releasedAt: null,
          stateAtEnd: null,
        });
        break;
      }
      case 'listen': {
        if (ev.inode === null) break;
        get(ev.pid, ev.t).listeners.push({ inode: ev.inode, proto: ev.proto, local: null, listenedAt: ev.t, closedAt: null });
        break;
      }
      case 'close':
      case 'shutdown': {
        const p = get(ev.pid, ev.t);
        // SHUT_RD (0) leaves the program's side open for writing: not a release.
        const releases = ev.e === 'close' || ev.how !== 0;
        const c = latest(p.outbound, ev.inode);
        if (c && c.releasedAt === null && releases) {
          c.releasedAt = ev.t;
          c.end = ev.e === 'shutdown' ? 'shutdown' : 'closed';
          // (A close seen by looking, close not trapped, comes without the socket's last state.)
          if (ev.socket) {
            c.stateAtEnd = ev.socket.state;
            closedWith.set(c, ev.socket);
            if (!ev.socket.proto.startsWith('unix')) c.local ??= ev.socket.local;
          }
        }
        const l = p.listeners.find((x) => x.inode === ev.inode && x.closedAt === null);
        if (l && releases) {
          l.closedAt = ev.t;
          l.local ??= ev.socket?.local ?? null;
        }
        const i = p.inboundAtStop?.find((x) => x.inode === ev.inode && x.closedAt === null);
        if (i) i.closedAt = ev.t;
        break;
      }
      case 'stop': {
        const p = get(ev.pid, ev.t);
        p.inboundAtStop = ev.inbound.map((x) => ({ ...x, closedAt: null }));
        for (const o of ev.outbound) {
          const c = latest(p.outbound, o.inode);
          if (!c) continue;
          c.local ??= o.local;
          // Open at the stop, in TCP_CLOSE without a byte ever received: a connect that failed.
          if (o.state === 'close' && o.bytesReceived === 0) closedWith.set(c, { peer: null, state: 'close', bytesReceived: 0 });
        }
        // Connected before the stop and gone by then: the program closed it, at a moment not
        // seen (close not trapped); before the stop, which is all the checks need.
        const open = new Set(ev.outbound.map((o) => o.inode));
        for (const c of p.outbound) {
          if (c.end === 'unknown' && c.releasedAt === null && !open.has(c.inode) && c.openedAt <= ev.t) {
            c.end = 'closed';
            c.releasedAt = ev.t;
          }
        }
        for (const l of ev.listening) {
          const known = p.listeners.find((x) => x.inode === l.inode);
          if (known) known.local ??= l.local;
          // Listening sockets it inherited (a cluster worker's, a socket graceful passed): listened before the audit saw it.
          else p.listeners.push({ inode: l.inode, proto: 'other', local: l.local, listenedAt: ev.t, closedAt: null });
        }
        break;
      }
      case 'exit': {
        const p = get(ev.pid, ev.t);
        p.exit = { at: ev.t, code: ev.code, open: ev.open };
        p.endedBy = 'exit';
        if (ev.argv.length > 0) p.argv = ev.argv;
        const open = new Map(ev.open.flatMap((o) => (o.socket ? [[o.socket.inode, o.socket] as const] : [])));
        for (const c of p.outbound) {
          const still = open.get(c.inode);
          // Still open at exit, closed or not before (a close of one of two descriptors of it
          // does not close it): the kernel closed it.
          if (still) {
            if (c.end !== 'shutdown') {
              // Its side already sent its FIN (a shutdown the audit did not see: SHUT_WR through
              // another descriptor, or a call withdrawn and restarted): the program ended it, when
              // is not known; the kernel only frees it. Bad twins exit ESTABLISHED.
              c.end = still.state === 'close-wait' ? 'peer' : still.state !== null && FIN_SENT.has(still.state) ? 'shutdown' : 'kernel';
              c.releasedAt = null;
            }
            c.stateAtEnd = still.state ?? c.stateAtEnd;
            closedWith.set(c, still);
            c.local ??= still.local;
          }
        }
        for (const l of p.listeners) if (l.closedAt === null) l.local ??= open.get(l.inode)?.local ?? null;
        break;
      }
    }
  }
  for (const p of byPid.values()) {
    // A connect() that never connected (refused, or to a socket path that is not there, as
    // glibc's resolver tries nscd's) is no connection: the socket shows no peer when closed.
    p.outbound = p.outbound.filter((c) => !neverConnected(c, closedWith.get(c)));
    if (p.endedBy === 'exit') continue;
    p.endedBy = running(p.pid) ? 'still-running' : 'signal-or-unseen';
    for (const c of p.outbound) if (c.end === 'unknown' && c.releasedAt === null) c.end = p.endedBy === 'still-running' ? 'unknown' : 'died';
  }
  return [...byPid.values()].sort((a, b) => a.firstSeenAt - b.firstSeenAt);
}

// Did the connect() never connect? TCP: still connecting when let go of, or closed without
// ever receiving a byte (refused: a reset; a connection that completed and was closed, by
// either side, received the server's bytes). Unix: no peer (a stream socket keeps its peer's
// name once connected, even after the peer is gone).
function neverConnected(c: OutboundConnection, seen: Seen | null | undefined): boolean {
  if (!seen) return false; // not looked at: counted
  if (c.proto === 'tcp' || c.proto === 'tcp6') return seen.state === 'syn-sent' || (seen.state === 'close' && seen.bytesReceived === 0);
  return seen.peer === null;
}
type Seen = { peer: string | null; state: string | null; bytesReceived?: number | null };

// TCP states in which this side has sent its FIN (tcp_states.h): the program shut it down.
const FIN_SENT: ReadonlySet<string> = new Set(['fin-wait1', 'fin-wait2', 'closing', 'last-ack', 'time-wait']);

// The last connection of `inode` (inode numbers are not reused while a socket lives).
function latest(cs: OutboundConnection[], inode: number): OutboundConnection | undefined {
  for (let i = cs.length - 1; i >= 0; i--) if (cs[i]!.inode === inode) return cs[i];
  return undefined;
}
