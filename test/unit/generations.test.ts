// The generations of a reloadable program on a fake clock: when each generation starts, is
// retired and is stopped, what each reload's outcome is, and what a stop of graceful does.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ECHO_WINDOW_MS } from '../../src/core/machine.js';
import {
  initialGenerations,
  isLive,
  KEPT,
  serving,
  stepGenerations,
  type GenAction,
  type GenerationsPolicy,
  type GenEvent,
  type GenState,
} from '../../src/core/generations.js';
import { RESTART_DEFAULTS } from '../../src/config/defaults.js';
import type { StopTrigger } from '../../src/core/types.js';

type Input = GenEvent extends infer E ? (E extends { at: number } ? Omit<E, 'at'> : never) : never;

const withReady: GenerationsPolicy = { restart: RESTART_DEFAULTS, settleMs: null };

// A fake shell: the clock, the armed timers, and every action with the time it was asked at.
class GenSim {
  now = 0;
  state: GenState;
  readonly armed = new Map<string, { at: number; event: Input }>();
  readonly log: string[] = [];
  status: number | null = null;

  constructor(
    readonly policy: GenerationsPolicy = withReady,
    instances = 1,
  ) {
    this.state = initialGenerations(instances);
  }

  feed(input: Input): GenAction[] {
    const { state, actions } = stepGenerations(this.state, { ...input, at: this.now } as GenEvent, this.policy);
    this.state = state;
    for (const a of actions) {
      const key = a.type === 'arm' || a.type === 'cancel' ? (a.timer === 'settle' ? `settle ${a.generation}.${a.instance}` : `restart ${a.instance}`) : '';
      if (a.type === 'arm') this.armed.set(key, { at: a.at, event: a.timer === 'settle' ? { type: 'timer', timer: 'settle', generation: a.generation, instance: a.instance } : { type: 'timer', timer: 'restart', instance: a.instance } });
      else if (a.type === 'cancel') this.armed.delete(key);
      else this.log.push(`${this.now} ${show(a)}`);
      if (a.type === 'exit') {
        expect(this.status, 'exit is decided once').toBeNull();
        this.status = a.status;
      }
    }
    return actions;
  }

  advanceTo(t: number): void {
    for (;;) {
      const due = [...this.armed].filter(([, v]) => v.at <= t).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.now = Math.max(this.now, due[1].at);
      this.armed.delete(due[0]);
      this.feed(due[1].event);
    }
    this.now = Math.max(this.now, t);
  }

  // Starts generation 1 and makes it ready (pid 100).
  static serving(policy: GenerationsPolicy = withReady): GenSim {
    const sim = new GenSim(policy);
    sim.feed({ type: 'begin' });
    sim.feed({ type: 'started', generation: 1, instance: 1, pid: 100 });
    sim.now = 50;
    sim.feed({ type: 'ready', generation: 1, instance: 1 });
    sim.log.length = 0;
    return sim;
  }

  roles(): string {
    return this.state.generations.map((g) => `${g.instance === 1 ? g.n : `${g.n}.${g.instance}`}:${g.role}`).join(' ');
  }
}

// Generation n's instance i as "n.i"; the first instance as "n" (as with one instance).
function slot(a: { generation: number; instance: number }): string {
  return a.instance === 1 ? String(a.generation) : `${a.generation}.${a.instance}`;
}

function show(a: GenAction): string {
  switch (a.type) {
    case 'start':
    case 'retire':
      return `${a.type} ${slot(a)}`;
    case 'stop':
      return `stop ${slot(a)} ${a.trigger}`;
    case 'answer':
      return `answer reload ${a.reload} [${a.clients.join(',')}]`;
    case 'release':
      return 'release';
    case 'exit':
      return `exit ${a.status}`;
    case 'arm':
    case 'cancel':
      return a.type;
  }
}

const exited = (generation: number, status = 0, trigger: StopTrigger | null = null, instance = 1) => ({ type: 'exited' as const, generation, instance, status, trigger });

