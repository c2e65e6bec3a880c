// core/audit/verdicts.ts: connections-closed, cleanup-order and files-closed from what the
// audit saw of every process, for any language. Pure: processes built by hand, times in ms
// from a stop at t = 1000.
import { describe, expect, it } from 'vitest';
import type { AuditedProcess, OutboundConnection } from '../../src/core/audit/types.js';
import { auditVerdicts, earlyReleases, processName, WITH_ITS_REQUEST_MS, type AuditContext } from '../../src/core/audit/verdicts.js';

const STOP = 1000;
const ctx: AuditContext = {
  stopAt: STOP,
  fmt: (ms) => `${Math.round(ms)}ms`,
  peerName: (peer) => (peer.endsWith(':5432') ? `postgres ${peer}` : peer.endsWith(':6379') ? `redis ${peer}` : peer),
};
const REDIS = '127.0.0.1:6379';
const PG = '127.0.0.1:5432';

let inode = 100;
function conn(peer: string, openedAt: number, end: OutboundConnection['end'], releasedAt: number | null = null): OutboundConnection {
  return { inode: inode++, proto: 'tcp', peer, local: `127.0.0.1:${40000 + inode}`, tid: 1, fd: 5, openedAt, end, releasedAt, stateAtEnd: null };
}

// A server: listening before the stop, serving 2 connections at the stop.
function proc(pid: number, argv: string[], over: Partial<AuditedProcess> = {}): AuditedProcess {
  return {
    pid,
    ppid: 1,
    argv,
    firstSeenAt: 0,
    outbound: [],
    listeners: [{ inode: 1, proto: 'tcp', local: '127.0.0.1:8080', listenedAt: 10, closedAt: 1005 }],
    inboundAtStop: [
      { inode: 2, local: '127.0.0.1:8080', peer: '127.0.0.1:50000', closedAt: 1700 },
      { inode: 3, local: '127.0.0.1:8080', peer: '127.0.0.1:50001', closedAt: 1710 },
    ],
    exit: { at: 1800, code: 0, open: [] },
    endedBy: 'exit',
    ...over,
  };
}
const PY = ['/usr/bin/python3', '/app/db-app.py', '8080'];
const byName = (ps: AuditedProcess[], c: AuditContext = ctx) => Object.fromEntries(auditVerdicts(ps, c).map((v) => [v.name, v]));

