// The libc calls Node does not expose, through koffi: an FFI whose npm packages ship
// prebuilt binaries (no compiler at install time). Loaded on first use only, straight from
// its native file when it is where koffi 3 puts it, faster than koffi's own platform probe
// (bench/analysis.md, "Loading koffi"). Linux only; elsewhere, and wherever koffi cannot
// load, the caller gets the reason to say once, in one line.
import { existsSync, openSync } from 'node:fs';
import { endianness } from 'node:os';

const PR_GET_CHILD_SUBREAPER = 37;
const P_ALL = 0;
const WNOHANG = 1;
const WEXITED = 4;
const WNOWAIT = 0x0100_0000;
// siginfo_t is 128 bytes on Linux; si_pid follows si_signo, si_errno, si_code and, on
// 64-bit platforms, 4 bytes of padding.
const SIGINFO_SIZE = 128;
const SI_PID_OFFSET = process.arch.endsWith('64') ? 16 : 12;
const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SUN_PATH_MAX = 108;
const F_GETFL = 3;
const F_SETFL = 4;
const F_SETOWN = 8;
// O_ASYNC (FASYNC) is 020000 on every architecture Node runs on under Linux but alpha,
// sparc and parisc, which Node does not support.
const O_ASYNC = 0o20000;
const RWF_NOWAIT = 8;
// sock_diag (linux/netlink.h, linux/sock_diag.h, linux/inet_diag.h).
const AF_NETLINK = 16;
const NETLINK_SOCK_DIAG = 4;
const SOCK_DIAG_BY_FAMILY = 20;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const IPPROTO_TCP = 6;
const INET_DIAG_INFO = 2;
const INET_DIAG_REQ_BYTECODE = 1;
// A dump's replies come a page or so at a time; 32 KB takes a few hundred sockets a call.
const DIAG_BUFFER = 32 * 1024;
const INET_DIAG_BC_S_GE = 2;
const INET_DIAG_BC_S_LE = 3;
const EOPNOTSUPP = 95;
const ENOENT = 2;
const ECONNREFUSED = 111;

export interface Libc {
  prctl(option: number, a2: number): number;
  /** Is graceful a child subreaper already (the attribute survives exec)? */
  isSubreaper(): boolean;
  /** waitpid(2); the status of the last successful call is in lastStatus(). */
  waitpid(pid: number, options: number): number;
  /** The wait status the last waitpid() stored. */
  lastStatus(): number;
  /** Peeks at a zombie child without reaping it: its pid, 0 for none, -1 for no children. */
  peekZombie(): number;
  /** A non-blocking AF_UNIX datagram socket bound to `path`: its fd, or -1. */
  bindDatagram(path: string): number;
  /**
   * Has the kernel send graceful SIGIO whenever `fd` has input (fcntl F_SETOWN, O_ASYNC), or
   * stop: false if it refused.
   */
  signalOnInput(fd: number, on: boolean): boolean;
  /** A non-blocking AF_UNIX stream socket listening at `path`: its fd, or -1. */
  listenStream(path: string, backlog: number): number;
  /** One datagram from `fd`, or null when there is none waiting. */
  receive(fd: number): Buffer | null;
  close(fd: number): void;
  /** kill(2): 0, or -1 (ESRCH, EPERM) without the exception process.kill throws. */
  kill(pid: number, signo: number): number;
  /**
   * The TCP sockets of one address family (2: IPv4, 10: IPv6) whose local port is `port`,
   * with each one's tcp_info, through sock_diag (what `ss -ti sport = :port` reads; the kernel
   * filters: a host may hold a hundred thousand sockets): the replies as the kernel sent them
   * (netlink messages, host byte order; probes/traffic.ts reads them), or null. The kernel
   * walks every TCP socket of the host for it (50 ms with 130,000 in TIME_WAIT, seen here):
   * the calls run on libuv's thread pool, never on graceful's loop.
   */
  sockDiagTcp(family: number, port: number | null, states?: number): Promise<Buffer | null>;
  /** Points stdout and stderr at /dev/null (dup2): graceful lets go of their pipes. */
  detachOutput(): void;
  /** _exit(2): the process ends here. */
  exit(status: number): void;
  /**
   * Writes what fits now, never waiting for a reader (pwritev2 RWF_NOWAIT: per call, unlike
   * O_NONBLOCK, which the child would share): the bytes written, or -errno (EAGAIN: full;
   * EOPNOTSUPP: a terminal, a file, a kernel before 4.14).
   */
  writeNoWait(fd: number, data: Buffer): number;
}

