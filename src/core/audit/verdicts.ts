// PURE: connections-closed, cleanup-order and files-closed from what the audit saw (any
// language, every process of the tree), in words that fit any language. core/judge.ts
// grades them; each failure names the process that has the defect.
import type { AuditedProcess, OutboundConnection } from './types.js';

export type AuditCheckName = 'connections-closed' | 'cleanup-order' | 'files-closed';

export interface AuditVerdict {
  name: AuditCheckName;
  /** true: passed; false: failed; null: nothing to judge (n/a) or not knowable (see detail). */
  ok: boolean | null;
  detail: string;
  /** The processes a failure is about. */
  pids: number[];
}

/**
 * What is known of a connection the kernel closed at exit, from inside the program (graceful
 * check's preload traces Node processes): an HTTP client's idle keep-alive connection (no
 * request on it: nothing is lost), with how to close it; or a connection whose goodbye the
 * program had already written (Postgres Terminate, Redis QUIT): the server saw a clean end.
 */
export type KnownEnd = { idleHttp: string } | { goodbye: true };

export interface AuditContext {
  /** When the stop signal went (or the stop began): the zero of the times said. */
  stopAt: number;
  /** Milliseconds for people. */
  fmt: (ms: number) => string;
  /** A peer as people know it: "postgres 127.0.0.1:5432" (the service there), else the address. */
  peerName?: (peer: string) => string;
  known?: (p: AuditedProcess, c: OutboundConnection) => KnownEnd | null;
}

/** What the in-flight hint needs: dependencies let go of while there was still work that needed them. */
export interface EarlyRelease {
  pid: number;
  peer: string;
  releasedAt: number;
}

// "python3 db-app.py (pid 12)": the executable's base name and the script's, as people say it.
export function processName(p: AuditedProcess): string {
  const base = (s: string) => s.slice(s.lastIndexOf('/') + 1);
  const [exe, ...args] = p.argv;
  if (!exe) return `pid ${p.pid}`;
  const script = args.find((a) => !a.startsWith('-') && /\.[a-z]+$/i.test(a));
  return `${base(exe)}${script ? ` ${base(script)}` : ''} (pid ${p.pid})`;
}

/** The three verdicts, and the early releases (for inflight's hint). */
export function auditVerdicts(processes: readonly AuditedProcess[], ctx: AuditContext): AuditVerdict[] {
  return [connectionsClosed(processes, ctx), cleanupOrder(processes, ctx).verdict, filesClosed(processes)];
}

// Dependencies each process let go of while work still needed them (see cleanup-order).
export function earlyReleases(processes: readonly AuditedProcess[], ctx: AuditContext): EarlyRelease[] {
  return cleanupOrder(processes, ctx).early;
}

// "postgres 127.0.0.1:5432 (x2)": a pool's connections to one peer counted once.
function peers(cs: readonly OutboundConnection[], ctx: AuditContext): string {
  const name = ctx.peerName ?? ((p: string) => p);
  const counts = new Map<string, number>();
  for (const c of cs) counts.set(name(c.peer), (counts.get(name(c.peer)) ?? 0) + 1);
  return [...counts].map(([peer, n]) => (n > 1 ? `${peer} (x${n})` : peer)).join(', ');
}

const plural = (n: number, one: string, many = `${one}s`) => `${n === 1 ? (/^[aeiou]/.test(one) ? 'an' : 'a') : n} ${n === 1 ? one : many}`;