describe('the first generation', () => {
  it('is started at begin and serves once ready', () => {
    const sim = new GenSim();
    sim.feed({ type: 'begin' });
    expect(sim.log).toEqual(['0 start 1']);
    sim.feed({ type: 'started', generation: 1, instance: 1, pid: 100 });
    expect(serving(sim.state)).toBeNull();
    sim.now = 80;
    sim.feed({ type: 'ready', generation: 1, instance: 1 });
    expect(sim.roles()).toBe('1:serving');
    expect(sim.state.generations[0]).toMatchObject({ pid: 100, startedAt: 0, readyAt: 80, cause: 'first' });
  });

  it('without --ready, counts as ready once it has run settleMs', () => {
    const sim = new GenSim({ ...withReady, settleMs: 1000 });
    sim.feed({ type: 'begin' });
    sim.now = 10;
    sim.feed({ type: 'started', generation: 1, instance: 1, pid: 100 });
    sim.advanceTo(1009);
    expect(serving(sim.state)).toBeNull();
    sim.advanceTo(1010);
    expect(sim.roles()).toBe('1:serving');
    expect(sim.state.generations[0]!.readyAt).toBe(1010);
  });
});

describe('a reload', () => {
  it('starts the new generation beside the old, retires the old only once the new is ready, and answers switched', () => {
    const sim = GenSim.serving();
    sim.now = 1000;
    sim.feed({ type: 'reload', via: 'control', client: 7 });
    expect(sim.log).toEqual(['1000 start 2']);
    sim.now = 1001;
    sim.feed({ type: 'started', generation: 2, instance: 1, pid: 200 });
    expect(sim.roles()).toBe('1:serving 2:starting');
    sim.now = 1300;
    sim.feed({ type: 'ready', generation: 2, instance: 1 });
    expect(sim.log).toEqual(['1000 start 2', '1300 retire 1', '1300 answer reload 1 [7]']);
    expect(sim.roles()).toBe('1:retired 2:serving');
    expect(sim.state.reloads[0]).toMatchObject({ n: 1, requestedAt: 1000, via: 'control', generation: 2, replaces: 1, readyAt: 1300, outcome: 'switched', drainedAt: null });
    sim.now = 1450;
    sim.feed(exited(1, 0, 'reload'));
    expect(sim.state.reloads[0]!.drainedAt).toBe(1450);
    expect(sim.roles()).toBe('1:exited 2:serving');
    expect(sim.status).toBeNull();
  });

  it('a new generation that crashes at start is rolled back: the old one is never stopped', () => {
    const sim = GenSim.serving();
    sim.feed({ type: 'reload', via: 'SIGHUP', client: null });
    sim.feed({ type: 'started', generation: 2, instance: 1, pid: 200 });
    sim.now = 120;
    sim.feed(exited(2, 1));
    expect(sim.log).toEqual(['50 start 2', '120 answer reload 1 []']);
    expect(sim.roles()).toBe('1:serving 2:exited');
    expect(sim.state.reloads[0]).toMatchObject({ outcome: 'rolled-back', reason: { kind: 'exited', status: 1, trigger: null }, endedAt: 120 });
    expect(sim.state.phase.kind).toBe('running');
  });

  it('one never ready (stopped by its own --ready-timeout) is rolled back the same way', () => {
    const sim = GenSim.serving();
    sim.feed({ type: 'reload', via: 'control', client: 1 });
    sim.feed({ type: 'started', generation: 2, instance: 1, pid: 200 });
    sim.now = 5100;
    sim.feed(exited(2, 124, 'ready-timeout'));
    expect(sim.state.reloads[0]).toMatchObject({ outcome: 'rolled-back', reason: { kind: 'exited', status: 124, trigger: 'ready-timeout' } });
    expect(sim.log).not.toContain('retire 1');
    // The next reload is taken as usual.
    sim.feed({ type: 'reload', via: 'control', client: 2 });
    expect(sim.log.at(-1)).toBe('5100 start 3');
  });

  it('requests during a reload are merged into one more reload after it', () => {
    const sim = GenSim.serving();
    sim.now = 100;
    sim.feed({ type: 'reload', via: 'SIGHUP', client: null });
    sim.feed({ type: 'started', generation: 2, instance: 1, pid: 200 });
    for (const [t, client] of [[110, 1], [120, 2], [130, 3]] as const) {
      sim.now = t;
      sim.feed({ type: 'reload', via: 'control', client });
    }
    expect(sim.log).toEqual(['100 start 2']);
    sim.now = 400;
    sim.feed({ type: 'ready', generation: 2, instance: 1 });
    expect(sim.log).toEqual(['100 start 2', '400 retire 1', '400 answer reload 1 []', '400 start 3']);
    expect(sim.state.reloads[1]).toMatchObject({ n: 2, requestedAt: 110, merged: 2, waiting: [1, 2, 3], generation: 3, replaces: 2 });
    sim.feed({ type: 'started', generation: 3, instance: 1, pid: 300 });
    sim.now = 700;
    sim.feed({ type: 'ready', generation: 3, instance: 1 });
    expect(sim.log.slice(4)).toEqual(['700 retire 2', '700 answer reload 2 [1,2,3]']);
    expect(sim.state.reloads).toHaveLength(2);
  });

  it('the serving generation crashing during a reload: the new one takes over when ready, nothing to retire', () => {
    const sim = GenSim.serving();
    sim.feed({ type: 'reload', via: 'SIGHUP', client: null });
    sim.feed({ type: 'started', generation: 2, instance: 1, pid: 200 });
    sim.now = 200;
    sim.feed(exited(1, 139));
    expect(sim.state.phase.kind).toBe('running');
    sim.now = 300;
    sim.feed({ type: 'ready', generation: 2, instance: 1 });
    expect(sim.log).toEqual(['50 start 2', '300 answer reload 1 []']);
    expect(sim.state.reloads[0]).toMatchObject({ outcome: 'switched', drainedAt: 200 });
  });

  it('fails when the new one fails and nothing serves any more; the restart policy decides', () => {
    const sim = GenSim.serving({ ...withReady, restart: { ...RESTART_DEFAULTS, mode: 'no' } });
    sim.feed({ type: 'reload', via: 'control', client: 4 });
    sim.feed({ type: 'started', generation: 2, instance: 1, pid: 200 });
    sim.now = 100;
    sim.feed(exited(1, 139));
    sim.now = 150;
    sim.feed(exited(2, 1));
    expect(sim.state.reloads[0]).toMatchObject({ outcome: 'failed' });
    expect(sim.log).toEqual(['50 start 2', '150 answer reload 1 [4]', '150 release', '150 exit 1']);
  });
});