describe('the audit verdicts, for any program', () => {
  it('names a process by its executable and script, as people say it', () => {
    expect(processName(proc(7, PY))).toBe('python3 db-app.py (pid 7)');
    expect(processName(proc(8, ['/tmp/x/db-app', '8080']))).toBe('db-app (pid 8)');
    expect(processName(proc(9, []))).toBe('pid 9');
  });

  it('a good shutdown: every check ok, the observed order said, in words for any language', () => {
    const v = byName([proc(7, PY, { outbound: [conn(REDIS, 20, 'closed', 1760), conn(PG, 30, 'closed', 1750)] })]);
    expect(v['connections-closed']).toMatchObject({ ok: true, pids: [] });
    expect(v['connections-closed']!.detail).toBe(`all 2 outbound connection(s) ended before exit: python3 db-app.py (pid 7): redis ${REDIS}, postgres ${PG}`);
    expect(v['cleanup-order']).toMatchObject({ ok: true });
    expect(v['cleanup-order']!.detail).toBe(`python3 db-app.py (pid 7): stopped listening +5ms, 2 connection(s) it served done +710ms, postgres ${PG} closed +750ms, redis ${REDIS} closed +760ms (the reverse order of opening)`);
    expect(v['files-closed']).toMatchObject({ ok: true, detail: 'no file open for writing when python3 db-app.py (pid 7) exited' });
    for (const x of Object.values(v)) expect(x.detail).not.toMatch(/server\.close|process\.exit|pool\.end|quit\(\)|Node/);
  });

  it('connections left to the kernel fail connections-closed, naming each process of the tree that left some', () => {
    const worker = (pid: number) => proc(pid, ['/usr/bin/node', '/app/cluster-app.js'], { outbound: [conn(REDIS, 20, 'kernel'), conn(PG, 30, 'kernel'), conn(PG, 31, 'kernel')] });
    const v = byName([proc(5, ['/usr/bin/node', '/app/cluster-app.js']), worker(6), worker(7)]);
    expect(v['connections-closed']).toMatchObject({ ok: false, pids: [6, 7] });
    expect(v['connections-closed']!.detail).toMatch(
      new RegExp(`^node cluster-app\\.js \\(pid 6\\) had 3 connections still open when it exited, closed by the kernel, not by the program: redis ${REDIS}, postgres ${PG} \\(x2\\); node cluster-app\\.js \\(pid 7\\) had 3 connections .*: close each connection once the work that needs it is done`),
    );
  });

  it("a connection the peer had closed first (CLOSE_WAIT at exit) is not cut", () => {
    const v = byName([proc(7, PY, { outbound: [conn(PG, 30, 'peer')] })]);
    expect(v['connections-closed']!.ok).toBe(true);
    expect(v['connections-closed']!.detail).toContain('1 of them closed by the peer first');
  });

  it('an idle HTTP keep-alive connection left to the kernel is a note in an ok line, not a failure; one with a request on it fails', () => {
    const idle = conn('127.0.0.1:9000', 20, 'kernel');
    const busy = conn('127.0.0.1:9000', 25, 'kernel');
    const known: AuditContext['known'] = (_p, c) => (c === idle ? { idleHttp: "fetch()'s pool can be closed before exiting" } : null);
    const ok = byName([proc(7, ['/usr/bin/node', '/app/fetches.js'], { outbound: [idle] })], { ...ctx, known });
    expect(ok['connections-closed']).toMatchObject({ ok: true });
    expect(ok['connections-closed']!.detail).toBe(
      "no outbound connection was cut (node fetches.js (pid 7): 127.0.0.1:9000): node fetches.js (pid 7) left an idle HTTP keep-alive connection to the kernel (127.0.0.1:9000): no request was on it, so nothing is lost; fetch()'s pool can be closed before exiting",
    );
    const bad = byName([proc(7, ['/usr/bin/node', '/app/fetches.js'], { outbound: [idle, busy] })], { ...ctx, known });
    expect(bad['connections-closed']).toMatchObject({ ok: false, pids: [7] });
    expect(bad['connections-closed']!.detail).toMatch(/^node fetches\.js \(pid 7\) had a connection still open when it exited.*\(note: node fetches\.js \(pid 7\) left an idle HTTP keep-alive connection/);
  });

  it('a dependency closed before the listener closed fails cleanup-order, and is an early release for the inflight hint', () => {
    const p = proc(7, PY, { outbound: [conn(REDIS, 20, 'closed', 1001), conn(PG, 30, 'closed', 1750)] });
    const v = byName([p]);
    expect(v['cleanup-order']).toMatchObject({ ok: false, pids: [7] });
    expect(v['cleanup-order']!.detail).toMatch(new RegExp(`^python3 db-app\\.py \\(pid 7\\) closed redis ${REDIS} at \\+1ms, before it stopped listening \\(\\+5ms\\)`));
    expect(earlyReleases([p], ctx)).toEqual([{ pid: 7, peer: REDIS, releasedAt: 1001 }]);
  });

  it('a dependency closed while connections it served were open fails cleanup-order', () => {
    const v = byName([proc(7, PY, { outbound: [conn(REDIS, 20, 'closed', 1300), conn(PG, 30, 'closed', 1750)] })]);
    expect(v['cleanup-order']!.ok).toBe(false);
    expect(v['cleanup-order']!.detail).toContain(`closed redis ${REDIS} at +300ms, while 2 connection(s) it was serving were still open (the last closed at +710ms)`);
  });

  it("a proxy's upstream connection, closed as the request it served ends (the response's last bytes and the client's close come just after), is not early", () => {
    const nginx = ['nginx: worker process is shutting down'];
    // The last served connection closed at +710ms.
    for (const gap of [1, WITH_ITS_REQUEST_MS]) {
      const v = byName([proc(7, nginx, { outbound: [conn('127.0.0.1:9000', 500, 'closed', 1705 - gap), conn('127.0.0.1:9000', 600, 'closed', 1710 - gap)] })]);
      expect(v['cleanup-order']).toMatchObject({ ok: true });
      expect(v['cleanup-order']!.detail).toBe(`nginx: worker process is shutting down (pid 7): stopped listening +5ms, 2 connection(s) it served done +710ms, 127.0.0.1:9000 closed +${710 - gap}ms`);
    }
    // Longer before: the work still in flight went on without it.
    const v = byName([proc(7, nginx, { outbound: [conn('127.0.0.1:9000', 600, 'closed', 1710 - WITH_ITS_REQUEST_MS - 1)] })]);
    expect(v['cleanup-order']!.ok).toBe(false);
  });

  it('released in the order of opening (not its reverse): never an ok line, whatever else went well', () => {
    const v = byName([proc(7, PY, { outbound: [conn(REDIS, 20, 'closed', 1750), conn(PG, 30, 'closed', 1760)] })]);
    expect(v['cleanup-order']!.ok).toBe(false);
    expect(v['cleanup-order']!.detail).toContain(`closed redis ${REDIS}, then postgres ${PG}: not the reverse of the order of opening (redis ${REDIS}, then postgres ${PG})`);
  });

  it('a file open for writing at exit fails files-closed, naming the process; a process killed by a signal is said unknown, not ok by silence', () => {
    const kept = proc(7, PY, { exit: { at: 1800, code: 0, open: [{ fd: 7, socket: null, file: '/var/log/app.log' }] } });
    expect(byName([kept])['files-closed']).toMatchObject({ ok: false, pids: [7], detail: 'python3 db-app.py (pid 7) exited with /var/log/app.log open for writing: close (and so flush) files before exiting, or what is still buffered is lost' });
    const killed = proc(8, ['/tmp/db-app'], { exit: null, endedBy: 'signal-or-unseen' });
    expect(byName([killed])['files-closed']).toMatchObject({ ok: null, detail: 'db-app (pid 8) did not exit by itself (killed, or still running): which files it had open is not known' });
  });

  it('nothing to order when no process let go of anything itself: n/a, not ok', () => {
    const v = byName([proc(7, PY, { listeners: [], inboundAtStop: [], outbound: [conn(PG, 30, 'kernel')] })]);
    expect(v['cleanup-order']!.ok).toBe(null);
  });
});