export const WAIT = { WNOHANG };

let loaded: Libc | string | null = null;

// The calls, or why they are not available here.
export function libc(): Libc | string {
  if (loaded !== null) return loaded;
  if (process.platform !== 'linux') return (loaded = `not available on ${process.platform}`);
  try {
    const koffi = loadKoffi();
    const self = koffi.load(null);
    const prctl = self.func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)');
    const prctlOut = self.func('int prctl(int option, _Out_ int *value, unsigned long a3, unsigned long a4, unsigned long a5)');
    const waitpid = self.func('int waitpid(int pid, _Out_ int *status, int options)');
    const waitid = self.func('int waitid(int idtype, int id, _Out_ uint8_t *info, int options)');
    const socket = self.func('int socket(int domain, int type, int protocol)');
    const bind = self.func('int bind(int fd, const void *addr, uint32_t len)');
    const recv = self.func('long recv(int fd, _Out_ void *buf, size_t len, int flags)');
    const sendto = self.func('long sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t alen)');
    const close = self.func('int close(int fd)');
    const kill = self.func('int kill(int pid, int sig)');
    const exit = self.func('void _exit(int status)');
    const dup2 = self.func('int dup2(int from, int to)');
    const fcntl = self.func('int fcntl(int fd, int cmd, ...)');
    const listen = self.func('int listen(int fd, int backlog)');
    // A libc without pwritev2 (before glibc 2.26) only loses the non-waiting writes.
    let pwritev2: ((fd: number, iov: object, count: number, offset: number, flags: number) => number | bigint) | null = null;
    try {
      koffi.struct('graceful_iovec', { base: 'const void *', len: 'size_t' });
      pwritev2 = self.func('long pwritev2(int fd, const graceful_iovec *iov, int iovcnt, long offset, int flags)');
    } catch {}
    const info = Buffer.alloc(SIGINFO_SIZE);
    const status = [0];
    const datagram = Buffer.alloc(4096);
    // A non-blocking AF_UNIX socket of `type` bound to `path`: its fd, or -1.
    const bound = (type: number, path: string): number => {
      const bytes = Buffer.from(path);
      if (bytes.length >= SUN_PATH_MAX) return -1;
      const fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) return -1;
      // struct sockaddr_un: sa_family_t (native-endian uint16), then the NUL-ended path.
      const addr = Buffer.alloc(2 + bytes.length + 1);
      if (endianness() === 'LE') addr.writeUInt16LE(AF_UNIX, 0);
      else addr.writeUInt16BE(AF_UNIX, 0);
      bytes.copy(addr, 2);
      if (bind(fd, addr, addr.length) !== 0) {
        close(fd);
        return -1;
      }
      return fd;
    };
    loaded = {
      prctl: (option, a2) => prctl(option, a2, 0, 0, 0),
      isSubreaper: () => {
        const v = [0];
        return prctlOut(PR_GET_CHILD_SUBREAPER, v, 0, 0, 0) === 0 && v[0] !== 0;
      },
      waitpid: (pid, options) => waitpid(pid, status, options),
      lastStatus: () => status[0]!,
      peekZombie: () => {
        info.fill(0);
        if (waitid(P_ALL, 0, info, WEXITED | WNOHANG | WNOWAIT) !== 0) return -1;
        return info.readInt32LE(SI_PID_OFFSET);
      },
      bindDatagram: (path) => bound(SOCK_DGRAM, path),
      signalOnInput: (fd, on) => {
        if (on && fcntl(fd, F_SETOWN, 'int', process.pid) !== 0) return false;
        const flags = fcntl(fd, F_GETFL);
        return flags >= 0 && fcntl(fd, F_SETFL, 'int', on ? flags | O_ASYNC : flags & ~O_ASYNC) === 0;
      },
      listenStream: (path, backlog) => {
        const fd = bound(SOCK_STREAM, path);
        if (fd >= 0 && listen(fd, backlog) !== 0) {
          close(fd);
          return -1;
        }
        return fd;
      },
      receive: (fd) => {
        const n = Number(recv(fd, datagram, datagram.length, 0));
        return n >= 0 ? Buffer.from(datagram.subarray(0, n)) : null;
      },
      close: (fd) => void close(fd),
      kill: (pid, signo) => kill(pid, signo),
      exit: (status) => exit(status),
      sockDiagTcp: async (family, port, states = 0xffffffff) => {
        const fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        if (fd < 0) return null;
        // Each dump its own buffer: several may be under way at once, on the pool.
        const buffer = Buffer.alloc(DIAG_BUFFER);
        const recvAsync = (): Promise<number> => new Promise((resolve) => recv.async(fd, buffer, buffer.length, 0, (error: unknown, n: number | bigint) => resolve(error ? -1 : Number(n))));
        try {
          const le = endianness() === 'LE';
          const u16 = (b: Buffer, v: number, at: number) => (le ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at));
          const u32 = (b: Buffer, v: number, at: number) => (le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
          // struct nlmsghdr, then struct inet_diag_req_v2: the TCP sockets of `family`, in
          // every state, with INET_DIAG_INFO (tcp_info) asked for; then the filter, a bytecode
          // attribute: local port >= port (else past the end: no), then <= port (else no).
          const request = Buffer.alloc(16 + 56 + (port === null ? 0 : 4 + 16));
          u32(request, request.length, 0);
          u16(request, SOCK_DIAG_BY_FAMILY, 4);
          u16(request, NLM_F_REQUEST | NLM_F_DUMP, 6);
          u32(request, 1, 8);
          request[16] = family;
          request[17] = IPPROTO_TCP;
          request[18] = 1 << (INET_DIAG_INFO - 1);
          // The states asked for: listening sockets alone are one small table; the others
          // make the kernel walk every connection of the host.
          u32(request, states, 20);
          if (port !== null) {
            u16(request, 4 + 16, 72);
            u16(request, INET_DIAG_REQ_BYTECODE, 74);
            // struct inet_diag_bc_op { u8 code; u8 yes; u16 no }, each port test two of them.
            request[76] = INET_DIAG_BC_S_GE;
            request[77] = 8;
            u16(request, 20, 78);
            u16(request, port, 82);
            request[84] = INET_DIAG_BC_S_LE;
            request[85] = 8;
            u16(request, 12, 86);
            u16(request, port, 90);
          }
          const kernel = Buffer.alloc(12);
          u16(kernel, AF_NETLINK, 0);
          if (Number(sendto(fd, request, request.length, 0, kernel, kernel.length)) < 0) return null;
          const parts: Buffer[] = [];
          for (;;) {
            const n = await recvAsync();
            if (n <= 0) return null;
            const part = Buffer.from(buffer.subarray(0, n));
            // The dump ends with NLMSG_DONE; an NLMSG_ERROR means no table.
            for (let at = 0; at + 16 <= n; ) {
              const len = le ? part.readUInt32LE(at) : part.readUInt32BE(at);
              const type = le ? part.readUInt16LE(at + 4) : part.readUInt16BE(at + 4);
              if (type === NLMSG_ERROR) return null;
              if (type === NLMSG_DONE || len < 16) return Buffer.concat([...parts, part.subarray(0, at)]);
              at += (len + 3) & ~3;
            }
            parts.push(part);
          }
        } finally {
          close(fd);
        }
      },
      detachOutput: () => {
        const fd = openSync('/dev/null', 'w');
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
      },
      writeNoWait: (fd, data) => {
        if (!pwritev2) return -EOPNOTSUPP;
        const n = Number(pwritev2(fd, { base: data, len: data.length }, 1, -1, RWF_NOWAIT));
        return n >= 0 ? n : -koffi.errno();
      },
    };
    return loaded;
  } catch (error) {
    return (loaded = `koffi could not be loaded (${(error as Error).message.split('\n')[0]})`);
  }
}

