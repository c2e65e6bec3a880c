// The libc calls of the audit, through koffi, loaded on first use (by the shim, by the
// receiver's worker thread, and by graceful check's main thread for pidfd_getfd): none of
// this is loaded by `graceful run`. Each call returns its result, or -errno.
import { loadKoffi } from '../process/ffi.js';
import { archTable, SECCOMP, type ArchTable } from './filter.js';

export interface AuditCalls {
  table: ArchTable;
  /** prctl(PR_SET_NO_NEW_PRIVS, 1): 0 or -errno. */
  noNewPrivs(): number;
  /** seccomp(SECCOMP_SET_MODE_FILTER, flags, prog): the listener's fd, or -errno. */
  installFilter(program: Buffer, flags: number): number;
  /** seccomp(SECCOMP_GET_NOTIF_SIZES): the kernel's sizes of seccomp_notif, _resp, _data; null if refused. */
  notifSizes(): { notif: number; resp: number; data: number } | null;
  /** fcntl(F_SETFD, FD_CLOEXEC), or with `keep`, fcntl(F_SETFD, 0). */
  cloexec(fd: number, keep?: boolean): number;
  /** dup3(from, to, O_CLOEXEC): drops what `to` was without a close() (which the filter traps). */
  dup3(from: number, to: number): number;
  /** execvp(3): returns only on failure, with -errno. */
  execvp(file: string, argv: readonly string[]): number;
  kill(pid: number, signal: number): number;
  /** signal(signo, SIG_DFL). */
  resetSignal(signo: number): void;
  pidfdOpen(pid: number): number;
  pidfdGetfd(pidfd: number, fd: number): number;
  close(fd: number): number;
  /** ioctl(fd, request, buf): 0 or -errno. */
  ioctl(fd: number, request: number, buf: Buffer): number;
  /** ioctl(fd, request, value), the argument passed by value: 0 or -errno. */
  ioctlValue(fd: number, request: number, value: number): number;
  /** poll(2) on fds for POLLIN: per fd its revents; null on error (EINTR: an empty answer). */
  poll(fds: readonly number[], timeoutMs: number): number[] | null;
  /** eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK). */
  eventfd(): number;
  /** getxattr(path, name): the value as text, or null (sockfs answers system.sockprotoname). */
  getxattr(path: string, name: string): string | null;
  /** process_vm_readv(2): `buf.length` bytes at `address` in process `pid` into `buf`; the bytes read, or -errno. */
  readMemory(pid: number, address: bigint, buf: Buffer): number;
  /** getsockname(2) / getpeername(2) into `buf`: the address's length, or -errno. */
  sockname(fd: number, buf: Buffer, peer: boolean): number;
  /** getsockopt(2) of an int-sized or larger option into `buf`: its length, or -errno. */
  getsockopt(fd: number, level: number, name: number, buf: Buffer): number;
}

const O_CLOEXEC = 0o2000000;
const F_SETFD = 2;
const FD_CLOEXEC = 1;
const POLLIN = 1;

let loaded: AuditCalls | string | null = null;

