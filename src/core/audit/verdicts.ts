// PURE: the three checks graceful check could not run outside Node (connections-closed,
// cleanup-order, files-closed), from what the audit saw, for every process of the tree and
// in words that fit any language. No I/O, no clock: a candidate for src/core/judge.ts,
// which would call it where it has no preload trace (see docs/audit-notes.md).
import type { AuditedProcess, OutboundConnection } from './types.js';

export interface AuditVerdict {
  name: 'connections-closed' | 'cleanup-order' | 'files-closed';
  /** true: passed; false: failed; null: nothing to judge (n/a) or not knowable (see detail). */
  ok: boolean | null;
  detail: string;
  /** The processes a failure is about. */
  pids: number[];
}

// "python3 db-app.py (pid 12)": the executable's base name and the script's, as people say it.
export function processName(p: AuditedProcess): string {
  const base = (s: string) => s.slice(s.lastIndexOf('/') + 1);
  const [exe, ...args] = p.argv;
  if (!exe) return `pid ${p.pid}`;
  const script = args.find((a) => !a.startsWith('-') && /\.[a-z]+$/i.test(a));
  return `${base(exe)}${script ? ` ${base(script)}` : ''} (pid ${p.pid})`;
}

// "127.0.0.1:5432 (x2)": a pool's connections to one peer counted once.
function peers(cs: readonly OutboundConnection[]): string {
  const counts = new Map<string, number>();
  for (const c of cs) counts.set(c.peer, (counts.get(c.peer) ?? 0) + 1);
  return [...counts].map(([peer, n]) => (n > 1 ? `${peer} (x${n})` : peer)).join(', ');
}

/**
 * The three verdicts. `stopAt`: when the stop signal went (the stop snapshot's time);
 * `fmt` formats milliseconds for people.
 */
export function auditVerdicts(processes: readonly AuditedProcess[], stopAt: number, fmt: (ms: number) => string): AuditVerdict[] {
  return [connectionsClosed(processes), cleanupOrder(processes, stopAt, fmt), filesClosed(processes)];
}

function connectionsClosed(processes: readonly AuditedProcess[]): AuditVerdict {
  const name = 'connections-closed';
  const failures: string[] = [];
  const pids: number[] = [];
  let total = 0;
  for (const p of processes) {
    total += p.outbound.length;
    const kernel = p.outbound.filter((c) => c.end === 'kernel' || c.end === 'died');
    if (kernel.length === 0) continue;
    pids.push(p.pid);
    const when = p.endedBy === 'exit' ? 'when it exited' : 'when it was killed';
    failures.push(`${processName(p)} had ${kernel.length === 1 ? 'a connection' : `${kernel.length} connections`} still open ${when}, closed by the kernel, not by the program: ${peers(kernel)}`);
  }
  if (failures.length > 0) {
    return {
      name,
      ok: false,
      pids,
      detail: `${failures.join('; ')}: close each connection once the work that needs it is done, and before exiting (the server sees the client vanish: an open transaction is rolled back, a command not yet sent is lost)`,
    };
  }
  const unknown = processes.filter((p) => p.outbound.some((c) => c.end === 'unknown'));
  if (unknown.length > 0) return { name, ok: null, pids: [], detail: `${unknown.map(processName).join(', ')} still ran when the audit ended: whether it closes its connections is not known` };
  if (total === 0) return { name, ok: true, pids: [], detail: `no process of the program opened an outbound connection (${processes.length} process(es) audited)` };
  const who = processes.filter((p) => p.outbound.length > 0);
  const byPeer = processes.flatMap((p) => p.outbound.filter((c) => c.end === 'peer'));
  // Closed by the peer first (CLOSE_WAIT at exit): in answer to the program's goodbye (a
  // Postgres Terminate), or on the peer's own timeout. Nothing was cut.
  const note = byPeer.length > 0 ? ` (${byPeer.length} of them closed by the peer first, the program exiting before its own close: ${peers(byPeer)})` : '';
  return { name, ok: true, pids: [], detail: `all ${total} outbound connection(s) ended before exit: ${who.map((p) => `${processName(p)}: ${peers(p.outbound)}`).join('; ')}${note}` };
}

/** A process's shutdown, as the order rule reads it. */
interface Steps {
  /** When its listening sockets (open at the stop) were all closed; null: one never was. */
  listenerClosedAt: number | null;
  listening: boolean;
  /** Accepted connections open at the stop, and when the last of them was closed (null: one was cut at exit). */
  inbound: number;
  inboundDoneAt: number | null;
  /** Its dependencies open at the stop, one per peer (a pool is one), in the order opened. */
  deps: { peer: string; openedAt: number; releasedAt: number | null }[];
}

