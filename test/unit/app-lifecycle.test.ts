// The library's shutdown sequence on a fake clock (test/unit/app-host.ts): ordering,
// timeouts, errors in a step, the second signal, deadline sizing, readiness, and what is
// told to graceful. Times are exact: a wrong figure fails.
import { describe, expect, it } from 'vitest';
import { Lifecycle, type LifecycleOptions } from '../../src/app/lifecycle.js';
import type { Phase } from '../../src/app/protocol.js';
import { after, FakeHost, fakeWork } from './app-host.js';

const quiet: LifecycleOptions = { logger: false };

// A lifecycle with resources a, b, c (opened in that order) whose closes are recorded.
async function threeResources(host: FakeHost, options: LifecycleOptions = quiet, closeMs: Record<string, number | null> = {}) {
  const life = new Lifecycle(options, host);
  const calls: string[] = [];
  for (const name of ['a', 'b', 'c']) {
    await life.use(name, () => ({ name }), async (r) => {
      calls.push(`close ${r.name} @${host.t}`);
      await after(host, name in closeMs ? closeMs[name]! : 0);
    });
  }
  return { life, calls };
}

const phases = (host: FakeHost) => host.sent.map((p) => p.phase);

describe('ordering', () => {
  it('stops accepting, drains, then closes resources in reverse order of acquisition', async () => {
    const host = FakeHost.underGraceful();
    const { life, calls } = await threeResources(host, quiet, { a: 3, b: 2, c: 1 });
    const http = fakeWork('http', calls, host, 2);
    const jobs = fakeWork('jobs', calls, host, 1);
    life.serve('http', http);
    life.serve('jobs', jobs);
    life.ready();
    host.signal('SIGTERM');
    await host.advance(0);
    expect(calls).toEqual(['stop http @0', 'stop jobs @0']);
    await host.advance(100);
    http.finish();
    await host.advance(50);
    expect(calls).toEqual(['stop http @0', 'stop jobs @0']); // jobs still running: no resource closed yet
    jobs.finish();
    await host.advance(10);
    expect(calls).toEqual(['stop http @0', 'stop jobs @0', 'close c @150', 'close b @151', 'close a @153']);
    expect(host.sent).toEqual([
      { phase: 'opened', name: 'a', order: 0, ms: 0, at: 0 },
      { phase: 'opened', name: 'b', order: 1, ms: 0, at: 0 },
      { phase: 'opened', name: 'c', order: 2, ms: 0, at: 0 },
      { phase: 'ready', uptimeMs: 1234, at: 0 },
      { phase: 'stopping', trigger: 'SIGTERM', reason: null, budgetMs: 30_000, budgetFrom: 'default', delayMs: 0, drainEndsMs: 14_500, at: 0 },
      { phase: 'not-accepting', afterMs: 0, inflight: 3, sources: ['http', 'jobs'], at: 0 },
      {
        phase: 'drained', afterMs: 150, ms: 150, completed: 3, cut: 0, ended: 0, at: 150,
        sources: [
          { name: 'http', inflight: 2, completed: 2, cut: 0, ended: 0, error: null },
          { name: 'jobs', inflight: 1, completed: 1, cut: 0, ended: 0, error: null },
        ],
      },
      { phase: 'closing', afterMs: 150, name: 'c', timeoutMs: 5_000, at: 150 },
      { phase: 'closed', afterMs: 151, name: 'c', ms: 1, outcome: 'closed', error: null, at: 151 },
      { phase: 'closing', afterMs: 151, name: 'b', timeoutMs: 5_000, at: 151 },
      { phase: 'closed', afterMs: 153, name: 'b', ms: 2, outcome: 'closed', error: null, at: 153 },
      { phase: 'closing', afterMs: 153, name: 'a', timeoutMs: 5_000, at: 153 },
      { phase: 'closed', afterMs: 156, name: 'a', ms: 3, outcome: 'closed', error: null, at: 156 },
      { phase: 'done', afterMs: 156, ok: true, exitCode: 0, at: 156 },
    ]);
    expect(host.exits).toEqual([{ code: 0, at: 156 }]);
    expect(host.closed).toBe(156); // the channel is ended by the program, not left to its exit
  });

  it('follows the order of the use() calls, whichever opened first', async () => {
    const host = FakeHost.underGraceful();
    const life = new Lifecycle(quiet, host);
    const closed: string[] = [];
    const slow = life.use('slow', () => after(host, 10, 'slow'), (r) => closed.push(r));
    const fast = life.use('fast', () => after(host, 1, 'fast'), (r) => closed.push(r));
    await host.advance(10);
    expect([await slow, await fast]).toEqual(['slow', 'fast']);
    expect(host.sent).toEqual([
      { phase: 'opened', name: 'fast', order: 1, ms: 1, at: 1 },
      { phase: 'opened', name: 'slow', order: 0, ms: 10, at: 10 },
    ]);
    await life.shutdown();
    expect(closed).toEqual(['fast', 'slow']);
  });

  it('waits for a resource still opening when the stop comes, then closes it', async () => {
    const host = new FakeHost();
    const life = new Lifecycle(quiet, host);
    const calls: string[] = [];
    void life.use('db', () => after(host, 300, 'conn'), (r) => calls.push(`close ${r} @${host.t}`));
    host.signal('SIGTERM');
    await host.advance(1_000);
    expect(calls).toEqual(['close conn @300']);
    expect(host.exits).toEqual([{ code: 0, at: 300 }]);
  });

  it('opens nothing once a stop began: start-up code waits there while the shutdown runs', async () => {
    const host = new FakeHost();
    const life = new Lifecycle(quiet, host);
    const shutdown = life.shutdown();
    let opened = false;
    let settled = false;
    void life.use('late', () => (opened = true), () => undefined).then(() => (settled = true));
    await shutdown;
    await host.advance(1_000);
    expect({ opened, settled }).toEqual({ opened: false, settled: false });
  });

  it('a resource that fails to open stops the start: what was opened closes in reverse order, and the exit is 1', async () => {
    const host = FakeHost.underGraceful();
    const life = new Lifecycle(quiet, host);
    const calls: string[] = [];
    await life.use('redis', () => 'redis', (r) => calls.push(`close ${r} @${host.t}`));
    void life.use('queue', () => after(host, 5, 'queue'), (r) => calls.push(`close ${r} @${host.t}`));
    let settled = false;
    void life.use('postgres', () => after(host, 20, null, new Error('connect ECONNREFUSED 127.0.0.1:5432')), () => calls.push('close postgres')).then(
      () => (settled = true),
      () => (settled = true),
    );
    await host.advance(1_000);
    // use() stays pending: the start-up code stops there, as it does once a stop began.
    expect(settled).toBe(false);
    expect(calls).toEqual(['close queue @20', 'close redis @20']);
    expect(host.sent.filter((p) => p.phase !== 'opened' && p.phase !== 'closing')).toEqual([
      { phase: 'stopping', trigger: 'start-failed', reason: 'postgres failed to open: connect ECONNREFUSED 127.0.0.1:5432', budgetMs: 30_000, budgetFrom: 'default', delayMs: 0, drainEndsMs: 19_000, at: 20 },
      { phase: 'not-accepting', afterMs: 0, inflight: 0, sources: [], at: 20 },
      { phase: 'drained', afterMs: 0, ms: 0, completed: 0, cut: 0, ended: 0, sources: [], at: 20 },
      { phase: 'closed', afterMs: 0, name: 'queue', ms: 0, outcome: 'closed', error: null, at: 20 },
      { phase: 'closed', afterMs: 0, name: 'redis', ms: 0, outcome: 'closed', error: null, at: 20 },
      { phase: 'done', afterMs: 0, ok: true, exitCode: 1, at: 20 },
    ]);
    expect(host.exits).toEqual([{ code: 1, at: 20 }]);
  });

  it('an open() that throws at once stops the start the same way, and says why in one line', async () => {
    const host = new FakeHost();
    const life = new Lifecycle({}, host);
    await life.use('cache', () => 1, () => undefined);
    void life.use('config', () => { throw new Error('bad config\n    at line 3'); }, () => undefined);
    await host.advance(0);
    expect(host.lines.slice(1, 3)).toEqual([
      'the start failed (config failed to open: bad config): stopping within 30s (the default): drain until +24s, then close resources',
      'not accepting new work (no server registered) at +0ms; 0 in flight',
    ]);
    expect(host.lines.at(-1)).toBe('shutdown done in 0ms: everything closed; exit status 1');
    expect(host.exits).toEqual([{ code: 1, at: 0 }]);
  });
});

