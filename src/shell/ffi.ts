// The libc calls Node does not expose, through koffi: an FFI whose npm packages ship
// prebuilt binaries (no compiler at install time). Loaded on first use only, straight from
// its native file when it is where koffi 3 puts it (measured: 2.5 ms, against 5.5 ms
// through koffi's own platform probe). Linux only; elsewhere, and wherever koffi cannot
// load, the caller gets the reason to say once, in one line.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
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
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SUN_PATH_MAX = 108;

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
  /** One datagram from `fd`, or null when there is none waiting. */
  receive(fd: number): Buffer | null;
  close(fd: number): void;
}

export const WAIT = { WNOHANG };

let loaded: Libc | string | null = null;

// The calls, or why they are not available here.
export function libc(): Libc | string {
  if (loaded !== null) return loaded;
  if (process.platform !== 'linux') return (loaded = `not available on ${process.platform}`);
  try {
    const self = loadKoffi().load(null);
    const prctl = self.func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)');
    const prctlOut = self.func('int prctl(int option, _Out_ int *value, unsigned long a3, unsigned long a4, unsigned long a5)');
    const waitpid = self.func('int waitpid(int pid, _Out_ int *status, int options)');
    const waitid = self.func('int waitid(int idtype, int id, _Out_ uint8_t *info, int options)');
    const socket = self.func('int socket(int domain, int type, int protocol)');
    const bind = self.func('int bind(int fd, const void *addr, uint32_t len)');
    const recv = self.func('long recv(int fd, _Out_ void *buf, size_t len, int flags)');
    const close = self.func('int close(int fd)');
    const info = Buffer.alloc(SIGINFO_SIZE);
    const status = [0];
    const datagram = Buffer.alloc(4096);
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
      bindDatagram: (path) => {
        const bytes = Buffer.from(path);
        if (bytes.length >= SUN_PATH_MAX) return -1;
        const fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
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
      },
      receive: (fd) => {
        const n = Number(recv(fd, datagram, datagram.length, 0));
        return n >= 0 ? Buffer.from(datagram.subarray(0, n)) : null;
      },
      close: (fd) => void close(fd),
    };
    return loaded;
  } catch (error) {
    return (loaded = `koffi could not be loaded (${(error as Error).message.split('\n')[0]})`);
  }
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
  close(fd: number): void;
}

const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_ACCEPTCONN = 30;
const SOCK_STREAM = 1;
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

// koffi's native module, from its platform package when it is where koffi 3 puts it
// (skipping koffi's start-up probe of the ELF header of node itself), else through koffi.
function loadKoffi(): any {
  const require = createRequire(import.meta.url);
  const dir = `${process.platform}_${process.arch}`;
  try {
    const file = require.resolve(`@koromix/koffi-${process.platform}-${process.arch}/${dir}/koffi.node`);
    if (existsSync(file)) return require(file);
  } catch {
    // not there, or not loadable (musl): let koffi find the right one
  }
  return require('koffi');
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
