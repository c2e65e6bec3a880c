// What /proc says about one process of the audited tree: its descriptors, what it has open
// for writing, its command line and parent, the address it passed to connect(); and, as a
// fallback only, its sockets as /proc/PID/net lists them (sockets.ts asks the sockets
// themselves, which costs the same on any host). Synchronous on purpose: the receiver
// (receiver.ts) reads while the process waits in a trapped call, in a worker thread of its own.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { endianness } from 'node:os';
import { compress, decodeSockaddr } from './sockets.js';
import type { OpenAtExit, SocketInfo, SocketProto, TcpState } from '../../core/audit/types.js';

const LE = endianness() === 'LE';

/** One row of /proc/PID/net/{tcp,tcp6,udp,udp6,unix}. */
export interface SocketRow {
  proto: SocketProto;
  local: string | null;
  peer: string | null;
  state: TcpState | null;
}

// include/net/tcp_states.h, from 1.
const TCP_STATES: TcpState[] = ['unknown', 'established', 'syn-sent', 'syn-recv', 'fin-wait1', 'fin-wait2', 'time-wait', 'close', 'close-wait', 'last-ack', 'listen', 'closing'];

// The descriptor's target (socket:[123], pipe:[4], /path), or null if it is gone.
export function fdTarget(pid: number, fd: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/fd/${fd}`);
  } catch {
    return null;
  }
}

// The inode of "socket:[123]", or null for anything else.
export function socketInode(target: string | null): number | null {
  const m = target && /^socket:\[(\d+)\]$/.exec(target);
  return m ? Number(m[1]) : null;
}

// The sockets of the process's network namespace, by inode: TCP and UDP (v4, v6) and Unix.
// `only`: the tables worth reading (one family, when the caller knows it).
export function socketTable(pid: number, only?: readonly string[]): Map<number, SocketRow> {
  const rows = new Map<number, SocketRow>();
  for (const name of only ?? ['tcp', 'tcp6', 'udp', 'udp6', 'unix']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${name}`, 'latin1');
    } catch {
      continue;
    }
    const lines = text.split('\n');
    for (let i = 1; i < lines.length; i++) {
      const f = lines[i]!.trim().split(/\s+/);
      if (name === 'unix') {
        // Num RefCount Protocol Flags Type St Inode [Path]
        if (f.length < 7) continue;
        const type = parseInt(f[4]!, 16);
        const proto: SocketProto = type === 1 ? 'unix-stream' : type === 2 ? 'unix-dgram' : type === 5 ? 'unix-seqpacket' : 'other';
        rows.set(Number(f[6]), { proto, local: f[7] ?? null, peer: null, state: null });
      } else {
        // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
        if (f.length < 10) continue;
        const tcp = name.startsWith('tcp');
        rows.set(Number(f[9]), {
          proto: name as SocketProto,
          local: address(f[1]!),
          peer: address(f[2]!),
          state: tcp ? (TCP_STATES[parseInt(f[3]!, 16)] ?? 'unknown') : null,
        });
      }
    }
  }
  return rows;
}

// "0100007F:1F90" -> "127.0.0.1:8080"; the 128-bit form -> "[::1]:8080". The kernel prints
// each 32-bit word of the address in host byte order.
function address(hex: string): string {
  const [addr, port] = hex.split(':') as [string, string];
  const words = addr.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => {
    const b = w.match(/../g)!.map((x) => parseInt(x, 16));
    return LE ? b.reverse() : b;
  });
  const p = parseInt(port, 16);
  if (bytes.length === 4) return `${bytes.join('.')}:${p}`;
  // An IPv4-mapped address (::ffff:a.b.c.d) as IPv4: that is what the program asked for.
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return `${bytes.slice(12).join('.')}:${p}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return `[${compress(groups)}]:${p}`;
}

// Is the descriptor open for writing (O_WRONLY or O_RDWR, from /proc/PID/fdinfo's flags)?
export function openForWriting(pid: number, fd: number): boolean {
  try {
    const flags = /^flags:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'latin1'));
    const mode = flags ? parseInt(flags[1]!, 8) & 3 : 0;
    return mode === 1 || mode === 2;
  } catch {
    return false;
  }
}

// What the process has open: its sockets (as `socket` describes each) and the regular files
// it has open for writing. Standard input, output and error are left out (a redirection to
// a log file is not the program's to close), and so is another descriptor of the same file
// as its standard output or error (nginx points its stderr at its error log, and writes the
// log through both), as are /dev and /proc.
export function openAtExit(pid: number, socket: (fd: number, inode: number) => SocketInfo | null): OpenAtExit[] {
  const out: OpenAtExit[] = [];
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  const stdio = new Set([fdTarget(pid, 1), fdTarget(pid, 2)]);
  for (const name of fds) {
    const fd = Number(name);
    const target = fdTarget(pid, fd);
    if (target === null) continue;
    const inode = socketInode(target);
    if (inode !== null) {
      const s = socket(fd, inode);
      out.push({ fd, socket: { inode, proto: s?.proto ?? 'other', local: s?.local ?? null, peer: s?.peer ?? null, state: s?.state ?? null, bytesReceived: s?.bytesReceived ?? null, peerSpokeLast: s?.peerSpokeLast ?? null }, file: null });
      continue;
    }
    if (fd <= 2 || !target.startsWith('/') || target.startsWith('/dev/') || target.startsWith('/proc/') || stdio.has(target)) continue;
    if (openForWriting(pid, fd)) out.push({ fd, socket: null, file: target });
  }
  return out;
}

// `root` and its live descendants, from one scan of /proc (each process's parent, in its stat).
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (f[0] === 'Z' || f[0] === 'X') continue;
      const ppid = Number(f[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  if (alive(root)) walk(root);
  return out;
}

// Is the process alive: neither gone, nor a zombie, nor on its way out? (A process killed by
// a signal has its descriptors closed by the kernel while it exits, before it is a zombie:
// PF_EXITING, in the flags of /proc/PID/stat, tells that window apart.)
const PF_EXITING = 0x4;
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return f[0] !== 'Z' && f[0] !== 'X' && (Number(f[6]) & PF_EXITING) === 0;
  } catch {
    return false;
  }
}

// The command line (NUL-separated), or [] if it is gone.
export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
  } catch {
    return [];
  }
}

// The thread's process (Tgid) and that process's parent (PPid), from /proc/TID/status
// (readable for any thread id, listed or not).
export function threadOf(tid: number): { tgid: number; ppid: number } | null {
  try {
    const status = readFileSync(`/proc/${tid}/status`, 'latin1');
    const tgid = /^Tgid:\s*(\d+)/m.exec(status);
    const ppid = /^PPid:\s*(\d+)/m.exec(status);
    return tgid && ppid ? { tgid: Number(tgid[1]), ppid: Number(ppid[1]) } : null;
  } catch {
    return null;
  }
}

// The socket address a thread passed to connect(), read from its memory (process_vm_readv:
// graceful check is its ancestor, which ptrace's access rule asks of a reader), as text:
// "127.0.0.1:5432", "[::1]:6379", "/run/x.sock", "@abstract". Null if unreadable.
export function sockaddrAt(readMemory: (pid: number, address: bigint, buf: Buffer) => number, tid: number, pointer: bigint, length: number): string | null {
  const len = Math.min(Math.max(length, 0), 128);
  if (len < 2 || pointer === 0n) return null;
  const buf = Buffer.alloc(len);
  if (readMemory(tid, pointer, buf) < len) return null;
  return decodeSockaddr(buf, len);
}
