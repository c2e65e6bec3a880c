// Loaded into the Node programs of a graceful check (NODE_OPTIONS=--require, set by
// src/commands/check/check.ts), this records what the program does with its listeners, requests, outbound
// connections and files as it stops: each event is appended at once, with a time on the
// system's monotonic clock (the one graceful reads), to a file of its own in the directory
// GRACEFUL_CHECK_TRACE names. At exit it lists what is still open: what the kernel, not the
// program, will close. That is the exact observation a /proc sample cannot make: a program
// that closes its last connection and exits a millisecond later looks, from outside, just
// like one that left it to the kernel.
//
// It must never change what the program does: no signal handler (a listener for SIGTERM
// would change its disposition), no timer, no listener on anything but the objects the
// program made, every hook in a try/catch. Built on its own, with no dependency, into
// dist/check-preload.cjs; never loaded by graceful itself.
import { channel } from 'node:diagnostics_channel';
import fs, { closeSync, openSync, readdirSync, readFileSync, readlinkSync, writeSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';

type Record = { [key: string]: unknown };

const dir = process.env.GRACEFUL_CHECK_TRACE;
// graceful's own status channel (graceful-supervisor/app): read now, since the library takes the
// variable out of the environment when it starts. Not one of the program's connections.
const statusSocket = process.env.GRACEFUL_STATUS_SOCKET;
let fd = -1;
try {
  if (dir) fd = openSync(`${dir}/${process.pid}.jsonl`, 'a');
} catch {
  fd = -1;
}

const now = () => Number(process.hrtime.bigint()) / 1e6;
// Is `fd` a write stream's that the program ended and flushed (its close under way)?
let finished: (fd: number) => boolean = () => false;

function emit(event: Record): void {
  if (fd < 0) return;
  try {
    writeSync(fd, `${JSON.stringify({ ...event, t: now() })}\n`);
  } catch {
    // the trace is lost, never the program
  }
}

if (fd >= 0) install();

// Hooks what the program does as it stops, each in its own way, then lists at exit what is
// still open.
function install(): void {
  emit({ e: 'start', pid: process.pid, ppid: process.ppid, argv: process.argv.slice(1) });
  const sockets = traceConnections();
  traceListeners();
  traceRequests();
  traceSignals();
  finished = traceWriteStreams();
  traceExit(sockets);
}

type Tracked = net.Socket & { __gracefulId?: number };
/** The outbound connections still open, by id: whether the program released each one. */
type Sockets = Map<number, { socket: Tracked; released: boolean }>;

// Outbound connections: every client socket goes through Socket.prototype.connect (pg
// makes `new net.Socket()` and calls connect() itself, so the net.client.socket channel,
// published by net.connect() only, would miss it). Release = the first end() or destroy()
// the program calls; 'close' from the peer is recorded too.
function traceConnections(): Sockets {
  const sockets: Sockets = new Map();
  let nextId = 1;
  const proto = net.Socket.prototype as unknown as { connect: (...args: unknown[]) => unknown };
  const connect = proto.connect;
  proto.connect = function (this: Tracked, ...args: unknown[]) {
    const result = connect.apply(this, args);
    // After connect(): it resets the instance's write() to the prototype's.
    try {
      if (this.__gracefulId === undefined && !(statusSocket && peerOf(args) === statusSocket)) track(this, args);
    } catch {
      // never in the way
    }
    return result;
  };

  function track(socket: Tracked, args: unknown[]): void {
    const id = nextId++;
    socket.__gracefulId = id;
    const entry = { socket, released: false };
    sockets.set(id, entry);
    const stack = callerStack();
    emit({ e: 'connect', id, peer: peerOf(args), via: callerPackage(stack), http: httpClient(stack) });
    socket.once('connect', () =>
      emit({
        e: 'connected',
        id,
        peer: socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : null,
        // Its own address: how graceful's audit (which sees every process from outside) knows it.
        local: socket.localAddress ? `${socket.localAddress.replace(/^::ffff:/, '')}:${socket.localPort}` : null,
      }),
    );
    for (const method of ['end', 'destroy'] as const) {
      const original = socket[method] as (...a: unknown[]) => unknown;
      socket[method] = function (this: Tracked, ...a: unknown[]) {
        if (!entry.released) {
          entry.released = true;
          emit({ e: 'release', id, how: method });
        }
        return original.apply(this, a);
      } as never;
    }
    // A protocol's own goodbye (Postgres Terminate, Redis QUIT, MySQL COM_QUIT) is the
    // program closing the connection: pg's pool.end() resolves once it is written, before
    // the socket's own end(), and a process.exit() right after it is a clean close for
    // the server (it logs nothing), though the kernel sends the FIN.
    const write = socket.write as (...a: unknown[]) => boolean;
    socket.write = function (this: Tracked, chunk: unknown, ...a: unknown[]) {
      if (!entry.released && isGoodbye(chunk)) {
        entry.released = true;
        emit({ e: 'release', id, how: 'goodbye' });
      }
      return write.call(this, chunk, ...a);
    } as never;
    socket.once('close', () => {
      if (!entry.released) emit({ e: 'closed', id });
      sockets.delete(id);
    });
  }
  return sockets;
}

// Listening sockets: listen() and the program's close().
function traceListeners(): void {
  const server = net.Server.prototype as unknown as { listen: (...a: unknown[]) => unknown; close: (...a: unknown[]) => unknown };
  const listen = server.listen;
  const close = server.close;
  let nextServer = 1;
  server.listen = function (this: net.Server & { __gracefulId?: number }, ...a: unknown[]) {
    try {
      const id = (this.__gracefulId ??= nextServer++);
      this.once('listening', () => {
        const address = this.address();
        emit({ e: 'listen', id, addr: typeof address === 'string' ? address : address ? `${address.address}:${address.port}` : null });
      });
    } catch {
      // never in the way
    }
    return listen.apply(this, a);
  };
  server.close = function (this: net.Server & { __gracefulId?: number }, ...a: unknown[]) {
    if (this.__gracefulId !== undefined) emit({ e: 'unlisten', id: this.__gracefulId });
    return close.apply(this, a);
  };
}

// Requests served, from Node's own diagnostics channels (no patch of http needed).
function traceRequests(): void {
  let nextRequest = 1;
  const requests = new WeakMap<object, number>();
  channel('http.server.request.start').subscribe((message) => {
    try {
      const { response } = message as { response: import('node:http').ServerResponse };
      const id = nextRequest++;
      requests.set(response, id);
      emit({ e: 'req', id });
      response.once('close', () => {
        if (!response.writableFinished) emit({ e: 'res', id, status: response.statusCode, aborted: true });
      });
    } catch {
      // never in the way
    }
  });
  channel('http.server.response.finish').subscribe((message) => {
    try {
      const { response } = message as { response: import('node:http').ServerResponse };
      const id = requests.get(response);
      if (id !== undefined) emit({ e: 'res', id, status: response.statusCode });
    } catch {
      // never in the way
    }
  });
}

// Signals the program received: only those it handles reach process.emit (without a
// handler it dies of them, and the check sees that from outside).
function traceSignals(): void {
  const processEmit = process.emit as (...a: unknown[]) => boolean;
  process.emit = function (this: NodeJS.Process, name: unknown, ...a: unknown[]) {
    if (typeof name === 'string' && name.startsWith('SIG')) emit({ e: 'signal', name });
    return processEmit.call(this, name, ...a);
  } as never;
}

// Write streams: one ended and flushed ('finish') still holds its fd until its close,
// which Node does right after, asynchronously: a program that waited for 'finish' and
// exited did close its file. fs.createWriteStream is wrapped to know them; returns the
// test of a descriptor, for `finished`.
// (A stream sets its fd to null as its close starts: each stream's fd is kept from 'open'.)
function traceWriteStreams(): (fd: number) => boolean {
  const streams = new Map<number, import('node:fs').WriteStream>();
  const createWriteStream = fs.createWriteStream;
  (fs as { createWriteStream: typeof fs.createWriteStream }).createWriteStream = function (this: unknown, ...a: Parameters<typeof fs.createWriteStream>) {
    const stream = createWriteStream.apply(this, a);
    try {
      stream.once('open', (n: number) => {
        streams.set(n, stream);
        stream.once('close', () => streams.get(n) === stream && streams.delete(n));
      });
    } catch {
      // never in the way
    }
    return stream;
  } as typeof fs.createWriteStream;
  // ES modules import node:fs through a facade made from these exports: update it.
  try {
    syncBuiltinESMExports();
  } catch {
    // older Node: CommonJS programs are still covered
  }
  return (fd: number) => streams.get(fd)?.writableFinished === true;
}

// At exit, what is still open. Our 'exit' listener is kept last, so that what the
// program's own exit listeners close counts as closed by the program.
function traceExit(sockets: Sockets): void {
  const atExit = (code: number) => {
    try {
      const open = [...sockets.entries()].filter(([, s]) => !s.released && !s.socket.destroyed).map(([id]) => id);
      emit({ e: 'exit', code, open, files: openFiles() });
    } catch {
      // never in the way
    }
    try {
      closeSync(fd);
    } catch {
      // gone
    }
    fd = -1;
  };
  process.on('exit', atExit);
  process.on('newListener', (event, listener) => {
    if (event !== 'exit' || listener === atExit) return;
    // The program's listener is added after this runs: move ours behind it.
    queueMicrotask(() => {
      process.removeListener('exit', atExit);
      process.on('exit', atExit);
    });
  });
}

const PG_TERMINATE = Buffer.from([0x58, 0, 0, 0, 4]);
const MYSQL_QUIT = Buffer.from([1, 0, 0, 0, 1]);
const REDIS_QUIT = /^(\*1\r\n\$4\r\n)?quit\r\n$/i;

// Is this write a client's goodbye in its service's protocol?
function isGoodbye(chunk: unknown): boolean {
  if (typeof chunk === 'string') return chunk.length <= 16 && REDIS_QUIT.test(chunk);
  if (!Buffer.isBuffer(chunk) && !(chunk instanceof Uint8Array)) return false;
  if (chunk.length > 16) return false;
  const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
  return b.equals(PG_TERMINATE) || b.equals(MYSQL_QUIT) || REDIS_QUIT.test(b.toString('latin1'));
}

// The package that opened a connection (pg, @redis/client, ioredis, ...): it names the service
// when the port does not (a database on another port than its usual one).
function callerPackage(stack: string): string | null {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(stack);
  return m ? m[1]! : null;
}

// The call stack of a connect(), 40 frames deep.
function callerStack(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  return stack;
}

// An HTTP client's connection: fetch()'s (Node's own undici, or the undici package's pool),
// or an http.Agent's (node:http, whatever library drives it). Its idle keep-alive
// connections lose nothing when the kernel closes them.
function httpClient(stack: string): 'fetch' | 'agent' | null {
  if (/node:internal\/deps\/undici|node_modules\/undici\//.test(stack)) return 'fetch';
  if (/node:_http_agent|\(_http_agent\.js/.test(stack)) return 'agent';
  return null;
}

// Where a connect() call goes: host:port, or a Unix socket's path.
function peerOf(args: unknown[]): string | null {
  let [first, second] = args;
  if (Array.isArray(first)) [first, second] = first; // net's internal normalized form
  if (first && typeof first === 'object') {
    const o = first as { path?: string; port?: number | string; host?: string };
    if (o.path) return String(o.path);
    if (o.port !== undefined) return `${o.host ?? 'localhost'}:${o.port}`;
    return null;
  }
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    return `${typeof second === 'string' ? second : 'localhost'}:${first}`;
  }
  if (typeof first === 'string') return first;
  return null;
}

// Regular files this process has open for writing (not stdio, not the trace itself).
function openFiles(): { fd: number; path: string }[] {
  const out: { fd: number; path: string }[] = [];
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return out;
  }
  for (const name of fds) {
    const n = Number(name);
    if (n <= 2 || n === fd || finished(n)) continue;
    try {
      const path = readlinkSync(`/proc/self/fd/${name}`);
      if (!path.startsWith('/') || path.startsWith('/dev/') || path.startsWith('/proc/')) continue;
      const flags = /^flags:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${name}`, 'latin1'));
      const mode = flags ? parseInt(flags[1]!, 8) & 3 : 0; // O_ACCMODE: 1 write-only, 2 read-write
      if (mode === 1 || mode === 2) out.push({ fd: n, path });
    } catch {
      // closed meanwhile
    }
  }
  return out;
}