// The calls, or why they are not available here (one line).
export function auditCalls(): AuditCalls | string {
  if (loaded !== null) return loaded;
  if (process.platform !== 'linux') return (loaded = `not available on ${process.platform}`);
  const table = archTable(process.arch);
  if (!table) return (loaded = `not available on ${process.arch} (the audit knows the system call numbers of x64 and arm64)`);
  try {
    const koffi = loadKoffi();
    const self = koffi.load(null);
    const prctl = self.func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)');
    const syscall = self.func('long syscall(long nr, ...)');
    const fcntl = self.func('int fcntl(int fd, int cmd, ...)');
    const dup3 = self.func('int dup3(int from, int to, int flags)');
    const execvp = self.func('int execvp(const char *file, const char **argv)');
    const kill = self.func('int kill(int pid, int sig)');
    const close = self.func('int close(int fd)');
    const signal = self.func('void *signal(int signo, void *handler)');
    const ioctl = self.func('int ioctl(int fd, unsigned long request, ...)');
    const poll = self.func('int poll(_Inout_ uint8_t *fds, unsigned long n, int timeout)');
    const eventfd = self.func('int eventfd(unsigned int initval, int flags)');
    const getsockname = self.func('int getsockname(int fd, _Out_ uint8_t *addr, _Inout_ uint32_t *len)');
    const getpeername = self.func('int getpeername(int fd, _Out_ uint8_t *addr, _Inout_ uint32_t *len)');
    const getsockopt = self.func('int getsockopt(int fd, int level, int name, _Out_ uint8_t *value, _Inout_ uint32_t *len)');
    const getxattr = self.func('long getxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)');
    koffi.struct('graceful_local_iovec', { base: 'void *', len: 'size_t' });
    koffi.struct('graceful_remote_iovec', { base: 'uint64_t', len: 'size_t' });
    const vmRead = self.func('long process_vm_readv(int pid, const graceful_local_iovec *local, unsigned long nlocal, const graceful_remote_iovec *remote, unsigned long nremote, unsigned long flags)');
    const xattr = Buffer.alloc(64);
    const fprog = koffi.struct('graceful_sock_fprog', { len: 'uint16_t', filter: 'void *' });
    const errno = () => koffi.errno() as number;
    const result = (r: number | bigint) => (Number(r) < 0 ? -errno() : Number(r));
    loaded = {
      table,
      noNewPrivs: () => result(prctl(SECCOMP.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)),
      installFilter: (program, flags) =>
        result(syscall(table.nr.seccomp, 'unsigned int', SECCOMP.SET_MODE_FILTER, 'unsigned int', flags, koffi.pointer(fprog), { len: program.length / 8, filter: program })),
      notifSizes: () => {
        const sizes = Buffer.alloc(6);
        if (Number(syscall(table.nr.seccomp, 'unsigned int', SECCOMP.GET_NOTIF_SIZES, 'unsigned int', 0, 'void *', sizes)) !== 0) return null;
        return { notif: sizes.readUInt16LE(0), resp: sizes.readUInt16LE(2), data: sizes.readUInt16LE(4) };
      },
      cloexec: (fd, keep) => result(fcntl(fd, F_SETFD, 'int', keep ? 0 : FD_CLOEXEC)),
      dup3: (from, to) => result(dup3(from, to, O_CLOEXEC)),
      execvp: (file, argv) => {
        execvp(file, [...argv, null]);
        return -errno();
      },
      kill: (pid, signo) => result(kill(pid, signo)),
      resetSignal: (signo) => void signal(signo, null),
      pidfdOpen: (pid) => result(syscall(table.nr.pidfd_open, 'int', pid, 'unsigned int', 0)),
      pidfdGetfd: (pidfd, fd) => result(syscall(table.nr.pidfd_getfd, 'int', pidfd, 'int', fd, 'unsigned int', 0)),
      close: (fd) => result(close(fd)),
      ioctl: (fd, request, buf) => result(ioctl(fd, request, 'void *', buf)),
      ioctlValue: (fd, request, value) => result(ioctl(fd, request, 'unsigned long', value)),
      poll: (fds, timeoutMs) => {
        // struct pollfd: fd (int), events (short), revents (short)
        const buf = Buffer.alloc(fds.length * 8);
        fds.forEach((fd, i) => {
          buf.writeInt32LE(fd, i * 8);
          buf.writeInt16LE(POLLIN, i * 8 + 4);
        });
        const r = poll(buf, fds.length, timeoutMs);
        if (r < 0) return errno() === 4 ? fds.map(() => 0) : null;
        return fds.map((_, i) => buf.readInt16LE(i * 8 + 6));
      },
      eventfd: () => result(eventfd(0, O_CLOEXEC | 0o4000)),
      getxattr: (path, name) => {
        const n = Number(getxattr(path, name, xattr, xattr.length));
        return n > 0 ? xattr.toString('latin1', 0, n).replace(/\0+$/, '') : null;
      },
      readMemory: (pid, address, buf) => result(vmRead(pid, { base: buf, len: buf.length }, 1, { base: address, len: buf.length }, 1, 0)),
      sockname: (fd, buf, peer) => {
        const len = [buf.length];
        return (peer ? getpeername : getsockname)(fd, buf, len) === 0 ? len[0]! : -errno();
      },
      getsockopt: (fd, level, name, buf) => {
        const len = [buf.length];
        return getsockopt(fd, level, name, buf, len) === 0 ? len[0]! : -errno();
      },
    };
    return loaded;
  } catch (error) {
    return (loaded = `koffi could not be loaded (${(error as Error).message.split('\n')[0]})`);
  }
}
