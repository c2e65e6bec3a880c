// The judge's resource checks on traces written by hand: exact times, each rule alone.
import { describe, expect, it } from 'vitest';
import { CHECKS, judge, type Observations } from '../../src/core/judge.js';
import { parseTrace } from '../../src/core/trace.js';
import { human } from '../../src/report/human.js';
import { Sim } from './sim.js';

// A run stopped by graceful check at t=1000 that exited 0 at `exitAt`.
function stopped(exitAt: number) {
  const sim = Sim.started({});
  sim.now = 1000;
  sim.feed({ type: 'stop', trigger: 'check' });
  sim.now = exitAt;
  sim.feed({ type: 'child-exited', code: 0, signal: null, signo: null, survivors: 0 });
  return sim;
}

function obs(lines: object[]): Observations {
  const trace = parseTrace([{ e: 'start', pid: 100, argv: [] }, ...lines].map((l) => JSON.stringify(l)).join('\n'));
  return {
    main: 'app', judged: 'node app.js', readyProbe: null, afterMs: 1000, aborted: null, disposition: 'caught', inflight: null, probe: null, lbLag: null,
    tcpAtStop: null, tcpAtKill: null, survivors: [], leaked: [], trace, traceMissing: null, traces: trace ? [trace] : [], audit: null, auditMissing: null, tempLeft: [], ports: [], portsStillBound: [], maxShutdownMs: null,
  };
}

const check = (sim: Sim, o: Observations, name: string) => judge(sim.state.facts, sim.policy, o, human).find((c) => c.name === name)!;

describe('cleanup-order', () => {
  it('a worker that never listened: closing its queue then exiting is in order', () => {
    const sim = stopped(1300);
    const o = obs([
      { e: 'connect', id: 1, peer: '127.0.0.1:6379', via: 'ioredis', t: 10 },
      { e: 'release', id: 1, how: 'goodbye', t: 1200 },
      { e: 'exit', code: 0, open: [], files: [], t: 1290 },
    ]);
    expect(check(sim, o, 'cleanup-order')).toMatchObject({ status: 'ok', detail: 'redis 127.0.0.1:6379 closed +200ms' });
  });

  it("a pool's connections are one resource: released together after the drain, in reverse order of opening", () => {
    const sim = stopped(1500);
    const o = obs([
      { e: 'connect', id: 1, peer: '127.0.0.1:6379', via: '@redis/client', t: 10 },
      { e: 'connect', id: 2, peer: '127.0.0.1:5432', via: 'pg', t: 20 },
      { e: 'connect', id: 3, peer: '127.0.0.1:5432', via: 'pg', t: 30 },
      { e: 'listen', id: 1, addr: '127.0.0.1:3000', t: 40 },
      { e: 'req', id: 1, t: 900 },
      { e: 'unlisten', id: 1, t: 1001 },
      { e: 'res', id: 1, status: 200, t: 1400 },
      // The pool's sockets end in no particular order; the pool as a whole ends before Redis.
      { e: 'release', id: 3, how: 'goodbye', t: 1401 },
      { e: 'release', id: 2, how: 'goodbye', t: 1402 },
      { e: 'release', id: 1, how: 'goodbye', t: 1403 },
      { e: 'exit', code: 0, open: [], files: [], t: 1404 },
    ]);
    expect(check(sim, o, 'cleanup-order')).toMatchObject({
      status: 'ok',
      detail: 'listener closed +1ms, 1 in-flight request(s) done +400ms, postgres 127.0.0.1:5432 closed +402ms, redis 127.0.0.1:6379 closed +403ms; opened: redis 127.0.0.1:6379, postgres 127.0.0.1:5432 (reverse order of opening)',
    });
    expect(check(sim, o, 'connections-closed')).toMatchObject({ status: 'ok', detail: 'all 3 outbound connection(s) closed by the program: redis 127.0.0.1:6379, postgres 127.0.0.1:5432 (x2)' });
  });

  it('a dependency released while a request is in flight fails, named, with the observed order', () => {
    const sim = stopped(1500);
    const o = obs([
      { e: 'connect', id: 1, peer: '127.0.0.1:6379', via: 'redis', t: 10 },
      { e: 'listen', id: 1, addr: '127.0.0.1:3000', t: 40 },
      { e: 'req', id: 1, t: 900 },
      { e: 'unlisten', id: 1, t: 1001 },
      { e: 'release', id: 1, how: 'end', t: 1002 },
      { e: 'res', id: 1, status: 500, t: 1400 },
      { e: 'exit', code: 0, open: [], files: [], t: 1404 },
    ]);
    expect(check(sim, o, 'cleanup-order')).toMatchObject({
      status: 'fail',
      detail: 'redis 127.0.0.1:6379 closed before the work that needed it was done (observed: listener closed +1ms, redis 127.0.0.1:6379 closed +2ms, 1 in-flight request(s) done +400ms): stop accepting first, let in-flight work finish, then release dependencies in the reverse order of opening',
    });
  });

  it('everything cut by the exit is not an order: n/a, with where to look', () => {
    const sim = stopped(1010);
    const o = obs([
      { e: 'connect', id: 1, peer: '127.0.0.1:5432', via: 'pg', t: 10 },
      { e: 'listen', id: 1, addr: '127.0.0.1:3000', t: 40 },
      { e: 'req', id: 1, t: 900 },
      { e: 'exit', code: 0, open: [1], files: [], t: 1005 },
    ]);
    expect(check(sim, o, 'cleanup-order')).toMatchObject({ status: 'n/a', detail: 'nothing was released in any order: the listener, the requests in flight and the connections all ended with its exit at +5ms (see inflight and connections-closed)' });
    expect(check(sim, o, 'connections-closed')).toMatchObject({ status: 'fail' });
    expect(check(sim, o, 'connections-closed').detail).toMatch(/^a connection was still open when it exited, closed by the kernel, not by the program: postgres 127\.0\.0\.1:5432: /);
  });
});