function steps(p: AuditedProcess, stopAt: number): Steps {
  const listeners = p.listeners.filter((l) => l.listenedAt <= stopAt && (l.closedAt === null || l.closedAt >= stopAt));
  const closes = listeners.map((l) => l.closedAt);
  const inbound = p.inboundAtStop ?? [];
  const ends = inbound.map((i) => i.closedAt);
  const groups = new Map<string, { peer: string; openedAt: number; releasedAt: number | null }>();
  const open = p.outbound.filter((c) => c.openedAt < stopAt && (c.releasedAt === null || c.releasedAt >= stopAt) && c.end !== 'unknown');
  for (const c of open.sort((a, b) => a.openedAt - b.openedAt)) {
    const g = groups.get(c.peer);
    const released = c.end === 'kernel' || c.end === 'died' ? null : c.releasedAt;
    if (!g) groups.set(c.peer, { peer: c.peer, openedAt: c.openedAt, releasedAt: released });
    else g.releasedAt = g.releasedAt === null || released === null ? null : Math.max(g.releasedAt, released);
  }
  return {
    listening: listeners.length > 0,
    listenerClosedAt: closes.length === 0 || closes.includes(null) ? null : Math.max(...(closes as number[])),
    inbound: inbound.length,
    inboundDoneAt: ends.length === 0 || ends.includes(null) ? null : Math.max(...(ends as number[])),
    deps: [...groups.values()],
  };
}

function cleanupOrder(processes: readonly AuditedProcess[], stopAt: number, fmt: (ms: number) => string): AuditVerdict {
  const name = 'cleanup-order';
  const at = (t: number) => `+${fmt(Math.max(0, t - stopAt))}`;
  const failures: string[] = [];
  const pids: number[] = [];
  const oks: string[] = [];
  for (const p of processes) {
    const s = steps(p, stopAt);
    const released = s.deps.filter((d) => d.releasedAt !== null);
    if (released.length === 0) continue; // nothing the program let go of itself: connections-closed says the rest
    const problems: string[] = [];
    // Let go of while there was still work that needed it: before the listener closed (new
    // work could still come in), or before the connections it was serving were done.
    for (const d of released) {
      if (s.listening && (s.listenerClosedAt === null || d.releasedAt! < s.listenerClosedAt)) {
        problems.push(`closed ${d.peer} at ${at(d.releasedAt!)}, before it stopped listening${s.listenerClosedAt !== null ? ` (${at(s.listenerClosedAt)})` : ''}`);
      } else if (s.inbound > 0 && (s.inboundDoneAt === null || d.releasedAt! < s.inboundDoneAt)) {
        problems.push(`closed ${d.peer} at ${at(d.releasedAt!)}, while ${s.inbound} connection(s) it was serving were still open${s.inboundDoneAt !== null ? ` (the last closed at ${at(s.inboundDoneAt)})` : ''}`);
      }
    }
    // The reverse of the order of opening: what was opened last is closed first. Two releases
    // seen at the same instant (closes followed by looking, FOLLOW_MS apart) are in any order.
    const byRelease = [...released].sort((a, b) => a.releasedAt! - b.releasedAt! || b.openedAt - a.openedAt);
    const inverted = released.some((a) => released.some((b) => a.openedAt < b.openedAt && a.releasedAt! < b.releasedAt!));
    if (inverted) {
      problems.push(`closed ${byRelease.map((d) => d.peer).join(', then ')}; opened ${[...released].sort((a, b) => a.openedAt - b.openedAt).map((d) => d.peer).join(', then ')}`);
    }
    const observed = [
      ...(s.listening ? [s.listenerClosedAt !== null ? `stopped listening ${at(s.listenerClosedAt)}` : 'listened until exit'] : []),
      ...(s.inbound > 0 ? [s.inboundDoneAt !== null ? `${s.inbound} connection(s) it served done ${at(s.inboundDoneAt)}` : `${s.inbound} connection(s) it served cut at exit`] : []),
      ...byRelease.map((d) => `${d.peer} closed ${at(d.releasedAt!)}`),
    ].join(', ');
    if (problems.length > 0) {
      pids.push(p.pid);
      failures.push(`${processName(p)} ${problems.join('; ')} (observed: ${observed})`);
    } else oks.push(`${processName(p)}: ${observed}`);
  }
  if (failures.length > 0) {
    return { name, ok: false, pids, detail: `${failures.join('; ')}: stop accepting first, let the work in flight finish, then close dependencies in the reverse order of opening` };
  }
  if (oks.length === 0) return { name, ok: null, pids: [], detail: 'nothing to order: no process let go of a connection it had open at the stop' };
  return { name, ok: true, pids: [], detail: `${oks.join('; ')} (the reverse order of opening)` };
}

function filesClosed(processes: readonly AuditedProcess[]): AuditVerdict {
  const name = 'files-closed';
  const failures: string[] = [];
  const pids: number[] = [];
  for (const p of processes) {
    const files = (p.exit?.open ?? []).flatMap((o) => (o.file ? [o.file] : []));
    if (files.length === 0) continue;
    pids.push(p.pid);
    failures.push(`${processName(p)} exited with ${files.join(', ')} open for writing`);
  }
  if (failures.length > 0) return { name, ok: false, pids, detail: `${failures.join('; ')}: close (and so flush) files before exiting, or what is still buffered is lost` };
  const killed = processes.filter((p) => p.endedBy !== 'exit');
  if (killed.length > 0) return { name, ok: null, pids: [], detail: `${killed.map(processName).join(', ')} did not exit by itself (killed, or still running): which files it had open is not known` };
  return { name, ok: true, pids: [], detail: `no file open for writing when ${processes.length === 1 ? 'it' : `each of its ${processes.length} processes`} exited` };
}
