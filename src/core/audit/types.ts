// What the audit saw, per process of the program's tree: the shape the judge reads. Pure
// types (no import): graceful check's judge (src/core) may import them as they are.
// Times are milliseconds on the system's monotonic clock (process.hrtime), the one
// graceful's own facts use.

/** How a socket looks in /proc/net/{tcp,tcp6,unix}. */
export type SocketProto = 'tcp' | 'tcp6' | 'udp' | 'udp6' | 'unix-stream' | 'unix-dgram' | 'unix-seqpacket' | 'other';

/** A TCP state as /proc/net/tcp numbers it (include/net/tcp_states.h), in words. */
export type TcpState =
  | 'established'
  | 'syn-sent'
  | 'syn-recv'
  | 'fin-wait1'
  | 'fin-wait2'
  | 'time-wait'
  | 'close'
  | 'close-wait'
  | 'last-ack'
  | 'listen'
  | 'closing'
  | 'unknown';

/** A connection the process opened itself (a connect() call), from its call to its end. */
export interface OutboundConnection {
  /** The socket's inode (socket:[N]): unique among the sockets alive at one time. */
  inode: number;
  proto: SocketProto;
  /** The address the program asked for: "127.0.0.1:5432", "[::1]:6379", a Unix path ("@name": abstract). */
  peer: string;
  /** The local address, once known (at its close or at exit); null for a Unix socket. */
  local: string | null;
  /** The thread that called connect(), and when. */
  tid: number;
  fd: number;
  openedAt: number;
  /**
   * How it ended, from the program's side:
   * - closed: the program closed its last descriptor of it (close());
   * - shutdown: the program shut it down (shutdown(SHUT_WR or SHUT_RDWR)) and then closed it or exited;
   *   also a socket open at exit whose side had already sent its FIN (FIN_WAIT1/2, CLOSING,
   *   LAST_ACK, TIME_WAIT), the shutdown itself unseen (releasedAt null);
   * - peer: still open when the process exited, but the peer had closed it first (CLOSE_WAIT:
   *   it answered the program's goodbye, or timed it out): the kernel's close loses nothing;
   * - kernel: still open, and open at the peer, when the process exited (exit_group): the
   *   kernel closed it, the peer saw the client vanish;
   * - died: still open when the process died of a signal (no exit_group): the kernel closed it;
   * - unknown: the audit ended before the process (graceful check stopped watching).
   */
  end: 'closed' | 'shutdown' | 'peer' | 'kernel' | 'died' | 'unknown';
  /** When the program closed or shut it down; null when it did not. */
  releasedAt: number | null;
  /** Its TCP state when the program let it go or when the process exited (close-wait: the peer had closed it first). */
  stateAtEnd: TcpState | null;
}

/** A socket the process listened on (a listen() call). */
export interface Listener {
  inode: number;
  proto: SocketProto;
  /** "0.0.0.0:8080", "[::]:8080", a Unix path; null if it could not be read. */
  local: string | null;
  listenedAt: number;
  /** When the process closed (or shut down) its last descriptor of it; null: open at exit (closed by the kernel). */
  closedAt: number | null;
}

/** A connection accepted from a listener, seen open when the stop began (graceful check's snapshot). */
export interface InboundAtStop {
  inode: number;
  local: string;
  peer: string;
  /** When the program closed it; null: open when the process exited (cut by the kernel) or died. */
  closedAt: number | null;
}

/** A socket or file still open when the process exited, as /proc showed it at exit_group. */
export interface OpenAtExit {
  fd: number;
  /** For a socket. */
  socket: { inode: number; proto: SocketProto; local: string | null; peer: string | null; state: TcpState | null; bytesReceived?: number | null; peerSpokeLast?: boolean | null } | null;
  /** For a regular file open for writing (O_WRONLY or O_RDWR): its path (" (deleted)" kept). */
  file: string | null;
}

/** One process of the tree, as the audit saw it. */
export interface AuditedProcess {
  pid: number;
  /** Its parent when the audit first saw it (the launcher, the cluster's primary). */
  ppid: number | null;
  /** Its command line, as /proc/PID/cmdline read at its exit (else when first seen). */
  argv: string[];
  firstSeenAt: number;
  /** Connections it opened itself, in the order of its connect() calls. */
  outbound: OutboundConnection[];
  listeners: Listener[];
  /** Accepted connections open at the stop (filled only when graceful check took its stop snapshot). */
  inboundAtStop: InboundAtStop[] | null;
  /**
   * Its exit through exit_group: when, with which code, and what was still open then (the
   * kernel closed it, not the program). Null: it died of a signal (no exit_group), or the
   * audit ended first; `endedBy` says which.
   */
  exit: { at: number; code: number; open: OpenAtExit[] } | null;
  endedBy: 'exit' | 'signal-or-unseen' | 'still-running';
}

/** One socket, as a copy of its descriptor shows it (shell/audit/sockets.ts). */
export interface SocketInfo {
  proto: SocketProto;
  local: string | null;
  peer: string | null;
  /** TCP only. */
  state: TcpState | null;
  /** TCP only: bytes received over its life (tcpi_bytes_received, Linux 4.1+); null where unknown. */
  bytesReceived: number | null;
  /**
   * TCP only: the peer sent the last data, and has every byte the program sent (an idle
   * connection: no request of the program's is waiting for an answer); null where unknown.
   */
  peerSpokeLast: boolean | null;
  listening: boolean;
}

/** What the receiver recorded, in the order it happened. Times: monotonic ms. */
export type RawEvent =
  /** A process seen for the first time (at its first trapped call). */
  | { e: 'process'; t: number; pid: number; ppid: number; argv: string[] }
  | { e: 'connect'; t: number; pid: number; tid: number; fd: number; inode: number | null; proto: SocketProto; peer: string | null }
  | { e: 'listen'; t: number; pid: number; tid: number; fd: number; inode: number | null; proto: SocketProto }
  /** A socket descriptor closed (or shut down) by the process; `socket`: what it was just before, for sockets the audit follows. */
  | { e: 'close' | 'shutdown'; t: number; pid: number; tid: number; fd: number; inode: number; how?: number; socket: SocketInfo | null }
  | { e: 'exit'; t: number; pid: number; tid: number; code: number; argv: string[]; open: OpenAtExit[] }
  /** graceful check's snapshot just before the stop: per process, its listening, accepted and outbound sockets. */
  | {
      e: 'stop';
      t: number;
      pid: number;
      listening: { inode: number; local: string | null }[];
      inbound: { inode: number; local: string; peer: string }[];
      outbound: { inode: number; local: string | null; state: TcpState | null; bytesReceived: number | null }[];
    };

export interface ReceiverStats {
  notifications: number;
  byCall: Record<string, number>;
  /** Time spent between reading a notification and answering it: in total (ms), and at most (µs). */
  busyMs: number;
  maxLatencyUs: number;
}

/** The audit of one run. */
export interface AuditReport {
  /** Null when it ran; else the one-line reason it did not (the program then ran unaudited). */
  refused: string | null;
  /** The system calls that were trapped. */
  trapped: string[];
  processes: AuditedProcess[];
  /** What the audit itself cost, from its side. */
  stats: { notifications: number; byCall: Record<string, number>; busyMs: number; maxLatencyUs: number | null };
}
