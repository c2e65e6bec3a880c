// graceful's runtime directory: one per user ($XDG_RUNTIME_DIR/graceful, else
// graceful-<uid> in the temporary directory), mode 0700, where its sockets live, each named
// after graceful's pid: the control socket (<pid>.sock; graceful up's <pid>.up.sock), the status channel and the
// sd_notify socket (<pid>.<n>.status, <pid>.<n>.notify). A graceful that is SIGKILLed cannot
// remove its sockets; the names make them findable, and the next graceful removes those
// whose graceful is gone (a restarted container's PID 1 replaces its own at once), so
// nothing piles up in /tmp (issue 24).
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadedLibc, sockets } from '../process/ffi.js';

// The directory: $XDG_RUNTIME_DIR/graceful (systemd's per-user runtime directory, a tmpfs
// emptied at logout and boot), else one per user in the temporary directory.
export function runtimeDir(env: NodeJS.ProcessEnv = process.env): string {
  const uid = process.getuid?.() ?? 0;
  return env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'graceful') : join(tmpdir(), `graceful-${uid}`);
}

// Makes the directory, or says why it cannot be trusted: in a shared /tmp another user
// could have made it first, to receive what is sent to graceful or answer it falsely.
export function privateDir(dir: string): string | null {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    const uid = process.getuid?.() ?? st.uid;
    if (!st.isDirectory()) return `${dir} is not a directory`;
    if (st.uid !== uid) return `${dir} belongs to another user`;
    if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
    return null;
  } catch (error) {
    return `cannot create ${dir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }
}

// The sockets of a graceful, by its pid (group 1), whatever their kind.
const SOCKET_NAME = /^(\d+)(?:\.\d+|\.up)?\.(?:sock|status|notify)$/;

// Is the process `pid` gone? (EPERM: alive, another user's.)
function gone(pid: number): boolean {
  const lib = loadedLibc();
  if (lib) return lib.kill(pid, 0) !== 0 && !alive(pid);
  return !alive(pid);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let pruned = false;
let made = 0;

// A path for a socket of this graceful of `kind` in the runtime directory (the directory
// made, the sockets left by gracefuls that are gone removed, once per process), or null
// when the directory cannot be trusted.
export function ownSocketPath(kind: 'status' | 'notify'): string | null {
  const dir = runtimeDir();
  if (privateDir(dir) !== null) return null;
  if (!pruned) {
    pruned = true;
    removeLeftovers(dir);
  }
  // A name held by someone is another graceful's with the same pid, in another PID namespace
  // sharing this directory (a container's PID 1 beside another's): the next one.
  let path = join(dir, `${process.pid}.${++made}.${kind}`);
  while (existsSync(path) && held(path)) path = join(dir, `${process.pid}.${++made}.${kind}`);
  removeSocketFile(path);
  return path;
}

// Removes the sockets in `dir` that no running graceful owns (its pid is gone, or is this
// process's own from an earlier life: a container's PID 1 restarted).
export function removeLeftovers(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = SOCKET_NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    // Control sockets of this pid are the coordinator's to replace (control.ts).
    if (pid === process.pid ? name.endsWith('.sock') : !gone(pid)) continue;
    // A pid gone here may be alive in another PID namespace that shares the directory
    // (unshare --pid, containers with a shared /tmp): its graceful still holds the socket.
    if (held(join(dir, name))) continue;
    removeSocketFile(join(dir, name));
  }
}

// Does a process hold the socket at `path` (connect() not refused)? Asked only of files
// that are there and look left over, so the calls are loaded then only. Where they cannot
// be loaded, the pid alone decides, as before.
function held(path: string): boolean {
  const calls = sockets();
  return typeof calls !== 'string' && calls.held(path, !path.endsWith('.notify'));
}

// Removes a socket file, if that is what is there.
export function removeSocketFile(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // not there
  }
}