describe('timeouts', () => {
  it('gives up on a resource at its own timeout, reports it, and closes the others', async () => {
    const host = FakeHost.underGraceful();
    const life = new Lifecycle(quiet, host);
    const calls: string[] = [];
    await life.use('a', () => 'a', () => calls.push(`close a @${host.t}`));
    await life.use('hangs', () => 'h', () => after(host, null), { timeoutMs: 2_000 });
    await life.use('c', () => 'c', () => calls.push(`close c @${host.t}`));
    host.signal('SIGTERM');
    await host.advance(10_000);
    expect(calls).toEqual(['close c @0', 'close a @2000']);
    expect(host.sent.filter((p) => p.phase === 'closed')).toEqual([
      { phase: 'closed', afterMs: 0, name: 'c', ms: 0, outcome: 'closed', error: null, at: 0 },
      { phase: 'closed', afterMs: 2_000, name: 'hangs', ms: 2_000, outcome: 'timeout', error: null, at: 2_000 },
      { phase: 'closed', afterMs: 2_000, name: 'a', ms: 0, outcome: 'closed', error: null, at: 2_000 },
    ]);
    expect(host.exits).toEqual([{ code: 1, at: 2_000 }]);
  });

  it('cuts the drain at its deadline, then still closes every resource', async () => {
    const host = FakeHost.underGraceful();
    host.envTimeoutMs = 10_000;
    const { life, calls } = await threeResources(host);
    life.serve('http', fakeWork('http', calls, host, 4));
    host.signal('SIGTERM');
    await host.advance(20_000);
    // 10 s budget, 500 ms margin: resources keep min(3 x 5 s, 9.5 s / 2) = 4.75 s; the drain ends at +4.75 s.
    expect(host.sent.find((p) => p.phase === 'stopping')).toMatchObject({ budgetMs: 10_000, budgetFrom: 'env', drainEndsMs: 4_750 });
    expect(calls).toEqual(['stop http @0', 'cut http @4750', 'close c @4750', 'close b @4750', 'close a @4750']);
    expect(host.sent.find((p) => p.phase === 'drained')).toMatchObject({ afterMs: 4_750, completed: 0, cut: 4 });
    expect(host.exits).toEqual([{ code: 1, at: 4_750 }]);
  });

  it('gives each resource its share of what is left: a hung one cannot take the time of those after it', async () => {
    const host = FakeHost.underGraceful();
    host.deadline(3_000);
    const { calls } = await threeResources(host, quiet, { c: null, b: null, a: 0 });
    host.signal('SIGTERM');
    await host.advance(10_000);
    // 3 s budget, 150 ms margin: end at +2850. c gets 2850 x 5/15 = 950 and hangs; b gets
    // 1900 x 5/10 = 950 and hangs; a still has 950, and closes at once.
    expect(host.sent.filter((p) => p.phase === 'closing').map((p) => p.phase === 'closing' && [p.name, p.afterMs, p.timeoutMs])).toEqual([
      ['c', 0, 950],
      ['b', 950, 950],
      ['a', 1_900, 950],
    ]);
    expect(calls).toEqual(['close c @0', 'close b @950', 'close a @1900']);
    expect(host.sent.filter((p) => p.phase === 'closed').map((p) => p.phase === 'closed' && p.outcome)).toEqual(['timeout', 'timeout', 'closed']);
    expect(host.exits).toEqual([{ code: 1, at: 1_900 }]);
  });

  it("shares by each resource's timeout: a longer one weighs more, and what one leaves goes to the next", async () => {
    const host = FakeHost.underGraceful();
    host.deadline(6_000); // graceful run --timeout 6s, as in issue 25
    const life = new Lifecycle(quiet, host);
    await life.use('bull-redis', () => 1, () => after(host, 2));
    await life.use('queue', () => 1, () => after(host, 3));
    await life.use('postgres', () => 1, () => after(host, null), { timeoutMs: 10_000 });
    life.serve('http', fakeWork('http', [], host, 1)); // never finishes: cut at the drain deadline
    host.signal('SIGTERM');
    await host.advance(10_000);
    // End at +5700; the resources' share is min(20 s, 5.7 s / 2): the drain ends at +2850.
    // postgres: 2850 x 10/20 = 1425, and hangs; queue: 1425 x 5/10 = 712; bull-redis the rest.
    expect(host.sent.filter((p) => p.phase === 'closing' || p.phase === 'closed').map((p) => (p.phase === 'closing' ? `closing ${p.name} ${p.timeoutMs} @${p.at}` : p.phase === 'closed' ? `${p.outcome} ${p.name} @${p.at}` : ''))).toEqual([
      'closing postgres 1425 @2850',
      'timeout postgres @4275',
      'closing queue 712 @4275',
      'closed queue @4278',
      'closing bull-redis 1422 @4278',
      'closed bull-redis @4280',
    ]);
  });
});

