// The program's end of graceful's channel (docs/app-protocol.md): a Unix stream socket
// that graceful listens on, its path in GRACEFUL_STATUS_SOCKET. Phases go out as JSON
// lines; deadlines come back the same way.
//
// Why a path and not an inherited descriptor: Node marks every descriptor it inherits
// close-on-exec as it starts, so a descriptor does not survive a Node process between
// graceful and the program (`graceful run -- npm start`: the program's descriptor 3 is
// then its own epoll), while the environment does. And why not sd_notify's NOTIFY_SOCKET:
// that is a datagram socket, and Node has none for Unix paths (dgram takes udp4 and udp6).
import { connect } from 'node:net';
import type { Channel } from './lifecycle.js';
import { encode, parseDeadline, STATUS_SOCKET_VAR, type Phase } from './protocol.js';

// graceful's messages are a few dozen bytes; a line longer than this is not one of them.
const MAX_LINE = 64 * 1024;

// Connects to the socket named in the environment: the channel, null when there is none,
// or why the variable cannot be used. `lost` says why the channel failed, later.
export function connectChannel(env: NodeJS.ProcessEnv, now: () => number, lost: (why: string) => void): Channel | null | string {
  const path = env[STATUS_SOCKET_VAR];
  if (path === undefined || path === '') return null;
  if (!path.startsWith('/')) return `${STATUS_SOCKET_VAR}=${JSON.stringify(path)} is not an absolute path`;
  const socket = connect(path);
  // unref(): the channel never keeps the program alive.
  socket.unref();
  let state: 'connecting' | 'open' | 'lost' = 'connecting';
  // Sent before the connection was made: handed back if it never is, to be logged instead.
  let unconfirmed: Phase[] = [];
  let onLost: (missed: Phase[]) => void = () => undefined;
  socket.once('connect', () => {
    state = 'open';
    unconfirmed = [];
  });
  const fail = (why: string) => {
    if (state === 'lost') return;
    state = 'lost';
    lost(why);
    onLost(unconfirmed.splice(0));
  };
  socket.on('error', (e: NodeJS.ErrnoException) => fail(`${STATUS_SOCKET_VAR}=${path}: ${e.code ?? e.message}`));
  socket.on('close', () => fail(`${STATUS_SOCKET_VAR}=${path}: graceful closed the channel`));
  // (close() below sets 'lost' first: the program ending the channel is no failure.)
  let last: { ms: number; at: number } | null = null;
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
  return {
    // A write on a connected socket goes out at once when there is room (libuv tries it
    // synchronously), so the last phase is sent before process.exit().
    send(phase) {
      if (state === 'lost') return false;
      if (state === 'connecting') unconfirmed.push(phase);
      socket.write(encode(phase));
      return true;
    },
    deadline: () => last,
    onLost(handler) {
      onLost = handler;
    },
    close() {
      state = 'lost';
      onLost = () => undefined;
      socket.end();
    },
  };
}
