// --stop-delay auto's eyes: the work still reaching the program after the stop request, read
// from the kernel's own table of TCP sockets (sock_diag, what `ss -ti` shows), never from the
// program. On the program's listening ports, every connection a load balancer opens is a
// new socket (a new cookie), and every request on a kept-alive one moves the socket's
// tcp_info.last_data_recv: the last arrival is known to the millisecond, whatever the
// program's language. Polled while graceful waits, and only then.
//
// A connection that opens, carries its request and closes between two readings leaves
// nothing in the table when its peer closes first (a load balancer that keeps no pool: seen
// behind haproxy with http-server-close, where the watch saw 332 of 1163 requests and a
// stop went out while work still came; docs/deploy.md). Where the network namespace is the
// program's alone (a pod's, a task's: every listening socket in it is the program's or
// graceful's own), the kernel's count of the connections it accepted there (Tcp
// PassiveOpens) less graceful's own (its health endpoint) counts those too.
import { readFileSync, readlinkSync } from 'node:fs';
import { endianness } from 'node:os';
import { loadedLibc } from '../process/ffi.js';
import { socketInodes } from '../process/inspect.js';
import { ownAccepts } from './accepts.js';
import { AF_INET, AF_INET6, TCP_LISTEN, TCP_TIME_WAIT } from '../sockets/kernel.js';

// How often the table is read while graceful waits. A request's time is exact (tcp_info says
// how long ago its data came); a connection opened and closed between two reads is seen by
// the namespace's count of accepted connections where that can be read (above), at the
// reading after it, at most this late.
const POLL_MS = 100;

// The kernel counts last_data_recv in jiffies (1 to 10 ms), and graceful reads its clock a
// moment apart: a later reading of the same data can look a few ms newer. More than this
// is new data, where the kernel does not count data segments (before 4.6).
const RECV_SLACK_MS = 20;

// TCP states (include/net/tcp_states.h): a listening socket is not a connection.
// Every state; without TIME_WAIT where the namespace's count sees closed connections: a
// replica behind a load balancer that keeps no pool holds thousands of them (906 seen in the
// fleet bench), and each reading then moved them all, 32 KB at a time, through the thread pool.
const ALL_STATES = 0xffffffff;
const OPEN_STATES = (ALL_STATES & ~(1 << TCP_TIME_WAIT)) >>> 0;

/** One socket of the table. */
export interface DiagSocket {
  /** The kernel's cookie: one per socket, never reused while it lives. */
  cookie: string;
  state: number;
  localPort: number;
  /** Milliseconds since data last arrived on it (tcp_info), or null where the kernel gave none. */
  lastDataRecvMs: number | null;
  /** Segments with data it received (tcp_info, Linux 4.6+): one per request, mostly; null where not given. */
  dataSegsIn: number | null;
  /** Its inode: what /proc/PID/fd links to (socket:[inode]). */
  inode: number;
}

// Reads a sock_diag dump (netlink messages of struct inet_diag_msg, then its attributes).
export function parseDiag(dump: Buffer, le = endianness() === 'LE'): DiagSocket[] {
  const u16 = (at: number) => (le ? dump.readUInt16LE(at) : dump.readUInt16BE(at));
  const u32 = (at: number) => (le ? dump.readUInt32LE(at) : dump.readUInt32BE(at));
  const out: DiagSocket[] = [];
  for (let at = 0; at + 16 + 72 <= dump.length; ) {
    const len = u32(at);
    if (len < 16) break;
    const msg = at + 16;
    // struct inet_diag_msg: family, state, timer, retrans, then inet_diag_sockid (sport and
    // dport in network order, addresses, interface, cookie), expires, queues, uid, inode.
    const state = dump[msg + 1]!;
    const localPort = dump.readUInt16BE(msg + 4);
    const cookie = `${u32(msg + 44).toString(16)}:${u32(msg + 48).toString(16)}`;
    let lastDataRecvMs: number | null = null;
    let dataSegsIn: number | null = null;
    for (let a = msg + 72; a + 4 <= at + len; ) {
      const alen = u16(a);
      const type = u16(a + 2);
      if (alen < 4) break;
      // INET_DIAG_INFO: struct tcp_info; tcpi_last_data_recv at 52, tcpi_data_segs_in at 152.
      if (type === 2 && alen >= 4 + 56) lastDataRecvMs = u32(a + 4 + 52);
      if (type === 2 && alen >= 4 + 156) dataSegsIn = u32(a + 4 + 152);
      a += (alen + 3) & ~3;
    }
    out.push({ cookie, state, localPort, lastDataRecvMs, dataSegsIn, inode: u32(msg + 68) });
    at += (len + 3) & ~3;
  }
  return out;
}

/** What the watch reports: counts since it began, as the machine's `traffic` event takes them. */
export interface TrafficReading {
  arrivals: number;
  lastArrivalAt: number | null;
  watched: boolean;
  /** When the reading began: the figures cover what came before it. */
  seenUntil: number | null;
}