function connectionsClosed(processes: readonly AuditedProcess[], ctx: AuditContext): AuditVerdict {
  const name = 'connections-closed';
  const failures: string[] = [];
  const notes: string[] = [];
  const pids: number[] = [];
  let total = 0;
  let goodbyes = 0;
  let idleCount = 0;
  for (const p of processes) {
    total += p.outbound.length;
    const cut: OutboundConnection[] = [];
    const idle = new Map<string, OutboundConnection[]>();
    for (const c of p.outbound.filter((x) => x.end === 'kernel' || x.end === 'died')) {
      const known = ctx.known?.(p, c) ?? null;
      if (known && 'goodbye' in known) goodbyes++;
      else if (known && 'idleHttp' in known) idle.set(known.idleHttp, [...(idle.get(known.idleHttp) ?? []), c]);
      else cut.push(c);
    }
    for (const [how, cs] of idle) {
      idleCount += cs.length;
      notes.push(`${processName(p)} left ${plural(cs.length, 'idle HTTP keep-alive connection')} to the kernel (${peers(cs, ctx)}): no request was on ${cs.length === 1 ? 'it' : 'them'}, so nothing is lost; ${how}`);
    }
    if (cut.length === 0) continue;
    pids.push(p.pid);
    const when = p.endedBy === 'exit' ? 'when it exited' : 'when it was killed';
    failures.push(`${processName(p)} had ${plural(cut.length, 'connection')} still open ${when}, closed by the kernel, not by the program: ${peers(cut, ctx)}`);
  }
  const noted = notes.length > 0 ? ` (note: ${notes.join('; ')})` : '';
  if (failures.length > 0) {
    return {
      name,
      ok: false,
      pids,
      detail: `${failures.join('; ')}: close each connection once the work that needs it is done, and before exiting (the server sees the client vanish: an open transaction is rolled back, a command not yet sent is lost)${noted}`,
    };
  }
  const unknown = processes.filter((p) => p.outbound.some((c) => c.end === 'unknown'));
  if (unknown.length > 0) return { name, ok: null, pids: [], detail: `${unknown.map(processName).join(', ')} still ran when the audit ended: whether it closes its connections is not known` };
  if (total === 0) return { name, ok: true, pids: [], detail: `no process of the program opened an outbound connection (${processes.length} process(es) audited)` };
  const who = processes.filter((p) => p.outbound.length > 0);
  const byPeer = processes.flatMap((p) => p.outbound.filter((c) => c.end === 'peer'));
  // Closed by the peer first (CLOSE_WAIT at exit): in answer to the program's goodbye (a
  // Postgres Terminate), or on the peer's own timeout. Nothing was cut.
  const peerNote = byPeer.length > 0 ? `; ${byPeer.length} of them closed by the peer first, the program exiting before its own close: ${peers(byPeer, ctx)}` : '';
  const byeNote = goodbyes > 0 ? `; ${goodbyes} of them ended by the program's goodbye (its protocol's last message written), the kernel finishing the close` : '';
  const opened = who.map((p) => `${processName(p)}: ${peers(p.outbound, ctx)}`).join('; ');
  if (idleCount === 0) return { name, ok: true, pids: [], detail: `all ${total} outbound connection(s) ended before exit: ${opened}${peerNote}${byeNote}` };
  const ended = total > idleCount ? `${total - idleCount} ended before exit${peerNote}${byeNote}; ` : '';
  return { name, ok: true, pids: [], detail: `no outbound connection was cut (${opened}): ${ended}${notes.join('; ')}` };
}

// A dependency let go of at most this long before the last connection the process served
// closed was let go of with that request: a proxy (nginx) closes a request's upstream
// connection, then writes the end of the response and closes the client's; with both cores
// busy the two were seen 1 ms apart and more (the process descheduled in between). A release
// while the work in flight still needed it comes the drain's length earlier (hundreds of ms).
export const WITH_ITS_REQUEST_MS = 50;

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

