// The sockets graceful holds for a reloadable program (--listen, and those systemd gave
// graceful itself): bound and listening once, at start, and never accepted on by graceful.
// Every generation gets them as fd 3 onwards, with LISTEN_FDS and LISTEN_FDNAMES (systemd's
// socket activation protocol; LISTEN_PID is set in the child itself, see child.ts). While
// no generation accepts (a restart, the moment between two generations) the kernel queues
// the connections in the socket's backlog: none is refused.
//
// Why through the FFI and not net.Server: a listening net.Server accepts every connection
// it can as soon as it listens (libuv reads the socket in its event loop), even after
// pause() or readStop(), taking connections meant for the program (bench/analysis.md,
// "Sockets"). A socket made with socket()/bind()/listen() is only a file descriptor here.
// It is made blocking, as inetd and Server::Starter hand sockets out: an accept-only
// program (Python's socket.accept(), a C loop) then waits for a connection rather than
// failing with EAGAIN; an event-loop program (Node, Go, uvicorn) makes its copy
// non-blocking itself. (O_NONBLOCK belongs to the open socket, which all generations share.)
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import { constants, endianness } from 'node:os';
import { describeListen, ipv4Bytes, ipv6Bytes, type ListenSpec, type ReloadOptions } from '../../config/listen.js';
import { sockets } from '../process/ffi.js';
import { AF_INET, AF_INET6, AF_UNIX } from './kernel.js';

// The listen backlog: the queue that holds connections while no generation accepts (a
// restart's delay, a slow start). The kernel caps it at net.core.somaxconn (4096 since
// Linux 5.4); Node's own default, 511, fills up in a second of a busy service's downtime.
const BACKLOG = 4096;
// systemd passes its sockets from fd 3 on (SD_LISTEN_FDS_START).
const FIRST_FD = 3;


export interface HeldSocket {
  name: string;
  /** graceful's own descriptor of it. */
  fd: number;
  /** As the user would write it (tcp://127.0.0.1:8080, unix:/run/app.sock), with the real port. */
  address: string;
  /** Given to graceful by systemd, rather than made by graceful. */
  inherited: boolean;
  /** The kernel chose its port (--listen tcp://HOST:0). */
  portChosen: boolean;
  /** Where to connect to it (null: from systemd, address unknown). */
  target: { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string } | null;
}

export interface HeldSockets {
  readonly sockets: readonly HeldSocket[];
  /** The descriptors, in the order the program gets them (fd 3, 4, ...). */
  readonly fds: readonly number[];
  /** LISTEN_FDS and LISTEN_FDNAMES for every generation. */
  readonly env: Record<string, string>;
  /** Closes graceful's copies (the program's copies stay open until it closes them), and removes the Unix socket files graceful made. */
  release(): void;
}