describe('files-closed and a program that is not Node', () => {
  it('names a file left open for writing', () => {
    const o = obs([{ e: 'exit', code: 0, open: [], files: [{ fd: 21, path: '/var/log/app.log' }], t: 1100 }]);
    expect(check(stopped(1100), o, 'files-closed').detail).toMatch(/^open for writing when it exited: \/var\/log\/app\.log: /);
  });

  it('no trace: the three checks are not run, with the reason once', () => {
    const o = { ...obs([]), trace: null, traceMissing: "no trace of sleep (pid 7) from graceful check's Node preload" };
    const sim = stopped(1100);
    expect(check(sim, o, 'connections-closed')).toMatchObject({ status: 'not run', detail: "no trace of sleep (pid 7) from graceful check's Node preload" });
    expect(check(sim, o, 'cleanup-order')).toMatchObject({ status: 'not run', detail: 'no trace of the program (see connections-closed)' });
  });

  it('where the audit could not run and there is no trace: why, in one line, and the three not run', () => {
    const o = { ...obs([]), trace: null, traceMissing: 'no trace', audit: null, auditMissing: 'this kernel has no seccomp user notification (Linux 5.5 or later is needed)' };
    const sim = stopped(1100);
    expect(check(sim, o, 'connections-closed')).toMatchObject({ status: 'not run', detail: 'the audit of every process did not run: this kernel has no seccomp user notification (Linux 5.5 or later is needed)' });
    expect(check(sim, o, 'cleanup-order')).toMatchObject({ status: 'not run', detail: 'the audit did not run (see connections-closed)' });
    expect(check(sim, o, 'files-closed')).toMatchObject({ status: 'not run', detail: 'the audit did not run (see connections-closed)' });
  });
});