/** The connections to some ports in some states (a bit mask), for one reading: null where they cannot be read. */
export type ReadConnections = (ports: readonly number[], states: number) => Promise<DiagSocket[] | null>;

// The kernel's table for `ports`, both families, through the FFI (off the loop); null without it.
export async function kernelConnections(ports: readonly number[], states: number = ALL_STATES): Promise<DiagSocket[] | null> {
  const lib = loadedLibc();
  if (!lib) return null;
  const out: DiagSocket[] = [];
  for (const port of ports) {
    const [v4, v6] = await Promise.all([lib.sockDiagTcp(AF_INET, port, states), lib.sockDiagTcp(AF_INET6, port, states)]);
    if (v4 === null) return null;
    out.push(...parseDiag(v4), ...(v6 ? parseDiag(v6) : []));
  }
  return out;
}

// Every listening TCP socket of graceful's network namespace (a small table, where
// /proc/net/tcp lists every connection of the host); null without sock_diag.
async function listeners(): Promise<DiagSocket[] | null> {
  const lib = loadedLibc();
  if (!lib) return null;
  const [v4, v6] = await Promise.all([lib.sockDiagTcp(AF_INET, null, 1 << TCP_LISTEN), lib.sockDiagTcp(AF_INET6, null, 1 << TCP_LISTEN)]);
  if (v4 === null) return null;
  return [...parseDiag(v4), ...(v6 ? parseDiag(v6) : [])].filter((s) => s.state === TCP_LISTEN);
}

/** What the watch can see of the program `pids`: its ports, and whether the namespace is its alone. */
export interface WatchTarget {
  ports: number[];
  /**
   * Every listening socket of the network namespace is the program's or graceful's, and the
   * program shares graceful's namespace: every connection accepted there is the program's
   * work, or graceful's own (its health endpoint, counted apart).
   */
  namespaceIsTheProgramsAlone: boolean;
}

// The program's listening ports, and whether its network namespace holds nothing else that
// listens (a pod's, a task's; not a host's, nor a pod with a sidecar proxy); null without
// sock_diag.
export async function whereToWatch(pids: readonly number[]): Promise<WatchTarget | null> {
  const all = await listeners();
  if (all === null) return null;
  const programs = socketInodes(pids);
  const ports = [...new Set(all.filter((s) => programs.has(s.inode)).map((s) => s.localPort))];
  const own = socketInodes([process.pid]);
  const namespace = (pid: number | 'self') => {
    try {
      return readlinkSync(`/proc/${pid}/ns/net`);
    } catch {
      return null;
    }
  };
  const mine = namespace('self');
  const shared = mine !== null && pids.every((pid) => namespace(pid) === mine);
  return { ports, namespaceIsTheProgramsAlone: shared && ports.length > 0 && all.every((s) => programs.has(s.inode) || own.has(s.inode)) };
}

// The connections accepted so far in graceful's network namespace that were not graceful's
// own: the kernel's Tcp PassiveOpens (IPv4 and IPv6 alike, /proc/self/net/snmp) less what
// graceful's listeners accepted (probes/accepts.ts); null where it cannot be read.
export function acceptedInNamespace(snmp: () => string = () => readFileSync('/proc/self/net/snmp', 'utf8')): number | null {
  let text: string;
  try {
    text = snmp();
  } catch {
    return null;
  }
  const own = ownAccepts.count;
  const [names, values] = text.split('\n').filter((l) => l.startsWith('Tcp:'));
  if (!names || !values) return null;
  const at = names.trim().split(/\s+/).indexOf('PassiveOpens');
  const value = Number(values.trim().split(/\s+/)[at]);
  return at < 0 || !Number.isFinite(value) ? null : value - own;
}

// Which of `ports` some socket still listens on, from the kernel's table of listening
// sockets only (cheap, where /proc/net/tcp lists every connection of the host: 130,000 lines
// seen here); null without sock_diag.
export async function listeningPorts(ports: readonly number[]): Promise<number[] | null> {
  const lib = loadedLibc();
  if (!lib) return null;
  const out: number[] = [];
  for (const port of ports) {
    const [v4, v6] = await Promise.all([lib.sockDiagTcp(AF_INET, port, 1 << TCP_LISTEN), lib.sockDiagTcp(AF_INET6, port, 1 << TCP_LISTEN)]);
    if (v4 === null) return null;
    if ([...parseDiag(v4), ...(v6 ? parseDiag(v6) : [])].some((s) => s.state === TCP_LISTEN && s.localPort === port)) out.push(port);
  }
  return out;
}

