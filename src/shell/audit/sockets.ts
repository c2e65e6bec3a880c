// One socket of an audited process, asked of the socket itself: graceful takes a copy of the
// descriptor (pidfd_getfd), reads its family, type, addresses and TCP state, and closes the
// copy at once, before the process's call goes on (a copy left open would keep the
// connection open past the program's own close). Measured: /proc/PID/net/tcp is read in
// full for any one socket, 80 ms on a host with 5,000 sockets (docs/audit-notes.md); this
// costs a few system calls per socket, whatever the host.
import { endianness } from 'node:os';
import type { AuditCalls } from './calls.js';
import type { SocketInfo, SocketProto, TcpState } from '../../core/audit/types.js';
import { AF_INET, AF_INET6, AF_UNIX } from '../sockets/kernel.js';

const LE = endianness() === 'LE';

const SOL_SOCKET = 1;
const SO_TYPE = 3;
const SO_ACCEPTCONN = 30;
const IPPROTO_TCP = 6;
const TCP_INFO = 11;
const TCPI_BYTES_RECEIVED = 128;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_SEQPACKET = 5;

// include/net/tcp_states.h, from 1.
const TCP_STATES: TcpState[] = ['unknown', 'established', 'syn-sent', 'syn-recv', 'fin-wait1', 'fin-wait2', 'time-wait', 'close', 'close-wait', 'last-ack', 'listen', 'closing'];

// Buffers reused from call to call (the receiver handles one notification at a time).
const INT = Buffer.alloc(4);
const ADDR = Buffer.alloc(128);
const TCP_INFO_BUF = Buffer.alloc(TCPI_BYTES_RECEIVED + 8);

// What socket `fd` of the process behind `pidfd` is; null if graceful cannot take a copy.
// Six calls for a TCP socket: the copy, its name (the family with it), its type, TCP_INFO
// (the state, LISTEN included), its peer's name, the copy's close.
export function socketInfo(calls: AuditCalls, pidfd: number, fd: number): SocketInfo | null {
  const copy = calls.pidfdGetfd(pidfd, fd);
  if (copy < 0) return null;
  try {
    const opt = (level: number, name: number) => (calls.getsockopt(copy, level, name, INT) >= 4 ? INT.readInt32LE(0) : -1);
    const named = calls.sockname(copy, ADDR, false);
    const family = named >= 2 ? (LE ? ADDR.readUInt16LE(0) : ADDR.readUInt16BE(0)) : -1;
    const local = named > 0 ? decodeSockaddr(ADDR, named) : null;
    const type = opt(SOL_SOCKET, SO_TYPE);
    const inet = family === AF_INET || family === AF_INET6;
    const v6 = family === AF_INET6 ? '6' : '';
    let proto: SocketProto = 'other';
    if (family === AF_UNIX) proto = type === SOCK_STREAM ? 'unix-stream' : type === SOCK_DGRAM ? 'unix-dgram' : type === SOCK_SEQPACKET ? 'unix-seqpacket' : 'other';
    // An Internet stream socket is TCP (SO_PROTOCOL would tell SCTP or MPTCP apart: rare enough to count them as TCP).
    else if (inet) proto = type === SOCK_STREAM ? (`tcp${v6}` as SocketProto) : type === SOCK_DGRAM ? (`udp${v6}` as SocketProto) : 'other';
    let state: TcpState | null = null;
    let bytesReceived: number | null = null;
    let peerSpokeLast: boolean | null = null;
    let listening = false;
    if (proto === 'tcp' || proto === 'tcp6') {
      // struct tcp_info: tcpi_state (u8) first; tcpi_bytes_received (u64) at offset 128.
      const n = calls.getsockopt(copy, IPPROTO_TCP, TCP_INFO, TCP_INFO_BUF);
      if (n >= 1) state = TCP_STATES[TCP_INFO_BUF[0]!] ?? 'unknown';
      if (n >= TCPI_BYTES_RECEIVED + 8) bytesReceived = Number(LE ? TCP_INFO_BUF.readBigUInt64LE(TCPI_BYTES_RECEIVED) : TCP_INFO_BUF.readBigUInt64BE(TCPI_BYTES_RECEIVED));
      // tcpi_unacked (segments sent and not yet acknowledged) at 24; tcpi_last_data_sent and
      // tcpi_last_data_recv (milliseconds ago) at 44 and 52. The peer spoke last, and has all
      // the program sent: nothing of the program's is waiting for an answer.
      if (n >= 56) {
        const u32 = (at: number) => (LE ? TCP_INFO_BUF.readUInt32LE(at) : TCP_INFO_BUF.readUInt32BE(at));
        peerSpokeLast = bytesReceived !== 0 && u32(24) === 0 && u32(52) <= u32(44);
      }
      listening = state === 'listen';
    } else if (proto.startsWith('unix')) listening = opt(SOL_SOCKET, SO_ACCEPTCONN) === 1;
    let peer: string | null = null;
    if (!listening) {
      const n = calls.sockname(copy, ADDR, true);
      peer = n > 0 ? decodeSockaddr(ADDR, n) : null;
    }
    return { proto, local, peer, state, bytesReceived, peerSpokeLast, listening };
  } finally {
    calls.close(copy);
  }
}

// The protocol sockfs names a socket by (the system.sockprotoname attribute of
// /proc/TID/fd/N: one call, no copy of the descriptor), as SocketProto; null if unreadable.
export function protoByName(name: string | null): SocketProto | null {
  switch (name) {
    case null:
      return null;
    case 'TCP':
    case 'MPTCP':
      return 'tcp';
    case 'TCPv6':
      return 'tcp6';
    case 'UDP':
      return 'udp';
    case 'UDPv6':
      return 'udp6';
    case 'UNIX-STREAM':
      return 'unix-stream';
    case 'UNIX-DGRAM':
      return 'unix-dgram';
    case 'UNIX-SEQPACKET':
      return 'unix-seqpacket';
    default:
      // "UNIX" for any Unix socket before Linux 5.15: its type is not in the name.
      return name === 'UNIX' ? null : 'other';
  }
}

// struct sockaddr -> "127.0.0.1:5432", "[::1]:6379", "/run/x.sock", "@abstract"; null for
// another family, or an unnamed Unix socket.
export function decodeSockaddr(buf: Buffer, len: number): string | null {
  if (len < 2) return null;
  const family = LE ? buf.readUInt16LE(0) : buf.readUInt16BE(0);
  if (family === AF_INET && len >= 8) return `${[...buf.subarray(4, 8)].join('.')}:${buf.readUInt16BE(2)}`;
  if (family === AF_INET6 && len >= 24) {
    const bytes = [...buf.subarray(8, 24)];
    const port = buf.readUInt16BE(2);
    // An IPv4-mapped address (::ffff:a.b.c.d) as IPv4: what the program asked for.
    if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return `${bytes.slice(12).join('.')}:${port}`;
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
    return `[${compress(groups)}]:${port}`;
  }
  if (family === AF_UNIX) {
    if (len <= 2) return null;
    const path = buf.subarray(2, len);
    if (path[0] === 0) return `@${path.subarray(1).toString('latin1').replace(/\0+$/, '')}`;
    const end = path.indexOf(0);
    return path.subarray(0, end < 0 ? path.length : end).toString('latin1') || null;
  }
  return null;
}

// The shortest form of an IPv6 address: the longest run of two or more zero groups as "::".
export function compress(groups: string[]): string {
  let best = -1;
  let len = 0;
  for (let i = 0; i < groups.length; ) {
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > len && j - i > 1) [best, len] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + len).join(':')}`;
}