describe('errors in a step', () => {
  it('reports a close that throws or rejects, and runs the rest', async () => {
    const host = FakeHost.underGraceful();
    const life = new Lifecycle(quiet, host);
    const calls: string[] = [];
    await life.use('a', () => 'a', () => calls.push('close a'));
    await life.use('throws', () => 't', () => { throw new Error('already closed'); });
    await life.use('rejects', () => 'r', () => Promise.reject(new Error('connection lost')));
    await life.use('d', () => 'd', () => calls.push('close d'));
    const report = await life.shutdown();
    expect(calls).toEqual(['close d', 'close a']);
    expect(report.resources).toEqual([
      { name: 'd', outcome: 'closed', ms: 0, error: null },
      { name: 'rejects', outcome: 'failed', ms: 0, error: 'connection lost' },
      { name: 'throws', outcome: 'failed', ms: 0, error: 'already closed' },
      { name: 'a', outcome: 'closed', ms: 0, error: null },
    ]);
    expect(report).toMatchObject({ ok: false, exitCode: 1 });
    expect(host.sent.at(-1)).toMatchObject({ phase: 'done', ok: false, exitCode: 1 });
  });

  it('reports a source whose stop throws, cuts it at the deadline, and closes the resources', async () => {
    const host = new FakeHost();
    const life = new Lifecycle(quiet, host);
    const calls: string[] = [];
    life.serve('broken', { stop: () => { throw new Error('not running'); }, cut: () => calls.push('cut broken') });
    const ok = fakeWork('ok', calls, host, 1);
    life.serve('ok', ok);
    await life.use('db', () => 'db', () => calls.push(`close db @${host.t}`));
    const shutdown = life.shutdown();
    await host.advance(5);
    ok.finish();
    const report = await shutdown;
    expect(calls).toEqual(['stop ok @0', 'cut broken', 'close db @5']);
    expect(report.drain.sources).toEqual([
      { name: 'broken', inflight: 0, completed: 0, cut: 0, ended: 0, error: 'not running' },
      { name: 'ok', inflight: 1, completed: 1, cut: 0, ended: 0, error: null },
    ]);
    expect(report).toMatchObject({ ok: false, exitCode: 1 });
  });

  it('keeps going when the logger throws', async () => {
    const host = new FakeHost();
    const life = new Lifecycle({ logger: () => { throw new Error('log sink down'); } }, host);
    await life.use('db', () => 1, () => undefined);
    expect(await life.shutdown()).toMatchObject({ ok: true, exitCode: 0 });
  });
});