// The calls if something loaded them already (the reaper does at start on Linux), else
// null: for callers that would rather do without than pay koffi's load.
export function loadedLibc(): Libc | null {
  return typeof loaded === 'string' ? null : loaded;
}

/** The socket calls behind --listen (shell/listen.ts). Each returns its result, or -errno. */
export interface SocketCalls {
  /** A blocking, close-on-exec stream socket bound to `addr` (a struct sockaddr) and listening: its fd, or -errno. */
  listen(family: number, addr: Buffer, backlog: number, reuseAddr: boolean): number;
  /** The port a bound TCP socket got (port 0 asks the kernel for one). */
  localPort(fd: number): number;
  /** Marks an fd close-on-exec (sockets graceful was given: passed on only where meant). */
  cloexec(fd: number): boolean;
  /** Is `fd` a listening stream socket? */
  isListening(fd: number): boolean;
  /**
   * Does a process hold the AF_UNIX socket at `path` (a stream or a datagram socket)? A
   * connect() that is not refused says so; nothing is sent.
   */
  held(path: string, stream: boolean): boolean;
  close(fd: number): void;
}

const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_ACCEPTCONN = 30;
const F_SETFD = 2;
const FD_CLOEXEC = 1;

let socketCalls: SocketCalls | string | null = null;