describe('a stop of graceful', () => {
  it('during a reload stops both generations, answers failed, and exits with the serving one\'s status once both are gone', () => {
    const sim = GenSim.serving();
    sim.feed({ type: 'reload', via: 'control', client: 9 });
    sim.feed({ type: 'started', generation: 2, instance: 1, pid: 200 });
    sim.now = 500;
    sim.feed({ type: 'stop', trigger: 'SIGTERM' });
    expect(sim.log).toEqual(['50 start 2', '500 release', '500 stop 1 SIGTERM', '500 stop 2 SIGTERM', '500 answer reload 1 [9]']);
    expect(sim.state.reloads[0]).toMatchObject({ outcome: 'failed', reason: { kind: 'stopping' } });
    // Ready now changes nothing: nothing switches during a stop.
    sim.feed({ type: 'ready', generation: 2, instance: 1 });
    expect(sim.log).toHaveLength(5);
    sim.now = 600;
    sim.feed(exited(2, 143, 'SIGTERM'));
    expect(sim.status).toBeNull();
    sim.now = 700;
    sim.feed(exited(1, 0, 'SIGTERM'));
    expect(sim.log.at(-1)).toBe('700 exit 0');
  });

  it('leaves a retired generation draining on the first request; a second Ctrl+C past the echo window forces it too', () => {
    const sim = GenSim.serving();
    sim.feed({ type: 'reload', via: 'SIGHUP', client: null });
    sim.feed({ type: 'started', generation: 2, instance: 1, pid: 200 });
    sim.now = 100;
    sim.feed({ type: 'ready', generation: 2, instance: 1 });
    sim.log.length = 0;
    sim.now = 1000;
    sim.feed({ type: 'stop', trigger: 'SIGINT' });
    expect(sim.log).toEqual(['1000 release', '1000 stop 2 SIGINT']);
    sim.now = 1000 + ECHO_WINDOW_MS - 1;
    sim.feed({ type: 'stop', trigger: 'SIGINT' });
    expect(sim.log.at(-1)).toBe(`${sim.now} stop 2 SIGINT`);
    sim.now = 1000 + ECHO_WINDOW_MS;
    sim.feed({ type: 'stop', trigger: 'SIGINT' });
    expect(sim.log.slice(-2)).toEqual([`${sim.now} stop 1 SIGINT`, `${sim.now} stop 2 SIGINT`]);
  });

  it('with nothing running (waiting to restart) exits at once with the last status', () => {
    const sim = GenSim.serving({ ...withReady, restart: { ...RESTART_DEFAULTS, mode: 'always', delayMs: 1000 } });
    sim.now = 5000;
    sim.feed(exited(1, 3));
    expect(sim.state.phase).toEqual({ kind: 'waiting', until: 6000 });
    sim.now = 5500;
    sim.feed({ type: 'stop', trigger: 'SIGTERM' });
    expect(sim.log).toEqual(['5500 release', '5500 exit 3']);
    expect(sim.armed.size).toBe(0);
  });

  it('a reload asked during the stop is answered failed at once', () => {
    const sim = GenSim.serving();
    sim.feed({ type: 'stop', trigger: 'SIGTERM' });
    sim.feed({ type: 'reload', via: 'control', client: 3 });
    expect(sim.log.at(-1)).toBe('50 answer reload 1 [3]');
    expect(sim.state.reloads[0]).toMatchObject({ outcome: 'failed', generation: null });
  });

  it('merged requests that will never be taken are answered failed', () => {
    const sim = GenSim.serving();
    sim.feed({ type: 'reload', via: 'control', client: 1 });
    sim.feed({ type: 'reload', via: 'control', client: 2 });
    sim.feed({ type: 'stop', trigger: 'check' });
    expect(sim.log.filter((l) => l.includes('answer'))).toEqual(['50 answer reload 1 [1]', '50 answer reload 2 [2]']);
  });
});