describe('signals', () => {
  it('starts the same sequence on SIGTERM and on SIGINT', async () => {
    for (const signal of ['SIGTERM', 'SIGINT']) {
      const host = FakeHost.underGraceful();
      await threeResources(host);
      host.signal(signal);
      await host.advance(0);
      expect(phases(host)).toEqual(['opened', 'opened', 'opened', 'stopping', 'not-accepting', 'drained', 'closing', 'closed', 'closing', 'closed', 'closing', 'closed', 'done']);
      expect(host.sent[3]).toMatchObject({ trigger: signal });
      expect(host.exits).toEqual([{ code: 0, at: 0 }]);
    }
  });

  it('takes the signals it is told to, and no others', async () => {
    const host = new FakeHost();
    new Lifecycle({ ...quiet, signals: ['SIGHUP'] }, host);
    expect([host.handlers('SIGTERM'), host.handlers('SIGINT'), host.handlers('SIGHUP')]).toEqual([0, 0, 1]);
  });

  it('exits at once with 128 + n on a second signal after the echo window', async () => {
    const host = FakeHost.underGraceful();
    const { life } = await threeResources(host, quiet, { c: null });
    host.signal('SIGINT');
    await host.advance(150);
    host.signal('SIGINT'); // within 200 ms: the same Ctrl+C, forwarded by a wrapper
    await host.advance(100);
    expect(host.exits).toEqual([]);
    host.signal('SIGINT');
    expect(host.exits).toEqual([{ code: 130, at: 250 }]);
    expect(host.sent.at(-1)).toEqual({ phase: 'forced', afterMs: 250, signal: 'SIGINT', exitCode: 130, at: 250 });
    expect(life.state).toBe('stopping');
  });

  it('never forces on a second SIGTERM by default: the shutdown goes on, and says so (issue 25)', async () => {
    const host = new FakeHost();
    const { life } = await threeResources(host, {}, { c: 4_000 });
    host.signal('SIGTERM');
    await host.advance(1_000);
    host.signal('SIGTERM'); // a platform repeating itself: a retried rolling update, a second docker stop
    await host.advance(1_000);
    expect(host.exits).toEqual([]);
    expect(life.state).toBe('stopping');
    expect(host.lines).toContain('SIGTERM again: the shutdown goes on (SIGINT again forces the exit)');
    await host.advance(5_000);
    expect(host.exits).toEqual([{ code: 0, at: 4_000 }]);
  });

  it('forces on a second SIGTERM only when asked to, and never under graceful', async () => {
    for (const forceOnRepeat of [true, ['SIGTERM' as const]]) {
      const host = new FakeHost();
      await threeResources(host, { ...quiet, forceOnRepeat }, { c: null });
      host.signal('SIGTERM');
      await host.advance(1_000);
      host.signal('SIGTERM');
      expect(host.exits).toEqual([{ code: 143, at: 1_000 }]);
    }

    const under = FakeHost.underGraceful();
    await threeResources(under, { ...quiet, forceOnRepeat: true }, { c: null });
    under.signal('SIGTERM');
    await under.advance(1_000);
    under.signal('SIGTERM');
    await under.advance(1_000);
    expect(under.exits).toEqual([]);
    under.signal('SIGINT'); // Ctrl+C twice still forces, as graceful's own
    expect(under.exits).toEqual([{ code: 130, at: 2_000 }]);

    const patient = new FakeHost();
    await threeResources(patient, { ...quiet, forceOnRepeat: false }, { c: null });
    patient.signal('SIGINT');
    await patient.advance(1_000);
    patient.signal('SIGINT');
    await patient.advance(1_000);
    expect(patient.exits).toEqual([]);
  });

  it('says a wrong signal name in one line, at once', () => {
    const host = new FakeHost();
    const make = (options: LifecycleOptions) => () => new Lifecycle(options, host);
    expect(make({ signals: ['SIGTREM' as never] })).toThrow(
      new TypeError('lifecycle(): signals: "SIGTREM" is not a stop signal; expected one of SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2'),
    );
    expect(make({ forceOnRepeat: ['TERM' as never] })).toThrow('lifecycle(): forceOnRepeat: "TERM" is not a stop signal;');
    expect(make({ signals: 'SIGTERM' as never })).toThrow("lifecycle(): signals: expected an array of signal names like ['SIGTERM', 'SIGINT'], got string");
    expect(host.handlers('SIGTERM')).toBe(0);
  });

  it('counts the first signal after shutdown() as a first request, the next one as a second', async () => {
    const host = new FakeHost();
    const { life } = await threeResources(host, quiet, { c: null });
    void life.shutdown('config reloaded');
    await host.advance(1_000);
    host.signal('SIGINT');
    await host.advance(1_000);
    expect(host.exits).toEqual([]);
    host.signal('SIGINT');
    expect(host.exits).toEqual([{ code: 130, at: 2_000 }]);
  });

  it('leaves the signals alone once done without exiting (exit: false)', async () => {
    const host = new FakeHost();
    const { life } = await threeResources(host, { ...quiet, exit: false });
    const shutdown = life.shutdown();
    await host.advance(10);
    const report = await shutdown;
    expect(report).toMatchObject({ ok: true, exitCode: 0, trigger: 'shutdown' });
    expect(host.exits).toEqual([]);
    expect(life.state).toBe('stopped');
    expect([host.handlers('SIGTERM'), host.handlers('SIGINT')]).toEqual([0, 0]);
  });
});

