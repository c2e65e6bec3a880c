// The receiving end of systemd's sd_notify protocol (--ready notify): a datagram socket in
// graceful's private runtime directory (rundir.ts), named to the child in NOTIFY_SOCKET. Node has no AF_UNIX datagram
// sockets, so it is made through the FFI (ffi.ts), and read when the kernel says a datagram
// came (sigio.ts), never on a timer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { libc } from '../process/ffi.js';
import { ownSocketPath, removeSocketFile } from './rundir.js';
import { onInput, removeSocket } from './sigio.js';

export interface NotifyEvents {
  ready(): void;
  /** STOPPING=1: the child began to shut down on its own. */
  stopping(): void;
  /** EXTEND_TIMEOUT_USEC=n: the current timeout (start or stop) runs at least n us from now. */
  extend(ms: number): void;
  /** WATCHDOG=1: the child is alive (its watchdog, under a service manager's WatchdogSec=). */
  watchdog?(): void;
  /** STATUS=text: what the child says it does, for the service manager above graceful. */
  status?(text: string): void;
  /** RELOADING=1: the child reloads in place (its own reload, on a forwarded SIGHUP). */
  reloading?(): void;
  /** READY=1 again, after the first: the child's reload is over. */
  readyAgain?(): void;
}

export interface NotifySocket {
  /** For NOTIFY_SOCKET. */
  readonly path: string;
  close(): void;
}

// Opens the socket, or says why it cannot.
export function listenNotify(on: NotifyEvents): NotifySocket | string {
  const lib = libc();
  if (typeof lib === 'string') return `--ready notify is ${lib}`;
  // graceful's runtime directory (0700: no other user can send to the socket or swap it);
  // where it cannot be trusted, a private directory of this run's own (mkdtemp: 0700 too).
  let dir: string | null = null;
  let path = ownSocketPath('notify');
  if (path === null) {
    dir = mkdtempSync(join(tmpdir(), 'graceful-notify-'));
    path = join(dir, 'notify');
  }
  const where = path;
  const remove = () => (dir === null ? removeSocketFile(where) : removeSocket(where, dir));
  const fd = lib.bindDatagram(path);
  if (fd < 0) {
    if (dir) rmSync(dir, { recursive: true, force: true });
    return `--ready notify: cannot create the socket ${path}`;
  }
  let ready = false;
  const read = () => {
    for (let datagram = lib.receive(fd); datagram !== null; datagram = lib.receive(fd)) {
      for (const line of datagram.toString('utf8').split('\n')) {
        const eq = line.indexOf('=');
        const [key, value] = [line.slice(0, eq), line.slice(eq + 1)];
        if (key === 'READY' && value === '1' && !ready) {
          ready = true;
          on.ready();
        } else if (key === 'READY' && value === '1') on.readyAgain?.();
        else if (key === 'RELOADING' && value === '1') on.reloading?.();
        else if (key === 'STOPPING' && value === '1') on.stopping();
        else if (key === 'EXTEND_TIMEOUT_USEC' && /^\d+$/.test(value)) on.extend(Number(value) / 1000);
        else if (key === 'WATCHDOG' && value === '1') on.watchdog?.();
        else if (key === 'STATUS' && eq > 0) on.status?.(value);
      }
    }
  };
  const stop = onInput(fd, read);
  if (!stop) {
    lib.close(fd);
    remove();
    return `--ready notify: cannot watch the socket ${path} (fcntl O_ASYNC refused)`;
  }
  return {
    path,
    close() {
      stop();
      read();
      lib.close(fd);
      remove();
    },
  };
}