describe('restarts with held sockets', () => {
  it('a crash of the serving generation restarts after the delay, as the policy says', () => {
    const sim = GenSim.serving({ ...withReady, restart: { ...RESTART_DEFAULTS, mode: 'on-failure', delayMs: 100 } });
    sim.now = 3000;
    sim.feed(exited(1, 1));
    sim.advanceTo(3100);
    expect(sim.log).toEqual(['3100 start 2']);
    expect(sim.state.generations[1]).toMatchObject({ cause: 'restart' });
    expect(sim.state.restarts).toBe(1);
  });

  it('a reload while waiting to restart starts the next generation now', () => {
    const sim = GenSim.serving({ ...withReady, restart: { ...RESTART_DEFAULTS, mode: 'always', delayMs: 10_000 } });
    sim.now = 3000;
    sim.feed(exited(1, 1));
    sim.now = 3500;
    sim.feed({ type: 'reload', via: 'control', client: 5 });
    expect(sim.log).toEqual(['3500 start 2']);
    expect(sim.armed.has('restart null')).toBe(false);
    sim.feed({ type: 'started', generation: 2, instance: 1, pid: 200 });
    sim.feed({ type: 'ready', generation: 2, instance: 1 });
    expect(sim.state.reloads[0]).toMatchObject({ outcome: 'switched', replaces: null });
  });

  it('success with --restart on-failure ends graceful with 0 once a retired generation is gone too', () => {
    const sim = GenSim.serving({ ...withReady, restart: { ...RESTART_DEFAULTS, mode: 'on-failure' } });
    sim.feed({ type: 'reload', via: 'control', client: null });
    sim.feed({ type: 'started', generation: 2, instance: 1, pid: 200 });
    sim.feed({ type: 'ready', generation: 2, instance: 1 });
    sim.now = 100;
    sim.feed(exited(2, 0));
    expect(sim.status).toBeNull();
    expect(sim.state.gaveUp).toMatchObject({ reason: 'succeeded' });
    sim.now = 200;
    sim.feed(exited(1, 0, 'reload'));
    expect(sim.log.slice(-2)).toEqual(['100 release', '200 exit 0']);
  });
});