describe('the stop itself', () => {
  it('fails readiness from the first moment of a stop, before anything else runs', async () => {
    const host = new FakeHost();
    const life = new Lifecycle({ ...quiet, delayMs: 5_000 }, host);
    expect(life.probe()).toEqual({ status: 503, state: 'starting' });
    life.ready();
    expect(life.probe()).toEqual({ status: 200, state: 'ready' });
    host.signal('SIGTERM');
    expect(life.probe()).toEqual({ status: 503, state: 'stopping' });
    expect(life.signal.aborted).toBe(true);
  });

  it('keeps serving through the delay, then stops accepting', async () => {
    const host = FakeHost.underGraceful();
    const life = new Lifecycle({ ...quiet, delayMs: 5_000 }, host);
    const calls: string[] = [];
    const http = fakeWork('http', calls, host);
    life.serve('http', http);
    host.signal('SIGTERM');
    await host.advance(4_999);
    expect(calls).toEqual([]);
    http.finish();
    await host.advance(1);
    expect(calls).toEqual(['stop http @5000']);
    expect(host.sent.map((p) => [p.phase, p.at])).toEqual([['stopping', 0], ['not-accepting', 5_000], ['drained', 5_000], ['done', 5_000]]);
  });

  it("sizes itself from graceful's deadline, counted from when it arrived", async () => {
    const host = FakeHost.underGraceful();
    host.envTimeoutMs = 30_000;
    const life = new Lifecycle({ ...quiet, delayMs: 1_000 }, host);
    await life.use('db', () => 1, () => undefined);
    host.t = 100;
    host.deadline(8_000); // graceful: "8 s left", sent just before its signal
    host.t = 102;
    host.signal('SIGTERM');
    await host.advance(0);
    // 7998 ms left; margin 400 ms: end at +7598; delay 1 s; db's share is its 5 s, at most
    // half of the 6598 ms after the delay: the drain ends at +4299.
    expect(host.sent[1]).toEqual({ phase: 'stopping', trigger: 'SIGTERM', reason: null, budgetMs: 7_998, budgetFrom: 'graceful', delayMs: 1_000, drainEndsMs: 4_299, at: 102 });
  });

  it('plans in whole milliseconds, though the time since the deadline message is not whole', async () => {
    const host = FakeHost.underGraceful();
    new Lifecycle(quiet, host);
    host.t = 100.25;
    host.deadline(30_000);
    host.t = 103.96;
    host.signal('SIGTERM');
    await host.advance(0);
    const stopping = host.sent.find((p) => p.phase === 'stopping');
    expect(stopping).toMatchObject({ budgetMs: 29_996, budgetFrom: 'graceful', drainEndsMs: 28_996 });
  });

  it('takes its default delay from the platform: 5 s on Kubernetes and Heroku, none in a terminal or when graceful delays the signal', async () => {
    const delay = async (platform: string | null, gracefulDelays = false, delayMs?: number) => {
      const host = FakeHost.underGraceful();
      Object.assign(host, { platform, gracefulDelays });
      void new Lifecycle(delayMs === undefined ? quiet : { ...quiet, delayMs }, host).shutdown();
      await host.advance(0);
      return (host.sent.find((p) => p.phase === 'stopping') as { delayMs: number }).delayMs;
    };
    expect(await delay('kubernetes')).toBe(5_000);
    expect(await delay('kubernetes', true)).toBe(0);
    expect(await delay('kubernetes', false, 1_500)).toBe(1_500);
    expect(await delay('heroku')).toBe(5_000);
    expect(await delay('terminal')).toBe(0);
    expect(await delay('docker')).toBe(0);
    expect(await delay(null)).toBe(0);
  });

  it('returns the same shutdown to every caller and names the reason', async () => {
    const host = new FakeHost();
    const lines: string[] = [];
    const life = new Lifecycle({ logger: (line) => lines.push(line), timeoutMs: 10_000 }, host);
    const [a, b] = [life.shutdown('out of memory', { exitCode: 3 }), life.shutdown()];
    expect(await a).toBe(await b);
    expect(await a).toMatchObject({ reason: 'out of memory', exitCode: 3, ok: true });
    expect(host.exits).toEqual([{ code: 3, at: 0 }]);
    expect(lines[0]).toBe('shutdown() (out of memory): stopping within 10s (timeoutMs): drain until +9.5s, then close resources');
  });

  it('stops a server registered after the stop began, and does not wait for it', async () => {
    const host = new FakeHost();
    const life = new Lifecycle(quiet, host);
    const calls: string[] = [];
    const shutdown = life.shutdown();
    life.serve('late', fakeWork('late', calls, host, 1));
    await shutdown;
    expect(calls).toEqual(['stop late @0']);
  });
});