function steps(p: AuditedProcess, ctx: AuditContext): Steps {
  const { stopAt } = ctx;
  const listeners = p.listeners.filter((l) => l.listenedAt <= stopAt && (l.closedAt === null || l.closedAt >= stopAt));
  const closes = listeners.map((l) => l.closedAt);
  const inbound = p.inboundAtStop ?? [];
  const ends = inbound.map((i) => i.closedAt);
  const groups = new Map<string, { peer: string; openedAt: number; releasedAt: number | null }>();
  const open = p.outbound.filter((c) => c.openedAt < stopAt && (c.releasedAt === null || c.releasedAt >= stopAt) && c.end !== 'unknown');
  for (const c of open.sort((a, b) => a.openedAt - b.openedAt)) {
    const g = groups.get(c.peer);
    // A goodbye the program wrote is its release, the kernel only finishing the close: when
    // is not known (the program's exit at the latest).
    const known = c.end === 'kernel' ? (ctx.known?.(p, c) ?? null) : null;
    const said = known !== null && 'goodbye' in known;
    const released = said ? (p.exit?.at ?? null) : c.end === 'kernel' || c.end === 'died' ? null : c.releasedAt;
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

function cleanupOrder(processes: readonly AuditedProcess[], ctx: AuditContext): { verdict: AuditVerdict; early: EarlyRelease[] } {
  const name = 'cleanup-order';
  const at = (t: number) => `+${ctx.fmt(Math.max(0, t - ctx.stopAt))}`;
  const peerName = ctx.peerName ?? ((p: string) => p);
  const failures: string[] = [];
  const pids: number[] = [];
  const oks: string[] = [];
  const early: EarlyRelease[] = [];
  for (const p of processes) {
    const s = steps(p, ctx);
    const released = s.deps.filter((d) => d.releasedAt !== null);
    // Nothing the process let go of itself (its listener, the connections it served, its
    // dependencies all ended with its exit): no order to judge; connections-closed says the rest.
    const stepped = (s.listening && s.listenerClosedAt !== null) || (s.inbound > 0 && s.inboundDoneAt !== null);
    if (released.length === 0 && !stepped) continue;
    const problems: string[] = [];
    // Let go of while there was still work that needed it: before the listener closed (new
    // work could still come in), or before the connections it was serving were done.
    for (const d of released) {
      if (s.listening && (s.listenerClosedAt === null || d.releasedAt! < s.listenerClosedAt)) {
        problems.push(`closed ${peerName(d.peer)} at ${at(d.releasedAt!)}, before it stopped listening${s.listenerClosedAt !== null ? ` (${at(s.listenerClosedAt)})` : ''}`);
        early.push({ pid: p.pid, peer: d.peer, releasedAt: d.releasedAt! });
      } else if (s.inbound > 0 && (s.inboundDoneAt === null || s.inboundDoneAt - d.releasedAt! > WITH_ITS_REQUEST_MS)) {
        problems.push(`closed ${peerName(d.peer)} at ${at(d.releasedAt!)}, while ${s.inbound} connection(s) it was serving were still open${s.inboundDoneAt !== null ? ` (the last closed at ${at(s.inboundDoneAt)})` : ''}`);
        early.push({ pid: p.pid, peer: d.peer, releasedAt: d.releasedAt! });
      }
    }
    // The reverse of the order of opening: what was opened last is closed first. Two releases
    // seen at the same instant (closes followed by looking, FOLLOW_MS apart) are in any order.
    const byRelease = [...released].sort((a, b) => a.releasedAt! - b.releasedAt! || b.openedAt - a.openedAt);
    const inverted = released.some((a) => released.some((b) => a.openedAt < b.openedAt && a.releasedAt! < b.releasedAt!));
    if (inverted) {
      problems.push(`closed ${byRelease.map((d) => peerName(d.peer)).join(', then ')}: not the reverse of the order of opening (${[...released].sort((a, b) => a.openedAt - b.openedAt).map((d) => peerName(d.peer)).join(', then ')})`);
    }
    const observed = [
      ...(s.listening ? [s.listenerClosedAt !== null ? `stopped listening ${at(s.listenerClosedAt)}` : 'listened until exit'] : []),
      ...(s.inbound > 0 ? [s.inboundDoneAt !== null ? `${s.inbound} connection(s) it served done ${at(s.inboundDoneAt)}` : `${s.inbound} connection(s) it served cut at exit`] : []),
      ...byRelease.map((d) => `${peerName(d.peer)} closed ${at(d.releasedAt!)}`),
    ].join(', ');
    if (problems.length > 0) {
      pids.push(p.pid);
      failures.push(`${processName(p)} ${problems.join('; ')} (observed: ${observed})`);
    } else oks.push(`${processName(p)}: ${observed}${released.length > 1 ? ' (the reverse order of opening)' : ''}`);
  }
  if (failures.length > 0) {
    return { early, verdict: { name, ok: false, pids, detail: `${failures.join('; ')}: stop accepting first, let the work in flight finish, then close dependencies in the reverse order of opening` } };
  }
  if (oks.length === 0) return { early, verdict: { name, ok: null, pids: [], detail: 'nothing to order: no process closed its listener, finished the connections it served or let go of a connection it had open at the stop (each ended with its exit)' } };
  return { early, verdict: { name, ok: true, pids: [], detail: oks.join('; ') } };
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
  const exited = processes.filter((p) => p.endedBy === 'exit');
  const killed = processes.filter((p) => p.endedBy !== 'exit');
  const unknown = killed.length > 0 ? `${killed.map(processName).join(', ')} did not exit by itself (killed, or still running): which files it had open is not known` : '';
  if (exited.length === 0) return { name, ok: null, pids: [], detail: unknown || 'no process of the program was seen' };
  const said = `no file open for writing when ${exited.length === 1 ? `${processName(exited[0]!)}` : `each of its ${exited.length} processes`} exited`;
  return { name, ok: true, pids: [], detail: unknown ? `${said}; ${unknown}` : said };
}