// Watches the connections to `ports` from `since` (the stop request, on `now`'s clock):
// `report` gets every reading, the first when the watch begins (the machine waits for one
// that covers the quiet window before it calls it quiet). Stopped by the function it returns. `accepted`, where the namespace is the program's alone
// (whereToWatch): the connections accepted in it so far that were not graceful's
// (acceptedInNamespace), to count those that came and went between two readings.
export function watchTraffic(
  ports: readonly number[],
  since: number,
  now: () => number,
  report: (reading: TrafficReading) => void,
  read: ReadConnections = kernelConnections,
  accepted: (() => number | null) | null = null,
): () => void {
  let stopped = false;
  const mine = (s: DiagSocket) => s.state !== TCP_LISTEN && ports.includes(s.localPort);
  // Each known connection: when its data last came (on the watch's clock) and how many data
  // segments it had. The ones already open at the request are not arrivals; their requests
  // since it are.
  const seen = new Map<string, { recvAt: number | null; segs: number | null }>();
  let arrivals = 0;
  let lastArrivalAt: number | null = null;
  // Work from before the request is not an arrival (a connection first seen now may carry
  // an old request's time); the kernel's jiffies and this clock may differ by a few ms.
  const arrived = (count: number, at: number) => {
    if (at < since - RECV_SLACK_MS) return;
    arrivals += count;
    const when = Math.max(since, at);
    if (lastArrivalAt === null || when > lastArrivalAt) lastArrivalAt = when;
  };
  // The namespace's count of accepted connections, read just before each dump of the table:
  // every connection it counts was accepted before the dump, so the table shows it as new
  // unless it came and went since the previous reading. `balance` carries the connections
  // the table showed before the count had them (accepted between the count and the dump).
  let acceptedBefore: number | null = null;
  let balance = 0;
  const watch = async () => {
    const began = now();
    acceptedBefore = ports.length > 0 ? (accepted?.() ?? null) : null;
    // With the count, a connection closed by either side is in it: no need for TIME_WAIT.
    const states = acceptedBefore === null ? ALL_STATES : OPEN_STATES;
    const first = ports.length > 0 ? await read(ports, states) : null;
    if (stopped) return;
    if (first === null) return report({ arrivals: 0, lastArrivalAt: null, watched: false, seenUntil: null });
    const t0 = now();
    for (const s of first.filter(mine)) {
      const recvAt = s.lastDataRecvMs === null ? null : t0 - s.lastDataRecvMs;
      seen.set(s.cookie, { recvAt, segs: s.dataSegsIn });
      // The dump was made between `began` and t0: data surely after the request is an
      // arrival (dated at the later bound); data that may be older is not (a reading back
      // late would make every connection used just before the request an arrival).
      if (s.lastDataRecvMs !== null && began - s.lastDataRecvMs > since + RECV_SLACK_MS) arrived(1, recvAt!);
    }
    report({ arrivals, lastArrivalAt, watched: true, seenUntil: began });
    while (!stopped) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      if (stopped) return;
      const from = now();
      const count = acceptedBefore === null ? null : (accepted?.() ?? null);
      const table = await read(ports, states);
      // The kernel's "ms ago" are as of the dump, read just now.
      const t = now();
      if (stopped || table === null) continue;
      let fresh = 0;
      for (const s of table.filter(mine)) {
        const recvAt = s.lastDataRecvMs === null ? null : t - s.lastDataRecvMs;
        const known = seen.get(s.cookie);
        if (!known) {
          // A new connection: as many arrivals as the requests it brought (one at least),
          // when its last data came, or now.
          arrived(Math.max(1, s.dataSegsIn ?? 1), recvAt ?? t);
          fresh++;
        } else if (s.dataSegsIn !== null && known.segs !== null) {
          // More data on a known one: its requests since the last reading, told by the count of
          // data segments. Not by last_data_recv: "ms ago" as of the dump, made a time on this
          // clock once the reading is back, moves forward by however late the reading came
          // back (450 ms at a load of 24 on 2 cores: every idle connection looked busy).
          if (s.dataSegsIn > known.segs && recvAt !== null) arrived(s.dataSegsIn - known.segs, recvAt);
        } else if (recvAt !== null && (known.recvAt === null || recvAt > known.recvAt + RECV_SLACK_MS)) {
          // A kernel before 4.6 (no count of data segments): the time moved, one request.
          arrived(1, recvAt);
        }
        seen.set(s.cookie, { recvAt: recvAt ?? known?.recvAt ?? null, segs: s.dataSegsIn ?? known?.segs ?? null });
      }
      if (count !== null && acceptedBefore !== null) {
        // Accepted since the last reading, less the new connections the table showed: those
        // that came and went unseen, each one an arrival since the last reading (dated now,
        // at most POLL_MS late).
        balance += count - acceptedBefore - fresh;
        if (balance > 0) {
          arrived(balance, t);
          balance = 0;
        }
        acceptedBefore = count;
      }
      report({ arrivals, lastArrivalAt, watched: true, seenUntil: from });
    }
  };
  // A reading that throws ends the watch, never graceful: the machine falls back to the floor.
  watch().catch(() => {
    if (!stopped) report({ arrivals, lastArrivalAt, watched: false, seenUntil: null });
  });
  return () => {
    stopped = true;
  };
}