describe('what is told, and where', () => {
  it('logs one line a phase to stderr without graceful, and nothing there under it', async () => {
    const alone = new FakeHost();
    const life = new Lifecycle({}, alone);
    await life.use('db', () => 1, () => after(alone, 8));
    life.serve('http', fakeWork('http', [], alone, 0)).finish();
    life.ready();
    alone.signal('SIGTERM');
    await alone.advance(100);
    expect(alone.lines).toEqual([
      'opened db in 0ms',
      'ready 1.23s after start',
      'SIGTERM received: stopping within 30s (the default): drain until +24s, then close resources',
      'not accepting new work (http) at +0ms; 0 in flight',
      'drained 0 in 0ms',
      'closing db (timeout 5s)',
      'closed db in 8ms',
      'shutdown done in 8ms: everything closed; exit status 0',
    ]);

    const under = FakeHost.underGraceful();
    await new Lifecycle({}, under).shutdown();
    expect(under.lines).toEqual([]);
    expect(phases(under)).toEqual(['stopping', 'not-accepting', 'drained', 'done']);
  });

  it('gives a logger every phase as a line and as data, even under graceful', async () => {
    const host = FakeHost.underGraceful();
    const got: [string, Phase][] = [];
    const life = new Lifecycle({ logger: (line, phase) => got.push([line, phase]) }, host);
    await life.use('db', () => 1, () => Promise.reject(new Error('socket closed')));
    await life.shutdown();
    expect(got.map(([line]) => line)).toEqual([
      'opened db in 0ms',
      'shutdown(): stopping within 30s (the default): drain until +24s, then close resources',
      'not accepting new work (no server registered) at +0ms; 0 in flight',
      'drained 0 in 0ms',
      'closing db (timeout 5s)',
      'db failed to close after 0ms: socket closed',
      'shutdown done in 0ms: not everything closed; exit status 1',
    ]);
    expect(got.map(([, p]) => p)).toEqual(host.sent.map(({ at: _, ...p }) => p));
  });
});

