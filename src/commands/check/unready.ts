// graceful check --reload: did an instance take connections before it was ready? Every
// instance shares the held socket's one accept queue, so whichever process calls accept()
// takes the next connection, ready or not (docs/reload.md, "Serving before ready"). While an
// instance is starting, the kernel's table of connections on the held port (sock_diag,
// filtered by port in the kernel) is read every SAMPLE_MS, and each accepted connection's
// inode is looked for among the open descriptors of every process of the starting instances'
// trees (/proc/<pid>/fd, read just before and just after the table; a pre-fork server's
// workers accept, not its master): a match is a connection that a not-ready instance
// accepted. A connection opened, answered and closed between two readings is missed: the
// count is a floor, and one is a failure.
import type { Generation, GenState } from '../../core/generations.js';
import { kernelConnections, type DiagSocket } from '../../shell/probes/traffic.js';
import { socketOwners } from '../../shell/process/inspect.js';
import { scanProcs, type ProcInfo } from '../../shell/process/tree.js';
import { TCP_ESTABLISHED } from '../../shell/sockets/kernel.js';

// How often the table is read while an instance starts: short enough to see a
// new-connection client's request (a few ms each on loopback) most of the time.
const SAMPLE_MS = 10;
// A connection seen this long before graceful heard the instance was ready is not counted:
// a program starts accepting as it says it is ready, and the word (an IPC message, a log
// line, a probe's next poll) reaches graceful a little later.
const READY_SLACK_MS = 250;

/** The connections an instance accepted before it was ready. */
export interface Unready {
  generation: number;
  instance: number;
  pid: number;
  /** The processes of its tree that held them (its own pid, its workers'). */
  holders: number[];
  /** Distinct connections seen. */
  connections: number;
  /** When the first was seen, from the instance's start; when it was ready, from its start (null: never). */
  firstAfterMs: number;
  readyAfterMs: number | null;
}

// Watches `port` while `state()` has an instance starting; stop() resolves with what was seen
// (null where the kernel's table cannot be read).
export function watchUnready(port: number, state: () => GenState, now: () => number, read = kernelConnections, scan = scanProcs): { stop(): Promise<Unready[] | null> } {
  // Per instance, each connection (its socket cookie): when it was first seen, and the process that held it.
  const seen = new Map<string, { g: Generation; cookies: Map<string, { at: number; holder: number }> }>();
  let running = true;
  let readable = true;
  const loop = (async () => {
    while (running) {
      const starting = state().generations.filter((g) => g.role === 'starting' && g.pid !== null && g.readyAt === null);
      if (starting.length > 0) {
        // The starting instances' sockets, read twice: just before the table (the kernel
        // makes its first part as the request is sent, in this same tick) and again after
        // it. A server that answers at once holds a connection for well under a millisecond,
        // and the table comes back from the thread pool late under load (tens of ms): read
        // only after it, the descriptors were newer than the table, and a warming server's
        // 700 connections went unseen (seen under stress-ng).
        const trees = treesOf(starting.map((g) => g.pid!), scan());
        const before = new Map(starting.map((g) => [g, socketOwners(trees.get(g.pid!)!)]));
        // Established connections only, filtered by the kernel: with every state, the table
        // also held each connection the stream had closed (TIME_WAIT: 60 s, thousands after a
        // reload or two), many round trips through the thread pool for every reading.
        const table = await read([port], 1 << TCP_ESTABLISHED);
        if (table === null) {
          readable = false;
          return;
        }
        const at = now();
        const accepted = table.filter((s: DiagSocket) => s.state === TCP_ESTABLISHED && s.localPort === port && s.inode !== 0);
        if (accepted.length > 0) {
          for (const g of starting) {
            const held = new Map([...before.get(g)!, ...socketOwners(trees.get(g.pid!)!)]);
            // Ready meanwhile: what it holds now may have come after.
            const fresh = state().generations.find((x) => x.n === g.n && x.instance === g.instance);
            if (fresh?.readyAt != null) continue;
            for (const s of accepted) {
              const holder = held.get(s.inode);
              if (holder === undefined) continue;
              const key = `${g.n}.${g.instance}`;
              const entry = seen.get(key) ?? { g, cookies: new Map<string, { at: number; holder: number }>() };
              if (!entry.cookies.has(s.cookie)) entry.cookies.set(s.cookie, { at, holder });
              seen.set(key, entry);
            }
          }
        }
      }
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      if (!readable) return null;
      const final = state();
      return [...seen.values()].flatMap(({ g, cookies }) => {
        const last = final.generations.find((x) => x.n === g.n && x.instance === g.instance) ?? g;
        const start = last.startedAt ?? last.spawnAt;
        const before = [...cookies.values()].filter(({ at }) => last.readyAt === null || at < last.readyAt - READY_SLACK_MS);
        if (before.length === 0) return [];
        const holders = [...new Set(before.map((c) => c.holder))].sort((a, b) => a - b);
        const first = Math.min(...before.map((c) => c.at));
        return [{ generation: g.n, instance: g.instance, pid: g.pid!, holders, connections: before.length, firstAfterMs: Math.max(0, first - start), readyAfterMs: last.readyAt === null ? null : last.readyAt - start }];
      });
    },
  };
}

// Each root's tree in one scan of /proc: the root, the processes of its session (a daemon that
// left it is still in the session; generations start in sessions of their own), and their
// descendants by parentage.
export function treesOf(roots: readonly number[], procs: readonly ProcInfo[]): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const p of procs) {
    const siblings = children.get(p.ppid);
    if (siblings) siblings.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  return new Map(
    roots.map((root) => {
      const members = new Set([root, ...procs.filter((p) => p.sid === root).map((p) => p.pid)]);
      const queue = [...members];
      for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
        for (const child of children.get(pid) ?? []) {
          if (members.has(child)) continue;
          members.add(child);
          queue.push(child);
        }
      }
      return [root, [...members]];
    }),
  );
}
