// graceful's runtime directory: one per user ($XDG_RUNTIME_DIR/graceful, else
// graceful-<uid> in the temporary directory), mode 0700, where its sockets live, each named
// after graceful's pid: the control socket (<pid>.sock; graceful up's <pid>.up.sock), the status channel and the
// sd_notify socket (<pid>.<n>.status, <pid>.<n>.notify). A graceful that is SIGKILLed cannot
// remove its sockets; the names make them findable, and the next graceful removes those
// whose graceful is gone (a restarted container's PID 1 replaces its own at once), so
// nothing piles up in /tmp (issue 24).
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadedLibc } from '../process/ffi.js';

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
  const path = join(dir, `${process.pid}.${++made}.${kind}`);
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
  let bound: Set<string> | null | undefined;
  for (const name of names) {
    const m = SOCKET_NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    // Control sockets of this pid are the coordinator's to replace (control.ts).
    if (pid === process.pid ? name.endsWith('.sock') : !gone(pid)) continue;
    // A graceful in a PID namespace of its own (a container's PID 1 sharing the host's /tmp,
    // `unshare --pid`) sees every other graceful's pid as gone, and the same pids as its
    // own: a socket still bound by a live process (the kernel's list of Unix sockets, per
    // network namespace, not per PID namespace) is someone's, whatever its pid says.
    bound ??= boundUnixPaths();
    const path = join(dir, name);
    if (bound?.has(path)) continue;
    removeSocketFile(path);
  }
}

// The paths of the Unix sockets bound in this network namespace (/proc/net/unix), or null
// where it cannot be read.
function boundUnixPaths(): Set<string> | null {
  let text: string;
  try {
    text = readFileSync('/proc/net/unix', 'utf8');
  } catch {
    return null;
  }
  const paths = new Set<string>();
  for (const line of text.split('\n').slice(1)) {
    // Num RefCount Protocol Flags Type St Inode Path: the path is the 8th field, to the end.
    const fields = line.trim().split(/\s+/);
    if (fields.length >= 8 && fields[7]!.startsWith('/')) paths.add(fields.slice(7).join(' '));
  }
  return paths;
}

// Removes a socket file, if that is what is there.
export function removeSocketFile(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // not there
  }
}
