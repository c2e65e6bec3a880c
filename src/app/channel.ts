// The program's end of graceful's channel (docs/app-protocol.md): the descriptor named in
// GRACEFUL_STATUS_FD, a Unix stream socket graceful made for it. Phases go out as JSON
// lines; deadlines come in the same way. Node has no Unix datagram sockets (dgram takes
// udp4 and udp6 only), so sd_notify's NOTIFY_SOCKET cannot be written from plain Node; a
// descriptor inherited from graceful can, with net.Socket.
import { fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Channel } from './lifecycle.js';
import { encode, parseDeadline, STATUS_FD_VAR } from './protocol.js';

// graceful's messages are a few dozen bytes; a line longer than this is not one of them.
const MAX_LINE = 64 * 1024;

// Opens the channel named in the environment: the channel, null when there is none, or
// why the variable cannot be used.
export function openChannel(env: NodeJS.ProcessEnv, now: () => number): Channel | null | string {
  const text = env[STATUS_FD_VAR];
  if (text === undefined || text === '') return null;
  const fd = /^\d+$/.test(text) ? Number(text) : NaN;
  // 0 to 2 are stdio: graceful never names them, and writing phases into stdout would corrupt it.
  if (!(fd >= 3)) return `${STATUS_FD_VAR}=${JSON.stringify(text)} is not a descriptor number from 3 up`;
  let duplex: boolean;
  try {
    const stat = fstatSync(fd);
    if (!stat.isSocket() && !stat.isFIFO()) return `${STATUS_FD_VAR}=${text}: descriptor ${fd} is not a socket or a pipe`;
    duplex = stat.isSocket();
  } catch {
    return `${STATUS_FD_VAR}=${text}: descriptor ${fd} is not open`;
  }
  // net.Socket makes the descriptor non-blocking (a full buffer never blocks the program)
  // and close-on-exec (the program's own children do not inherit it). unref(): the channel
  // never keeps the program alive.
  const socket = new Socket({ fd, readable: duplex, writable: true });
  socket.unref();
  let alive = true;
  socket.on('error', () => (alive = false));
  socket.on('close', () => (alive = false));
  let last: { ms: number; at: number } | null = null;
  if (duplex) {
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
        const ms = parseDeadline(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
        if (ms !== null) last = { ms, at: now() };
      }
      if (buffer.length > MAX_LINE) buffer = '';
    });
  }
  return {
    // A write goes out at once when the socket has room (libuv tries it synchronously), so
    // the last phase is sent before process.exit().
    send(phase) {
      if (alive) socket.write(encode(phase));
    },
    deadline: () => last,
  };
}
