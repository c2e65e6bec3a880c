// Descriptors read only when the kernel says they have input: fcntl(F_SETOWN, O_ASYNC) has
// it send graceful SIGIO, and the handler calls every registered reader. For what libuv
// cannot watch or costs too much to watch before it is used: the sd_notify datagram socket
// (no libuv handle for AF_UNIX datagrams; polling it woke graceful when idle) and the status
// channel until a program connects (status.ts); bench/analysis.md, "Sockets", has the
// figures. SIGIO is not a signal graceful traps or forwards (signals.ts); its handler stays
// installed once a reader was registered, as the kernel may still send one that was raised
// before a descriptor closed.
import { rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { libc } from '../process/ffi.js';

const readers = new Set<() => void>();
let handling = false;

// Calls `read` whenever `fd` may have input, until the returned function is called; null if
// the FFI or the kernel refused. Closing `fd` stops its signals (ffi.ts: signalOnInput
// stops them on a descriptor that stays open).
export function onInput(fd: number, read: () => void): (() => void) | null {
  const lib = libc();
  if (typeof lib === 'string') return null;
  // The handler before the request: SIGIO's default action ends the process.
  if (!handling) {
    handling = true;
    process.on('SIGIO', () => {
      for (const reader of [...readers]) reader();
    });
  }
  readers.add(read);
  if (!lib.signalOnInput(fd, true)) {
    readers.delete(read);
    return null;
  }
  return () => void readers.delete(read);
}

// Removes a socket made in a private directory (notify.ts, status.ts), and the directory: two
// syscalls, where rmSync's recursive walk in JavaScript slowed every exit path (the status
// channel is opened on every run; bench/analysis.md, "Sockets").
export function removeSocket(path: string, dir: string): void {
  try {
    unlinkSync(path);
    rmdirSync(dir);
  } catch {
    rmSync(dir, { recursive: true, force: true });
  }
}