// The socket calls, or why they are not available here. Sockets made this way are held by
// no JS server object: Node's own listening socket accepts (and so steals) connections as
// soon as it listens, even paused, while these are only ever accepted by the program.
export function sockets(): SocketCalls | string {
  if (socketCalls !== null) return socketCalls;
  if (process.platform !== 'linux') return (socketCalls = `not available on ${process.platform}`);
  try {
    const koffi = loadKoffi();
    const self = koffi.load(null);
    const socket = self.func('int socket(int domain, int type, int protocol)');
    const setsockopt = self.func('int setsockopt(int fd, int level, int name, const void *value, uint32_t len)');
    const getsockopt = self.func('int getsockopt(int fd, int level, int name, _Out_ int *value, _Inout_ uint32_t *len)');
    const bind = self.func('int bind(int fd, const void *addr, uint32_t len)');
    const listen = self.func('int listen(int fd, int backlog)');
    const connect = self.func('int connect(int fd, const void *addr, uint32_t len)');
    const getsockname = self.func('int getsockname(int fd, _Out_ uint8_t *addr, _Inout_ uint32_t *len)');
    const fcntl = self.func('int fcntl(int fd, int cmd, int arg)');
    const close = self.func('int close(int fd)');
    const fail = (fd: number) => {
      const errno = koffi.errno() as number;
      if (fd >= 0) close(fd);
      return -errno;
    };
    socketCalls = {
      listen: (family, addr, backlog, reuseAddr) => {
        const fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return fail(-1);
        const one = Buffer.alloc(4);
        one.writeInt32LE(1);
        // A restarted graceful binds again at once, past connections in TIME_WAIT.
        if (reuseAddr && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, 4) !== 0) return fail(fd);
        if (bind(fd, addr, addr.length) !== 0) return fail(fd);
        if (listen(fd, backlog) !== 0) return fail(fd);
        return fd;
      },
      localPort: (fd) => {
        const addr = Buffer.alloc(128);
        const len = [addr.length];
        // sin_port and sin6_port both sit at offset 2, in network byte order.
        return getsockname(fd, addr, len) === 0 ? addr.readUInt16BE(2) : -1;
      },
      cloexec: (fd) => fcntl(fd, F_SETFD, FD_CLOEXEC) === 0,
      held: (path, stream) => {
        const bytes = Buffer.from(path);
        if (bytes.length >= SUN_PATH_MAX) return false;
        const fd = socket(AF_UNIX, (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return false;
        const addr = Buffer.alloc(2 + bytes.length + 1);
        if (endianness() === 'LE') addr.writeUInt16LE(AF_UNIX, 0);
        else addr.writeUInt16BE(AF_UNIX, 0);
        bytes.copy(addr, 2);
        const errno = connect(fd, addr, addr.length) === 0 ? 0 : (koffi.errno() as number);
        close(fd);
        // Refused: a file nobody holds; not there: nothing. Anything else (accepted, a full
        // backlog, a socket of the other type) is someone's.
        return errno !== ECONNREFUSED && errno !== ENOENT;
      },
      isListening: (fd) => {
        const value = [0];
        return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, value, [4]) === 0 && value[0] === 1;
      },
      close: (fd) => void close(fd),
    };
    return socketCalls;
  } catch (error) {
    return (socketCalls = `koffi could not be loaded (${(error as Error).message.split('\n')[0]})`);
  }
}