describe('the checklist', () => {
  const names = (checks: { name: string }[]) => checks.map((c) => c.name);

  it("comes in CHECKS's order, every check in every run: what was not set up is not run, with the option that runs it", () => {
    const sim = new Sim(Sim.started({}).policy, ['npm', 'start']);
    sim.feed({ type: 'started', pid: 100 });
    sim.now = 1000;
    sim.feed({ type: 'stop', trigger: 'check' });
    sim.now = 1100;
    sim.feed({ type: 'child-exited', code: 0, signal: null, signo: null, survivors: 0 });
    const all = { ...obs([]), inflight: { url: 'http://x/', results: [{ status: 200, error: null }] }, probe: { url: 'http://x/', attempts: [], inflightDoneAfterMs: null }, lbLag: { url: 'http://x/', lagMs: 2000, requests: [] } };
    expect(names(judge(sim.state.facts, sim.policy, all, human))).toEqual([...CHECKS]);
    const bare = judge(stopped(1100).state.facts, sim.policy, obs([]), human);
    expect(names(bare)).toEqual([...CHECKS]);
    const byName = (n: string) => bare.find((c) => c.name === n)!;
    expect(byName('launcher')).toEqual({ name: 'launcher', ok: null, status: 'n/a', detail: 'started directly, not through a launcher (npm start, sh -c)' });
    expect(byName('inflight')).toEqual({ name: 'inflight', ok: null, status: 'not run', detail: 'give --inflight URL (a slow endpoint) to have requests in flight at the stop' });
    expect(byName('new-work-refused')).toEqual({ name: 'new-work-refused', ok: null, status: 'not run', detail: 'give --probe URL (with --inflight) to try new requests while it drains' });
    expect(byName('lb-lag').status).toBe('not run');
  });

  it('--lb-lag: every request of the lag answered passes; the first failure is named, with when and on which connection', () => {
    const lag = (requests: { afterMs: number; connection: 'kept-alive' | 'new'; status: number | null; error: string | null }[]) => ({ ...obs([]), lbLag: { url: 'http://x/', lagMs: 2000, requests } });
    const run = stopped(1100).state.facts;
    const policy = Sim.started({}).policy;
    const ok = judge(run, policy, lag([{ afterMs: 0, connection: 'kept-alive', status: 200, error: null }, { afterMs: 50, connection: 'new', status: 200, error: null }]), human).find((c) => c.name === 'lb-lag');
    expect(ok).toEqual({ name: 'lb-lag', ok: true, status: 'ok', detail: "2/2 requests during the load balancer's 2s of lag answered (new and kept-alive connections)" });
    const failed = judge(run, policy, lag([{ afterMs: 0, connection: 'kept-alive', status: 200, error: null }, { afterMs: 50, connection: 'new', status: null, error: 'ECONNREFUSED' }, { afterMs: 100, connection: 'kept-alive', status: 503, error: null }]), human).find((c) => c.name === 'lb-lag');
    expect(failed).toEqual({
      name: 'lb-lag',
      ok: false,
      status: 'fail',
      detail: "2/3 requests during the load balancer's 2s of lag failed; the first at +50ms after the stop request, ECONNREFUSED on a new connection: keep serving until the load balancer stops sending (graceful run --stop-delay auto holds SIGTERM until then)",
    });
  });

  it('a run that ended before the stop: ready fails, every other check is not run, in order', () => {
    const sim = Sim.started({});
    sim.now = 700;
    sim.feed({ type: 'child-exited', code: 1, signal: null, signo: null, survivors: 0 });
    const checks = judge(sim.state.facts, sim.policy, obs([]), human);
    expect(checks[0]).toEqual({ name: 'ready', ok: false, status: 'fail', detail: 'it exited with code 1 after 700ms, before the check could stop it: it must keep running until asked to stop' });
    expect(checks.slice(1).every((c) => c.status === 'not run' && c.detail === 'not reached: the run ended before the stop')).toBe(true);
    expect(names(checks)).toEqual([...CHECKS]);
  });
});

// The figures of the checklist, as the user reads them: the grace period as it applied (an
// EXTEND_TIMEOUT_USEC moves it), the time taken against --max-shutdown.
describe('exited-in-time and shutdown-time', () => {
  it('states the grace period that applied, not --timeout', () => {
    const sim = Sim.started({ timeoutMs: 1000 });
    sim.now = 1000;
    sim.feed({ type: 'stop', trigger: 'check' });
    sim.now = 1200;
    sim.feed({ type: 'extend-timeout', ms: 2000 }); // until 3200: a grace period of 2.20s
    sim.now = 2900;
    sim.feed({ type: 'child-exited', code: 0, signal: null, signo: null, survivors: 0 });
    expect(check(sim, obs([]), 'exited-in-time')).toMatchObject({ status: 'ok', detail: 'exited 1.90s after SIGTERM, within the 2.20s grace period' });
  });

  it('a shutdown that takes exactly --max-shutdown is within it; a millisecond more is over', () => {
    const budget = { ...obs([]), maxShutdownMs: 300 };
    expect(check(stopped(1300), budget, 'shutdown-time')).toMatchObject({ status: 'ok', detail: 'took 300ms, within the 300ms budget' });
    expect(check(stopped(1301), budget, 'shutdown-time')).toMatchObject({ status: 'fail', detail: 'took 301ms, over the 300ms budget (--max-shutdown)' });
  });
});

describe('new-work-refused', () => {
  const probed = (closed: number | null, drained: number, attempts: [number, 'accepted' | 'refused'][]) => ({
    ...obs([]),
    probe: { url: 'http://127.0.0.1:3000/', attempts: attempts.map(([afterMs, outcome]) => ({ afterMs, outcome, detail: outcome === 'accepted' ? 'HTTP 200' : 'ECONNREFUSED' })), inflightDoneAfterMs: drained, listenerClosedAfterMs: closed },
  });
  it('a listener closed late but well before the drain ends (a loaded machine): the attempts before it are excused', () => {
    const o = probed(300, 600, [[150, 'accepted'], [250, 'accepted'], [350, 'refused'], [450, 'refused']]);
    expect(check(stopped(1700), o, 'new-work-refused')).toMatchObject({ status: 'ok', detail: '2 new requests refused while in-flight work was finishing' });
  });
  it('a listener that closed with the end of the drain was open through it: what it accepted fails the check (seen under load: closed 609 ms, drained 610 ms)', () => {
    const o = probed(609, 610, [[150, 'accepted'], [300, 'accepted'], [450, 'accepted']]);
    expect(check(stopped(1700), o, 'new-work-refused')).toMatchObject({ status: 'fail' });
    expect(check(stopped(1700), o, 'new-work-refused').detail).toMatch(/^new work was accepted 150ms after SIGTERM/);
  });
});