// Binds and listens on each --listen address and takes systemd's sockets; one line saying
// what went wrong otherwise (nothing is left open then).
export async function holdSockets(options: ReloadOptions): Promise<HeldSockets | string> {
  const held: HeldSocket[] = [];
  const made: string[] = [];
  let open = true;
  const release = () => {
    if (!open) return;
    open = false;
    const calls = sockets();
    for (const s of held) if (typeof calls !== 'string') calls.close(s.fd);
    for (const path of made) removeSocketFile(path);
  };
  if (options.inherited) {
    const calls = sockets();
    for (let i = 0; i < options.inherited.count; i++) {
      const fd = FIRST_FD + i;
      // Passed on only to the generations, never to a pre-stop hook or a helper.
      if (typeof calls !== 'string') calls.cloexec(fd);
      held.push({ name: options.inherited.names[i]!, fd, address: `fd ${fd} from systemd`, inherited: true, portChosen: false, target: null });
    }
    // The variables named graceful's pid: a child must never take them for its own.
    for (const key of ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES', 'LISTEN_FDS_START']) delete process.env[key];
  }
  for (const spec of options.listen) {
    const result = await listenOn(spec);
    if (typeof result === 'string') {
      release();
      return `--listen ${describeListen(spec)}: ${result}`;
    }
    held.push(result);
    if (spec.kind === 'unix') made.push(spec.path);
  }
  return {
    sockets: held,
    fds: held.map((s) => s.fd),
    env: { LISTEN_FDS: String(held.length), LISTEN_FDNAMES: held.map((s) => s.name).join(':') },
    release,
  };
}

async function listenOn(spec: ListenSpec): Promise<HeldSocket | string> {
  const calls = sockets();
  if (typeof calls === 'string') return `cannot hold sockets: the FFI is ${calls}`;
  const [family, addr] = sockaddr(spec);
  let fd = calls.listen(family, addr, BACKLOG, spec.kind === 'tcp');
  if (fd === -constants.errno.EADDRINUSE && spec.kind === 'unix' && (await isStaleSocket(spec.path))) {
    // Left by a graceful that was killed: nobody answers on it any more.
    removeSocketFile(spec.path);
    fd = calls.listen(family, addr, BACKLOG, false);
  }
  if (fd < 0) return describeErrno(-fd, spec);
  const port = spec.kind === 'tcp' ? calls.localPort(fd) : undefined;
  // A wildcard address is reached through loopback.
  const target =
    spec.kind === 'unix'
      ? ({ kind: 'unix', path: spec.path } as const)
      : ({ kind: 'tcp', host: spec.host === '0.0.0.0' ? '127.0.0.1' : spec.host === '::' ? '::1' : spec.host, port: port! } as const);
  return { name: spec.name, fd, address: describeListen(spec, port), inherited: false, portChosen: spec.kind === 'tcp' && spec.port === 0, target };
}

// struct sockaddr_in / sockaddr_in6 / sockaddr_un for the spec.
function sockaddr(spec: ListenSpec): [number, Buffer] {
  const family = spec.kind === 'unix' ? AF_UNIX : spec.family === 6 ? AF_INET6 : AF_INET;
  const path = spec.kind === 'unix' ? Buffer.from(spec.path) : null;
  const addr = Buffer.alloc(path ? 2 + path.length + 1 : family === AF_INET6 ? 28 : 16);
  // sa_family_t is native-endian; the port is in network byte order.
  if (endianness() === 'LE') addr.writeUInt16LE(family, 0);
  else addr.writeUInt16BE(family, 0);
  if (path) path.copy(addr, 2);
  else if (spec.kind === 'tcp') {
    addr.writeUInt16BE(spec.port, 2);
    // sin_addr at 4; sin6_addr at 8, after sin6_flowinfo.
    if (spec.family === 6) Buffer.from(ipv6Bytes(spec.host)!).copy(addr, 8);
    else Buffer.from(ipv4Bytes(spec.host)!).copy(addr, 4);
  }
  return [family, addr];
}

// A Unix socket file that nobody listens on (connect() is refused): safe to replace.
async function isStaleSocket(path: string): Promise<boolean> {
  try {
    if (!lstatSync(path).isSocket()) return false;
  } catch {
    return false;
  }
  const { connect } = process.getBuiltinModule('node:net');
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

function removeSocketFile(path: string): void {
  try {
    if (existsSync(path) && lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // gone already, or not ours to remove
  }
}

// What the failed call means for the user, and what to do.
function describeErrno(errno: number, spec: ListenSpec): string {
  const name = Object.entries(constants.errno).find(([, n]) => n === errno)?.[0] ?? `errno ${errno}`;
  switch (name) {
    case 'EADDRINUSE':
      return spec.kind === 'unix'
        ? 'a program is listening there already; stop it, or choose another path'
        : 'the address is in use (another program listens there); stop it, or choose another port';
    case 'EACCES':
      return spec.kind === 'unix'
        ? 'permission denied: graceful cannot create the socket file there'
        : 'permission denied: ports below 1024 need root or CAP_NET_BIND_SERVICE (or lower net.ipv4.ip_unprivileged_port_start)';
    case 'EADDRNOTAVAIL':
      return 'no interface of this machine has that address';
    case 'ENOENT':
      return "the socket's directory does not exist; create it first";
    default:
      return `cannot listen (${name})`;
  }
}
