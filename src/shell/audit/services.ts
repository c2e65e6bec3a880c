// Names for the peers of the audited program: for a peer on this host, the process that
// listens at its address (the kernel's table of listening sockets through sock_diag, then
// the process holding that socket in /proc/PID/fd), so that a line says "postgres
// 127.0.0.1:40123" whatever port the database was given. Read once, after the run; a peer
// elsewhere, or a process graceful may not look into (another user's, without root), keeps
// its bare address (or its well-known port's name: core/trace.ts).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { libc } from '../process/ffi.js';
import { parseDiag } from '../probes/traffic.js';
import { AF_INET, AF_INET6, TCP_LISTEN } from '../sockets/kernel.js';

// Server programs by their process name, as people name the service.
const SERVICE_OF_COMMAND: Record<string, string> = {
  postgres: 'postgres',
  postmaster: 'postgres',
  'redis-server': 'redis',
  'valkey-server': 'redis',
  mysqld: 'mysql',
  mariadbd: 'mysql',
  mongod: 'mongodb',
  memcached: 'memcached',
};


// "127.0.0.1:5432" -> { host, port }; "[::1]:6379" too; null for a Unix path.
function split(peer: string): { host: string; port: number } | null {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(peer);
  return m ? { host: m[1]!, port: Number(m[2]) } : null;
}

// This host's own addresses (a peer there is served by a process graceful may see).
function localHosts(): Set<string> {
  const hosts = new Set(['127.0.0.1', '::1', '0.0.0.0', '::']);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) hosts.add(a.address);
  return hosts;
}

// peer address -> the service listening there (its process's name), for the peers it finds.
export async function servicesAt(peers: readonly string[]): Promise<Record<string, string>> {
  const lib = libc();
  if (typeof lib === 'string') return {};
  const local = localHosts();
  const byPort = new Map<number, string[]>();
  for (const peer of new Set(peers)) {
    const at = split(peer);
    if (!at || !(local.has(at.host) || at.host.startsWith('127.'))) continue;
    byPort.set(at.port, [...(byPort.get(at.port) ?? []), peer]);
  }
  if (byPort.size === 0) return {};
  // The listening sockets on those ports, by inode.
  const portOf = new Map<number, number>();
  for (const port of byPort.keys()) {
    const [v4, v6] = await Promise.all([lib.sockDiagTcp(AF_INET, port, 1 << TCP_LISTEN), lib.sockDiagTcp(AF_INET6, port, 1 << TCP_LISTEN)]);
    for (const s of [...(v4 ? parseDiag(v4) : []), ...(v6 ? parseDiag(v6) : [])]) if (s.state === TCP_LISTEN && s.localPort === port) portOf.set(s.inode, port);
  }
  const out: Record<string, string> = {};
  const left = new Set(portOf.keys());
  for (const pid of left.size > 0 ? readdirSync('/proc').filter((n) => /^\d+$/.test(n)) : []) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to look into
    }
    for (const fd of fds) {
      let inode: number;
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (!m) continue;
        inode = Number(m[1]);
      } catch {
        continue;
      }
      if (!left.has(inode)) continue;
      left.delete(inode);
      let comm: string;
      try {
        comm = readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
      } catch {
        continue;
      }
      for (const peer of byPort.get(portOf.get(inode)!) ?? []) out[peer] = SERVICE_OF_COMMAND[comm] ?? comm;
    }
    if (left.size === 0) break;
  }
  return out;
}