/** The sending side of an AF_UNIX datagram socket (sd_notify to the service manager above graceful). */
export interface DatagramSender {
  /**
   * Sends one datagram to `address`: a socket path, or `@name` for a name in Linux's abstract
   * namespace, as sd_notify(3) reads NOTIFY_SOCKET. 0, or -errno.
   */
  send(address: string, data: Buffer): number;
  close(): void;
}

const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;

let sender: DatagramSender | string | null = null;

// The sending socket, or why there is none here. Loaded on first use only: graceful opens
// it only when a service manager gave it NOTIFY_SOCKET (shell/sockets/manager.ts).
export function datagramSender(): DatagramSender | string {
  if (sender !== null) return sender;
  if (process.platform !== 'linux') return (sender = `not available on ${process.platform}`);
  try {
    const koffi = loadKoffi();
    const self = koffi.load(null);
    const socket = self.func('int socket(int domain, int type, int protocol)');
    const sendto = self.func('long sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)');
    const close = self.func('int close(int fd)');
    // One unbound socket for every message: the kernel stamps each with graceful's pid and
    // credentials (what systemd's NotifyAccess=main checks), not with a path of its own.
    const fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return (sender = `cannot create a datagram socket (errno ${koffi.errno()})`);
    sender = {
      send: (address, data) => {
        // struct sockaddr_un: sa_family_t (native-endian uint16), then the path and its NUL;
        // an abstract name is a NUL and the name, its length given by addrlen, no NUL after.
        const abstract = address.startsWith('@');
        const name = Buffer.from(abstract ? address.slice(1) : address);
        if (name.length + 1 > SUN_PATH_MAX) return -36; // ENAMETOOLONG
        const addr = Buffer.alloc(2 + 1 + name.length);
        if (endianness() === 'LE') addr.writeUInt16LE(AF_UNIX, 0);
        else addr.writeUInt16BE(AF_UNIX, 0);
        name.copy(addr, abstract ? 3 : 2);
        // Never wait for a manager that does not read (a full queue loses the message, as
        // sd_notify's would block the service instead), never die of its closed socket.
        const n = Number(sendto(fd, data, data.length, MSG_DONTWAIT | MSG_NOSIGNAL, addr, addr.length));
        return n >= 0 ? 0 : -koffi.errno();
      },
      close: () => void close(fd),
    };
    return sender;
  } catch (error) {
    return (sender = `koffi could not be loaded (${(error as Error).message.split('\n')[0]})`);
  }
}

// koffi's native module, from its platform package when it is where koffi 3 puts it
// (skipping koffi's start-up probe of the ELF header of node itself), else through koffi.
// Also the audit's (shell/audit/calls.ts), in its own bundles.
export function loadKoffi(): any {
  // The bundle's own require (bin/graceful.js hands it in); node:module's createRequire
  // only where there is none (the tests run this file as an ES module): loading
  // node:module costs the start-up Node's ES module loader with it.
  const load = typeof require === 'function' ? require : process.getBuiltinModule('node:module').createRequire(import.meta.url);
  const dir = `${process.platform}_${process.arch}`;
  try {
    const file = load.resolve(`@koromix/koffi-${process.platform}-${process.arch}/${dir}/koffi.node`);
    if (existsSync(file)) return load(file);
  } catch {
    // not there, or not loadable (musl): let koffi find the right one
  }
  return load('koffi');
}

// Ends the process with `status` now, if the FFI is loaded already (else returns): for an
// exit with nothing left to do, where Node's own exit would only take time. That joins
// libuv's thread pool (graceful's writes use it) and V8's worker threads first; the
// CommonJS floor, which never starts the pool, pays only the second (bench: exit latency).
export function quickExit(status: number): void {
  loadedLibc()?.exit(status);
}

// Ends the process at once with `status`, skipping the runtime's exit path: libuv's exit
// hook waits for its thread pool, and a write stuck on a full stderr pipe would hang
// graceful's exit for ever. False where the FFI cannot be loaded.
export function hardExit(status: number): boolean {
  try {
    loadKoffi().load(null).func('void _exit(int status)')(status);
    return true;
  } catch {
    return false;
  }
}