describe('when graceful goes away', () => {
  it('logs to stderr what graceful did not get, and everything after', async () => {
    const host = FakeHost.underGraceful();
    const life = new Lifecycle({}, host);
    life.ready();
    host.lose([{ phase: 'hello', pid: 1, name: 'x' }, { phase: 'ready', uptimeMs: 1234 }]);
    await life.use('db', () => 1, () => undefined);
    await life.shutdown();
    expect(host.lines).toEqual([
      'ready 1.23s after start',
      'opened db in 0ms',
      'shutdown(): stopping within 30s (the default): drain until +24s, then close resources',
      'not accepting new work (no server registered) at +0ms; 0 in flight',
      'drained 0 in 0ms',
      'closing db (timeout 5s)',
      'closed db in 0ms',
      'shutdown done in 0ms: everything closed; exit status 0',
    ]);
    expect(phases(host)).toEqual(['ready']);
  });
});

describe('bugs', () => {
  it("a worker's inflight() that throws counts as 0 and stops nothing", async () => {
    const host = new FakeHost();
    const life = new Lifecycle(quiet, host);
    life.serve('jobs', { stop: () => undefined, inflight: () => { throw new Error('no count'); } });
    expect(await life.shutdown()).toMatchObject({ ok: true, exitCode: 0 });
  });

  it('a bug in the sequence is said, and the process exits 1 rather than hang half stopped', async () => {
    const host = FakeHost.underGraceful();
    const send = host.channel!.send;
    host.channel!.send = (phase) => {
      if (phase.phase === 'drained') throw new Error('encoder broke');
      return send(phase);
    };
    const life = new Lifecycle(quiet, host);
    void life.shutdown();
    await host.advance(0);
    expect(host.exits).toEqual([{ code: 1, at: 0 }]);
    expect(host.lines[0]).toMatch(/^the shutdown failed: Error: encoder broke\n/);
  });
});