describe('a long-lived graceful', () => {
  it('keeps the last KEPT generations and reloads, and counts the rest', () => {
    const sim = GenSim.serving();
    for (let i = 0; i < KEPT + 30; i++) {
      sim.feed({ type: 'reload', via: 'SIGHUP', client: null });
      const n = sim.state.nextGeneration - 1;
      sim.feed({ type: 'started', generation: n, instance: 1, pid: 1000 + n });
      sim.feed({ type: 'ready', generation: n, instance: 1 });
      sim.feed(exited(n - 1, 0, 'reload'));
    }
    expect(sim.state.generations.filter((g) => !isLive(g))).toHaveLength(KEPT);
    expect(sim.state.reloads).toHaveLength(KEPT);
    expect(sim.state.omitted).toEqual({ generations: 30, reloads: 30 });
    expect(serving(sim.state)?.n).toBe(KEPT + 31);
  });
});

describe('every event in every phase', () => {
  const event = fc.oneof(
    fc.constant<Input>({ type: 'begin' }),
    fc.record({ type: fc.constant('reload' as const), via: fc.constantFrom('SIGHUP', 'control'), client: fc.option(fc.nat(9), { nil: null }) }),
    fc.record({ type: fc.constant('started' as const), generation: fc.integer({ min: 1, max: 6 }), instance: fc.integer({ min: 1, max: 3 }), pid: fc.integer({ min: 2, max: 9999 }) }),
    fc.record({ type: fc.constant('ready' as const), generation: fc.integer({ min: 1, max: 6 }), instance: fc.integer({ min: 1, max: 3 }) }),
    fc.record({ type: fc.constant('exited' as const), generation: fc.integer({ min: 1, max: 6 }), instance: fc.integer({ min: 1, max: 3 }), status: fc.constantFrom(0, 1, 124, 143), trigger: fc.constantFrom(null, 'SIGTERM', 'reload', 'ready-timeout') }),
    fc.record({ type: fc.constant('stop' as const), trigger: fc.constantFrom('SIGTERM' as const, 'SIGINT' as const, 'check' as const) }),
    fc.record({ type: fc.constant('timer' as const), timer: fc.constant('restart' as const), instance: fc.constantFrom(null, 1, 2) }),
    fc.record({ type: fc.constant('timer' as const), timer: fc.constant('settle' as const), generation: fc.integer({ min: 1, max: 6 }), instance: fc.integer({ min: 1, max: 3 }) }),
    fc.record({ type: fc.constant('scale' as const), instances: fc.integer({ min: 1, max: 3 }) }),
  );

  it('never serves two instances in a slot, answers each reload once, exits once and starts nothing after a stop', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(event, fc.integer({ min: 0, max: 500 })), { maxLength: 60 }), fc.boolean(), fc.integer({ min: 1, max: 3 }), (events, settle, instances) => {
        const sim = new GenSim({ restart: { ...RESTART_DEFAULTS, mode: 'always' }, settleMs: settle ? 100 : null }, instances);
        const answered = new Map<number, number>();
        let stopped = false;
        for (const [input, dt] of events) {
          sim.now += dt;
          const actions = sim.feed(input as Input);
          for (const a of actions) {
            if (a.type === 'answer') answered.set(a.reload, (answered.get(a.reload) ?? 0) + 1);
            if (a.type === 'start') expect(stopped, 'a start after a stop').toBe(false);
          }
          if (sim.state.phase.kind === 'stopping' || sim.state.phase.kind === 'done') stopped = true;
          for (const i of [1, 2, 3]) expect(sim.state.generations.filter((g) => g.role === 'serving' && g.instance === i).length).toBeLessThanOrEqual(1);
          for (const r of sim.state.reloads) if (r.outcome !== null) expect(answered.get(r.n), `reload ${r.n} answered`).toBe(1);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('--instances N', () => {
  // N instances of generation 1, all ready (pids 101, 102, ...).
  function servingN(n: number, policy: GenerationsPolicy = withReady): GenSim {
    const sim = new GenSim(policy, n);
    sim.feed({ type: 'begin' });
    for (let i = 1; i <= n; i++) sim.feed({ type: 'started', generation: 1, instance: i, pid: 100 + i });
    sim.now = 50;
    for (let i = 1; i <= n; i++) sim.feed({ type: 'ready', generation: 1, instance: i });
    sim.log.length = 0;
    return sim;
  }

  it('starts N instances of the first generation together, each in its slot', () => {
    const sim = new GenSim(withReady, 3);
    sim.feed({ type: 'begin' });
    expect(sim.log).toEqual(['0 start 1', '0 start 1.2', '0 start 1.3']);
    sim.feed({ type: 'started', generation: 1, instance: 2, pid: 102 });
    sim.now = 40;
    sim.feed({ type: 'ready', generation: 1, instance: 2 });
    expect(sim.roles()).toBe('1:starting 1.2:serving 1.3:starting');
  });

  it('a reload replaces them one at a time: a new instance ready, then the old one of its slot retired, then the next slot', () => {
    const sim = servingN(3);
    sim.now = 1000;
    sim.feed({ type: 'reload', via: 'control', client: 4 });
    expect(sim.log).toEqual(['1000 start 2']);
    sim.feed({ type: 'started', generation: 2, instance: 1, pid: 201 });
    sim.now = 1200;
    sim.feed({ type: 'ready', generation: 2, instance: 1 });
    expect(sim.log.slice(1)).toEqual(['1200 retire 1', '1200 start 2.2']);
    expect(sim.roles()).toBe('1:retired 1.2:serving 1.3:serving 2:serving 2.2:starting');
    sim.feed({ type: 'started', generation: 2, instance: 2, pid: 202 });
    sim.now = 1400;
    sim.feed({ type: 'ready', generation: 2, instance: 2 });
    expect(sim.log.slice(3)).toEqual(['1400 retire 1.2', '1400 start 2.3']);
    sim.feed({ type: 'started', generation: 2, instance: 3, pid: 203 });
    sim.now = 1600;
    sim.feed({ type: 'ready', generation: 2, instance: 3 });
    expect(sim.log.slice(5)).toEqual(['1600 retire 1.3', '1600 answer reload 1 [4]']);
    expect(sim.state.reloads[0]).toMatchObject({ outcome: 'switched', generation: 2, replaces: 1, instances: 3, switched: 3, readyAt: 1600, endedAt: 1600, drainedAt: null });
    // Drained once the three replaced instances are gone: the last one's time.
    sim.now = 1700;
    sim.feed(exited(1, 0, 'reload', 1));
    sim.feed(exited(1, 0, 'reload', 3));
    expect(sim.state.reloads[0]!.drainedAt).toBeNull();
    sim.now = 1800;
    sim.feed(exited(1, 0, 'reload', 2));
    expect(sim.state.reloads[0]!.drainedAt).toBe(1800);
    expect(sim.roles()).toBe('1:exited 1.2:exited 1.3:exited 2:serving 2.2:serving 2.3:serving');
  });

  it('a new instance that fails stops the reload there: the slots not reached keep their old instances, untouched', () => {
    const sim = servingN(3);
    sim.feed({ type: 'reload', via: 'SIGHUP', client: 1 });
    sim.feed({ type: 'started', generation: 2, instance: 1, pid: 201 });
    sim.now = 200;
    sim.feed({ type: 'ready', generation: 2, instance: 1 });
    sim.feed({ type: 'started', generation: 2, instance: 2, pid: 202 });
    sim.now = 300;
    sim.feed(exited(2, 1, null, 2));
    expect(sim.log).toEqual(['50 start 2', '200 retire 1', '200 start 2.2', '300 answer reload 1 [1]']);
    expect(sim.state.reloads[0]).toMatchObject({ outcome: 'rolled-back', switched: 1, reason: { kind: 'exited', instance: 2, status: 1, trigger: null } });
    expect(sim.roles()).toBe('1:retired 1.2:serving 1.3:serving 2:serving 2.2:exited');
    expect(sim.state.current).toBeNull();
    // The next reload replaces every slot again.
    sim.now = 400;
    sim.feed({ type: 'reload', via: 'control', client: 2 });
    expect(sim.log.at(-1)).toBe('400 start 3');
    expect(sim.state.reloads[1]).toMatchObject({ replacing: [{ n: 2, instance: 1 }, { n: 1, instance: 2 }, { n: 1, instance: 3 }] });
  });

  it('the first new instance failing is a whole rollback: no old instance was touched', () => {
    const sim = servingN(2);
    sim.feed({ type: 'reload', via: 'control', client: 1 });
    sim.feed({ type: 'started', generation: 2, instance: 1, pid: 201 });
    sim.now = 5100;
    sim.feed(exited(2, 124, 'ready-timeout'));
    expect(sim.log).toEqual(['50 start 2', '5100 answer reload 1 [1]']);
    expect(sim.roles()).toBe('1:serving 1.2:serving 2:exited');
    expect(sim.state.reloads[0]).toMatchObject({ outcome: 'rolled-back', switched: 0 });
  });

  it('empty slots are filled at once; the serving ones are replaced one at a time', () => {
    const sim = servingN(3, { ...withReady, restart: { ...RESTART_DEFAULTS, mode: 'no' } });
    sim.now = 100;
    sim.feed(exited(1, 1, null, 2));
    expect(sim.roles()).toBe('1:serving 1.2:exited 1.3:serving');
    sim.feed({ type: 'reload', via: 'control', client: null });
    expect(sim.log).toEqual(['100 start 2.2']);
    sim.feed({ type: 'started', generation: 2, instance: 2, pid: 202 });
    sim.feed({ type: 'ready', generation: 2, instance: 2 });
    expect(sim.log.slice(1)).toEqual(['100 start 2']);
  });

  it('a crashed instance is restarted alone, in its slot, after the restart delay; the others are untouched', () => {
    const sim = servingN(3, { ...withReady, restart: { ...RESTART_DEFAULTS, mode: 'on-failure', delayMs: 100 } });
    sim.now = 3000;
    sim.feed(exited(1, 139, null, 2));
    expect(sim.log).toEqual([]);
    expect(sim.state.phase.kind).toBe('running');
    expect(sim.state.slotRestarts).toEqual([{ instance: 2, until: 3100 }]);
    sim.advanceTo(3100);
    expect(sim.log).toEqual(['3100 start 2.2']);
    expect(sim.state.generations.at(-1)).toMatchObject({ n: 2, instance: 2, cause: 'restart' });
    expect(sim.state.restarts).toBe(1);
    sim.feed({ type: 'started', generation: 2, instance: 2, pid: 202 });
    sim.feed({ type: 'ready', generation: 2, instance: 2 });
    // Nothing was serving in its slot: nothing is retired.
    expect(sim.log).toEqual(['3100 start 2.2']);
    expect(sim.roles()).toBe('1:serving 1.2:exited 1.3:serving 2.2:serving');
  });

  it('without --restart, a crashed instance leaves its slot empty; graceful ends with the last one, with its status', () => {
    const sim = servingN(2, { ...withReady, restart: { ...RESTART_DEFAULTS, mode: 'no' } });
    sim.now = 100;
    sim.feed(exited(1, 1, null, 1));
    expect(sim.log).toEqual([]);
    expect(sim.state.gaveUp).toMatchObject({ kind: 'stop' });
    sim.now = 200;
    sim.feed(exited(1, 3, null, 2));
    expect(sim.log).toEqual(['200 release', '200 exit 3']);
  });

  it('a stop stops every instance and exits with the first failure among those that served', () => {
    const sim = servingN(3);
    sim.now = 500;
    sim.feed({ type: 'stop', trigger: 'SIGTERM' });
    expect(sim.log).toEqual(['500 release', '500 stop 1 SIGTERM', '500 stop 1.2 SIGTERM', '500 stop 1.3 SIGTERM']);
    sim.feed(exited(1, 0, 'SIGTERM', 1));
    sim.feed(exited(1, 137, 'SIGTERM', 3));
    expect(sim.status).toBeNull();
    sim.feed(exited(1, 143, 'SIGTERM', 2));
    expect(sim.log.at(-1)).toBe('500 exit 137');
  });

  it('a stop cancels the slots waiting to restart', () => {
    const sim = servingN(2, { ...withReady, restart: { ...RESTART_DEFAULTS, mode: 'always', delayMs: 1000 } });
    sim.feed(exited(1, 1, null, 2));
    expect(sim.armed.has('restart 2')).toBe(true);
    sim.feed({ type: 'stop', trigger: 'SIGTERM' });
    expect(sim.armed.size).toBe(0);
    sim.feed(exited(1, 0, 'SIGTERM', 1));
    expect(sim.log.at(-1)).toBe('50 exit 0');
  });

  it('without --ready, each instance counts as ready once it has run settleMs', () => {
    const sim = new GenSim({ ...withReady, settleMs: 1000 }, 2);
    sim.feed({ type: 'begin' });
    sim.feed({ type: 'started', generation: 1, instance: 1, pid: 101 });
    sim.now = 300;
    sim.feed({ type: 'started', generation: 1, instance: 2, pid: 102 });
    sim.advanceTo(1000);
    expect(sim.roles()).toBe('1:serving 1.2:starting');
    sim.advanceTo(1300);
    expect(sim.roles()).toBe('1:serving 1.2:serving');
  });

  it('scales up with a new generation in the new slots, and down by retiring the highest slots', () => {
    const sim = servingN(2);
    sim.now = 100;
    sim.feed({ type: 'scale', instances: 4 });
    expect(sim.log).toEqual(['100 start 2.3', '100 start 2.4']);
    expect(sim.state.generations.at(-1)).toMatchObject({ cause: 'scale' });
    sim.feed({ type: 'started', generation: 2, instance: 3, pid: 203 });
    sim.feed({ type: 'ready', generation: 2, instance: 3 });
    sim.feed({ type: 'ready', generation: 2, instance: 4 });
    sim.now = 200;
    sim.feed({ type: 'scale', instances: 1 });
    expect(sim.log.slice(2)).toEqual(['200 retire 2.4', '200 retire 2.3', '200 retire 1.2']);
    expect(sim.state.instances).toBe(1);
    // A reload now replaces one instance.
    sim.feed({ type: 'reload', via: 'control', client: null });
    expect(sim.state.reloads[0]).toMatchObject({ instances: 1, replacing: [{ n: 1, instance: 1 }] });
  });
});

describe('--instances N, edges', () => {
  it('an old instance that crashes in a slot the reload has not reached restarts by its policy; the reload fills the slot if it comes first', () => {
    const sim = new GenSim({ ...withReady, restart: { ...RESTART_DEFAULTS, mode: 'always', delayMs: 5000 } }, 3);
    sim.feed({ type: 'begin' });
    for (const i of [1, 2, 3]) sim.feed({ type: 'started', generation: 1, instance: i, pid: 100 + i });
    for (const i of [1, 2, 3]) sim.feed({ type: 'ready', generation: 1, instance: i });
    sim.log.length = 0;
    sim.feed({ type: 'reload', via: 'control', client: null });
    sim.now = 100;
    sim.feed(exited(1, 139, null, 3));
    expect(sim.state.slotRestarts).toEqual([{ instance: 3, until: 5100 }]);
    sim.feed({ type: 'ready', generation: 2, instance: 1 });
    // Slot 3 is empty: filled first, before the restart delay is over; slot 2 (served) after.
    expect(sim.log).toEqual(['0 start 2', '100 retire 1', '100 start 2.3']);
    sim.feed({ type: 'ready', generation: 2, instance: 3 });
    expect(sim.log.slice(3)).toEqual(['100 start 2.2']);
    sim.feed({ type: 'ready', generation: 2, instance: 2 });
    expect(sim.log.slice(4)).toEqual(['100 retire 1.2', '100 answer reload 1 []']);
    expect(sim.state.reloads[0]!.outcome).toBe('switched');
    sim.advanceTo(5100);
    // The slot is served: the restart does not start a second instance in it.
    expect(sim.log.filter((l) => l.includes('start'))).toHaveLength(3);
  });

  it('a scale during a reload changes nothing (the shell refuses it)', () => {
    const sim = new GenSim(withReady, 2);
    sim.feed({ type: 'begin' });
    sim.feed({ type: 'ready', generation: 1, instance: 1 });
    sim.feed({ type: 'ready', generation: 1, instance: 2 });
    sim.feed({ type: 'reload', via: 'control', client: null });
    sim.feed({ type: 'scale', instances: 4 });
    expect(sim.state.instances).toBe(2);
  });
});
