// What graceful check reads about the child from /proc (Linux): which signals it catches
// or ignores, its open TCP connections, the ports it listens on. Elsewhere every answer is
// null ("cannot tell"), and the checks that need them say so.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { signalNumber } from '../../config/signals.js';
import type { SignalName } from '../../core/types.js';

/** What a process does with a signal, from /proc/PID/status (SigCgt, SigIgn). */
export type SignalHandling = 'caught' | 'ignored' | 'default';

// The disposition of `signal` in process `pid`, or null if it cannot be read.
export function disposition(pid: number, signal: SignalName): SignalHandling | null {
  const n = signalNumber(signal);
  if (n === null) return null;
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return null;
  }
  const mask = (field: string) => {
    const m = new RegExp(`^${field}:\\s*([0-9a-f]+)`, 'm').exec(status);
    return m ? BigInt(`0x${m[1]}`) : null;
  };
  const caught = mask('SigCgt');
  const ignored = mask('SigIgn');
  if (caught === null || ignored === null) return null;
  const bit = 1n << BigInt(n - 1);
  if (caught & bit) return 'caught';
  if (ignored & bit) return 'ignored';
  return 'default';
}

/** A TCP socket of the tree, from /proc/net/tcp and tcp6. */
export interface TcpSocket {
  port: number;
  state: 'listen' | 'established' | 'other';
}

// The TCP sockets held by `pids` (their open fds matched against /proc/net/tcp{,6}), or
// null where /proc cannot tell.
export function tcpSockets(pids: readonly number[]): TcpSocket[] | null {
  const table = tcpTable();
  if (table === null) return null;
  const inodes = socketInodes(pids);
  return table.filter((row) => inodes.has(Number(row.inode))).map(({ port, state }) => ({ port, state }));
}

// The inodes of the sockets `pids` hold open (their /proc/PID/fd links: socket:[inode]).
export function socketInodes(pids: readonly number[]): Set<number> {
  return new Set(socketOwners(pids).keys());
}

// The sockets `pids` hold open, each inode with the first of them found holding it.
export function socketOwners(pids: readonly number[]): Map<number, number> {
  const owners = new Map<number, number>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone meanwhile
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && !owners.has(Number(m[1]))) owners.set(Number(m[1]), pid);
      } catch {
        // closed meanwhile
      }
    }
  }
  return owners;
}

// Ports that some process (any process) listens on, among `ports`; null where /proc cannot tell.
export function stillListening(ports: readonly number[]): number[] | null {
  const table = tcpTable();
  if (table === null) return null;
  const bound = new Set(table.filter((row) => row.state === 'listen').map((row) => row.port));
  return ports.filter((p) => bound.has(p));
}

interface TcpRow extends TcpSocket {
  inode: string;
}

// Rows of /proc/net/tcp and /proc/net/tcp6: "sl local rem st ... uid timeout inode".
function tcpTable(): TcpRow[] | null {
  const rows: TcpRow[] = [];
  let any = false;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    any = true;
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const port = parseInt(f[1]!.split(':')[1]!, 16);
      const state = f[3] === '0A' ? 'listen' : f[3] === '01' ? 'established' : 'other';
      rows.push({ port, state, inode: f[9]! });
    }
  }
  return any ? rows : null;
}

// The value of variable `name` in the environment process `pid` started with (/proc), or
// null when it has none or it cannot be read (gone, another user's).
export function environValue(pid: number, name: string): string | null {
  try {
    const prefix = `${name}=`;
    const entry = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').find((e) => e.startsWith(prefix));
    return entry === undefined ? null : entry.slice(prefix.length);
  } catch {
    return null;
  }
}
