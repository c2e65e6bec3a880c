// One socket of an audited process, asked of the socket itself: graceful takes a copy of the
// descriptor (pidfd_getfd), reads its family, type, addresses and TCP state, and closes the
// copy at once, before the process's call goes on (a copy left open would keep the
// connection open past the program's own close). Measured: /proc/PID/net/tcp is read in
// full for any one socket, 80 ms on a host with 5,000 sockets (docs/audit-notes.md); this
// costs a few system calls per socket, whatever the host.
import { endianness } from 'node:os';
import type { AuditCalls } from './calls.js';
import type { SocketProto, TcpState } from './types.js';

const LE = endianness() === 'LE';

export interface SocketInfo {
  proto: SocketProto;
  local: string | null;
  peer: string | null;
  /** TCP only. */
  state: TcpState | null;
  /** TCP only: bytes received over its life (tcpi_bytes_received, Linux 4.1+); null where unknown. */
  bytesReceived: number | null;
  listening: boolean;
}

const SOL_SOCKET = 1;
const SO_TYPE = 3;
const SO_ACCEPTCONN = 30;
const SO_PROTOCOL = 38;
const SO_DOMAIN = 39;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const TCP_INFO = 11;
const TCPI_BYTES_RECEIVED = 128;
const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_SEQPACKET = 5;

// include/net/tcp_states.h, from 1.
const TCP_STATES: TcpState[] = ['unknown', 'established', 'syn-sent', 'syn-recv', 'fin-wait1', 'fin-wait2', 'time-wait', 'close', 'close-wait', 'last-ack', 'listen', 'closing'];

// What socket `fd` of the process behind `pidfd` is; null if graceful cannot take a copy.
export function socketInfo(calls: AuditCalls, pidfd: number, fd: number): SocketInfo | null {
  const copy = calls.pidfdGetfd(pidfd, fd);
  if (copy < 0) return null;
  try {
    const int = Buffer.alloc(4);
    const opt = (level: number, name: number) => (calls.getsockopt(copy, level, name, int) >= 4 ? int.readInt32LE(0) : -1);
    const domain = opt(SOL_SOCKET, SO_DOMAIN);
    const type = opt(SOL_SOCKET, SO_TYPE);
    const protocol = opt(SOL_SOCKET, SO_PROTOCOL);
    const listening = opt(SOL_SOCKET, SO_ACCEPTCONN) === 1;
    const addr = Buffer.alloc(128);
    const name = (peer: boolean) => {
      const n = calls.sockname(copy, addr, peer);
      return n > 0 ? decodeSockaddr(addr, n) : null;
    };
    const inet = domain === AF_INET || domain === AF_INET6;
    const v6 = domain === AF_INET6 ? '6' : '';
    const proto: SocketProto =
      domain === AF_UNIX
        ? type === SOCK_STREAM
          ? 'unix-stream'
          : type === SOCK_DGRAM
            ? 'unix-dgram'
            : type === SOCK_SEQPACKET
              ? 'unix-seqpacket'
              : 'other'
        : inet && protocol === IPPROTO_TCP
          ? (`tcp${v6}` as SocketProto)
          : inet && protocol === IPPROTO_UDP
            ? (`udp${v6}` as SocketProto)
            : 'other';
    let state: TcpState | null = null;
    let bytesReceived: number | null = null;
    if (proto === 'tcp' || proto === 'tcp6') {
      // struct tcp_info: tcpi_state (u8) first; tcpi_bytes_received (u64) at offset 128.
      const info = Buffer.alloc(TCPI_BYTES_RECEIVED + 8);
      const n = calls.getsockopt(copy, IPPROTO_TCP, TCP_INFO, info);
      if (n >= 1) state = TCP_STATES[info[0]!] ?? 'unknown';
      if (n >= TCPI_BYTES_RECEIVED + 8) bytesReceived = Number(LE ? info.readBigUInt64LE(TCPI_BYTES_RECEIVED) : info.readBigUInt64BE(TCPI_BYTES_RECEIVED));
    }
    return { proto, local: name(false), peer: listening ? null : name(true), state, bytesReceived, listening };
  } finally {
    calls.close(copy);
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
