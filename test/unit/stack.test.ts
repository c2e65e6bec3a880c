// The stack's order on a fake clock: which process starts when, which is asked to stop when,
// what a restart or --exit-with does. A StackSim plays the supervisors: the test says when
// each process is spawned, ready, or ends, and reads the actions with their fake times.
import { describe, expect, it } from 'vitest';
import { bounceSet, graphProblem, levels, longestChain, selectProcesses, startStack, stepStack, type Dependency, type StackAction, type StackEvent, type StackPolicy, type StackProcess, type StackState } from '../../src/core/stack.js';
import type { RestartPolicy } from '../../src/core/restart.js';
import { RESTART_DEFAULTS } from '../../src/config/defaults.js';

type Input = StackEvent extends infer E ? (E extends { at: number } ? Omit<E, 'at'> : never) : never;

const dep = (name: string, condition: Dependency['condition'] = 'ready', restart = false): Dependency => ({ name, condition, restart });
const proc = (name: string, dependsOn: Dependency[] = [], over: Partial<StackProcess> = {}): StackProcess => ({
  name,
  dependsOn,
  restart: RESTART_DEFAULTS,
  onExit: 'stop-on-failure',
  ready: true,
  ...over,
});
const always = (over: Partial<RestartPolicy> = {}): RestartPolicy => ({ ...RESTART_DEFAULTS, mode: 'always', delayMs: 100, ...over });

class StackSim {
  now = 0;
  state: StackState;
  readonly log: (StackAction & { at: number })[] = [];
  readonly timers = new Map<string, number>();
  status: number | null = null;

  constructor(readonly policy: StackPolicy) {
    const first = startStack(policy, 0);
    this.state = first.state;
    this.record(first.actions);
  }

  feed(input: Input): StackAction[] {
    const { state, actions } = stepStack(this.state, { ...input, at: this.now } as StackEvent, this.policy);
    this.state = state;
    this.record(actions);
    return actions;
  }

  at(t: number): this {
    // Fires the restart timers that fall due on the way.
    for (const [name, due] of [...this.timers].sort((a, b) => a[1] - b[1])) {
      if (due > t) continue;
      this.now = due;
      this.timers.delete(name);
      this.feed({ type: 'timer', name });
    }
    this.now = t;
    return this;
  }

  // The supervisor of `name` spawned it and (if `ready`) saw it ready.
  up(name: string, ready = true): this {
    this.feed({ type: 'started', name });
    if (ready) this.feed({ type: 'ready', name });
    return this;
  }

  // The supervisor of `name` is done: stopped by a stack request, or ended on its own.
  end(name: string, status = 0, trigger: Extract<StackEvent, { type: 'ended' }>['trigger'] = null, startedAt: number | null = 0): this {
    const stopping = this.state.procs[name]!.state.kind === 'stopping';
    this.feed({ type: 'ended', name, status, success: status === 0, trigger: stopping ? 'stack' : trigger, startedAt });
    return this;
  }

  record(actions: StackAction[]): void {
    for (const a of actions) {
      this.log.push({ ...a, at: this.now });
      if (a.type === 'arm') this.timers.set(a.name, a.at);
      if (a.type === 'cancel') this.timers.delete(a.name);
      if (a.type === 'exit') this.status = a.status;
    }
  }

  // "at verb name" for starts, stops and forces, in order.
  moves(): string[] {
    return this.log.flatMap((a) => (a.type === 'start' || a.type === 'stop' || a.type === 'force' ? [`${a.at} ${a.type} ${a.name}`] : []));
  }

  stops(): (StackAction & { type: 'stop'; at: number })[] {
    return this.log.filter((a): a is StackAction & { type: 'stop'; at: number } => a.type === 'stop');
  }
}

// redis <- db <- api (api also on redis): the three-level stack of the issue.
const threeLevels = (over: Partial<StackPolicy> = {}): StackPolicy => ({
  processes: [proc('redis'), proc('db', [dep('redis')]), proc('api', [dep('db'), dep('redis')])],
  exitWith: null,
  deadlineMs: null,
  ...over,
});

describe('start', () => {
  it('goes up the levels, each process only once its dependencies are ready', () => {
    const sim = new StackSim(threeLevels());
    expect(sim.moves()).toEqual(['0 start redis']);
    sim.at(10).up('redis', false);
    expect(sim.moves()).toEqual(['0 start redis']); // spawned is not ready
    sim.at(50).feed({ type: 'ready', name: 'redis' });
    expect(sim.moves()).toEqual(['0 start redis', '50 start db']);
    sim.at(300).up('db');
    expect(sim.moves()).toEqual(['0 start redis', '50 start db', '300 start api']);
  });

  it('starts independent processes together', () => {
    const sim = new StackSim({
      processes: [proc('a'), proc('b'), proc('c', [dep('a'), dep('b')]), proc('d', [dep('a')])],
      exitWith: null,
      deadlineMs: null,
    });
    expect(sim.moves()).toEqual(['0 start a', '0 start b']);
    sim.at(5).up('a');
    expect(sim.moves()).toEqual(['0 start a', '0 start b', '5 start d']);
    sim.at(7).up('b');
    expect(sim.moves()).toEqual(['0 start a', '0 start b', '5 start d', '7 start c']);
  });

  it('conditions: started needs the spawn only; completed needs an end with success', () => {
    const sim = new StackSim({
      processes: [proc('db'), proc('migrate', [dep('db', 'started')]), proc('api', [dep('migrate', 'completed')])],
      exitWith: null,
      deadlineMs: null,
    });
    sim.at(1).up('db', false);
    expect(sim.moves()).toEqual(['0 start db', '1 start migrate']);
    sim.at(2).up('migrate', false);
    sim.at(40).end('migrate', 0, null, 2);
    expect(sim.moves()).toEqual(['0 start db', '1 start migrate', '40 start api']);
    expect(sim.state.phase.kind).toBe('up'); // a task that succeeded leaves the stack running
  });

  it('a task that fails ends the start: what runs is stopped in reverse order', () => {
    const sim = new StackSim({
      processes: [proc('db'), proc('migrate', [dep('db', 'started')]), proc('api', [dep('migrate', 'completed')])],
      exitWith: null,
      deadlineMs: null,
    });
    sim.at(1).up('db');
    sim.at(2).up('migrate', false);
    sim.at(30).end('migrate', 3, null, 2);
    expect(sim.state.cause).toEqual({ kind: 'ended', name: 'migrate', status: 3, why: 'unmet', blocked: 'api' });
    expect(sim.moves().slice(-1)).toEqual(['30 stop db']);
    sim.at(60).end('db');
    expect(sim.status).toBe(3);
  });

  it('a dependency never ready within its ready timeout aborts the start; what started stops in reverse order', () => {
    // api waits for db; db is not ready in time (its supervisor stops it: ready-timeout, 124).
    const sim = new StackSim({
      processes: [proc('redis'), proc('cache-warm', [dep('redis')]), proc('db', [dep('redis')]), proc('api', [dep('db'), dep('cache-warm')])],
      exitWith: null,
      deadlineMs: null,
    });
    sim.at(10).up('redis');
    sim.at(20).up('cache-warm');
    sim.at(30).up('db', false);
    sim.at(2030).end('db', 124, 'ready-timeout', 30);
    expect(sim.state.cause).toMatchObject({ kind: 'ended', name: 'db', why: 'not-ready', blocked: 'api' });
    // api never started; cache-warm (nothing depends on it) stops first, redis after it.
    expect(sim.moves()).toEqual(['0 start redis', '10 start cache-warm', '10 start db', '2030 stop cache-warm']);
    sim.at(2050).end('cache-warm');
    expect(sim.moves().slice(-1)).toEqual(['2050 stop redis']);
    sim.at(2070).end('redis');
    expect(sim.status).toBe(124);
    expect(sim.moves().some((m) => m.includes('api'))).toBe(false);
  });

  it('a process that cannot be spawned aborts the start', () => {
    const sim = new StackSim(threeLevels());
    sim.at(5).up('redis');
    sim.at(6).end('db', 127, null, null);
    expect(sim.state.cause).toMatchObject({ name: 'db', why: 'not-started' });
    expect(sim.moves().slice(-1)).toEqual(['6 stop redis']);
    sim.at(9).end('redis');
    expect(sim.status).toBe(127);
  });
});

describe('stop', () => {
  const upAll = (sim: StackSim) => sim.at(1).up('redis').at(2).up('db').at(3).up('api');

  it('goes down the levels: api, then db, then redis, each once the one above is gone', () => {
    const sim = upAll(new StackSim(threeLevels()));
    sim.at(1000).feed({ type: 'stop-requested', signal: 'SIGTERM' });
    expect(sim.moves().slice(3)).toEqual(['1000 stop api']);
    expect(sim.stops()[0]).toMatchObject({ trigger: 'SIGTERM', graceMs: null });
    sim.at(1200).end('api');
    expect(sim.moves().slice(3)).toEqual(['1000 stop api', '1200 stop db']);
    sim.at(1500).end('db');
    expect(sim.moves().slice(3)).toEqual(['1000 stop api', '1200 stop db', '1500 stop redis']);
    sim.at(1510).end('redis');
    expect(sim.state.stopOrder).toEqual(['api', 'db', 'redis']);
    expect(sim.status).toBe(0);
  });

  it('stops independent branches together', () => {
    // web and worker both use db; db and queue are independent leaves.
    const sim = new StackSim({
      processes: [proc('db'), proc('queue'), proc('web', [dep('db')]), proc('worker', [dep('db'), dep('queue')])],
      exitWith: null,
      deadlineMs: null,
    });
    sim.at(1).up('db').up('queue').at(2).up('web').up('worker');
    sim.at(100).feed({ type: 'stop-requested', signal: 'SIGINT' });
    expect(sim.moves().slice(4)).toEqual(['100 stop web', '100 stop worker']);
    sim.at(150).end('worker');
    // queue is free once worker is gone; db still serves web.
    expect(sim.moves().slice(6)).toEqual(['150 stop queue']);
    sim.at(400).end('web');
    expect(sim.moves().slice(7)).toEqual(['400 stop db']);
  });

  it('the stack deadline caps each grace period by what is left of it', () => {
    const sim = upAll(new StackSim(threeLevels({ deadlineMs: 10_000 })));
    sim.at(1000).feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.at(8000).end('api', 137); // it used 7 s of the 10 s
    sim.at(11_500).end('db', 137); // killed at the deadline (11 000) and gone at 11 500
    expect(sim.stops().map((s) => [s.name, s.graceMs])).toEqual([
      ['api', 10_000],
      ['db', 3000],
      ['redis', 0],
    ]);
  });

  it('a process killed at its deadline does not hold the rest: they still stop in order; the status is the first failure', () => {
    const sim = upAll(new StackSim(threeLevels()));
    sim.at(100).feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.at(2100).end('api', 137);
    sim.at(2200).end('db', 0);
    sim.at(2300).end('redis', 0);
    expect(sim.moves().slice(3)).toEqual(['100 stop api', '2100 stop db', '2200 stop redis']);
    expect(sim.status).toBe(137);
  });

  it('a second Ctrl+C kills everything left at once; its echo (the same keypress) does not', () => {
    const sim = upAll(new StackSim(threeLevels()));
    sim.at(100).feed({ type: 'stop-requested', signal: 'SIGINT' });
    sim.at(150).feed({ type: 'stop-requested', signal: 'SIGINT' }); // within the echo window
    expect(sim.log.some((a) => a.type === 'force')).toBe(false);
    sim.at(900).feed({ type: 'stop-requested', signal: 'SIGINT' });
    expect(sim.moves().slice(3)).toEqual(['100 stop api', '900 force redis', '900 force db', '900 force api']);
    sim.at(905).end('redis', 137).end('api', 137).end('db', 137);
    expect(sim.status).toBe(137);
  });

  it('a Ctrl+C after a SIGTERM forces at once; a repeated SIGTERM does not', () => {
    const sim = upAll(new StackSim(threeLevels()));
    sim.at(100).feed({ type: 'stop-requested', signal: 'SIGTERM' });
    sim.at(200).feed({ type: 'stop-requested', signal: 'SIGTERM' });
    expect(sim.log.some((a) => a.type === 'force')).toBe(false);
    sim.at(250).feed({ type: 'stop-requested', signal: 'SIGINT' });
    expect(sim.log.filter((a) => a.type === 'force').map((a) => a.name)).toEqual(['redis', 'db', 'api']);
  });

  it('a stop during the start: what never started stays so; what runs stops in reverse order', () => {
    const sim = new StackSim(threeLevels());
    sim.at(5).up('redis');
    sim.at(6).up('db', false);
    sim.at(7).feed({ type: 'stop-requested', signal: 'SIGTERM' });
    expect(sim.moves()).toEqual(['0 start redis', '5 start db', '7 stop db']);
    sim.at(30).end('db');
    sim.at(40).end('redis');
    expect(sim.status).toBe(0);
    expect(sim.state.procs.api!.state.kind).toBe('waiting');
  });
});

describe('when one ends on its own', () => {
  const upAll = (sim: StackSim) => sim.at(1).up('redis').at(2).up('db').at(3).up('api');

  it('a failure (default on_exit) ends the stack: the rest stops in order, the status is its own', () => {
    const sim = upAll(new StackSim(threeLevels()));
    sim.at(5000).end('db', 1, null, 2);
    expect(sim.state.cause).toMatchObject({ kind: 'ended', name: 'db', status: 1, why: 'on-exit' });
    expect(sim.moves().slice(3)).toEqual(['5000 stop api']);
    expect(sim.stops()[0]!.trigger).toBe('stack');
    sim.at(5100).end('api');
    expect(sim.moves().slice(4)).toEqual(['5100 stop redis']);
    sim.at(5200).end('redis');
    expect(sim.status).toBe(1);
  });

  it('on_exit continue: the rest keeps running', () => {
    const sim = upAll(new StackSim({ ...threeLevels(), processes: [proc('redis'), proc('db', [dep('redis')]), proc('api', [dep('db'), dep('redis')]), proc('cron', [], { onExit: 'continue' })] }));
    sim.up('cron');
    sim.at(100).end('cron', 2);
    expect(sim.state.phase.kind).toBe('up');
  });

  it('restart: a dependency that crashes restarts after its delay; dependents marked restart are stopped first and started again once it is ready', () => {
    const sim = new StackSim({
      processes: [proc('db', [], { restart: always({ delayMs: 500 }) }), proc('api', [dep('db', 'ready', true)]), proc('web', [dep('api', 'ready', true)]), proc('audit', [dep('db')])],
      exitWith: null,
      deadlineMs: null,
    });
    sim.at(1).up('db').at(2).up('api').up('audit').at(3).up('web');
    sim.at(5000).end('db', 1, null, 1);
    // web stops first (it depends on api), api after it; audit is left alone.
    expect(sim.moves().slice(4)).toEqual(['5000 stop web']);
    sim.at(5100).end('web');
    expect(sim.moves().slice(5)).toEqual(['5100 stop api']);
    sim.at(5300).end('api');
    expect(sim.state.procs.audit!.state.kind).toBe('running');
    // db's delay (500 ms) is over at 5500; then db, then api once db is ready, then web.
    sim.at(5500);
    expect(sim.moves().slice(6)).toEqual(['5500 start db']);
    sim.at(5600).up('db');
    expect(sim.moves().slice(7)).toEqual(['5600 start api']);
    sim.at(5700).up('api');
    expect(sim.moves().slice(8)).toEqual(['5700 start web']);
    expect(sim.state.phase.kind).toBe('up');
  });

  it('restart: the dependency waits for its dependents to be down before it starts again', () => {
    const sim = new StackSim({
      processes: [proc('db', [], { restart: always({ delayMs: 0 }) }), proc('api', [dep('db', 'ready', true)])],
      exitWith: null,
      deadlineMs: null,
    });
    sim.at(1).up('db').at(2).up('api');
    sim.at(100).end('db', 1, null, 1);
    sim.at(100); // the timer (0 ms) fires
    expect(sim.moves().slice(2)).toEqual(['100 stop api']);
    sim.at(2000).end('api');
    expect(sim.moves().slice(3)).toEqual(['2000 start db']);
  });

  it('restart gives up past max_restarts: the stack stops with its status', () => {
    const sim = new StackSim({
      processes: [proc('flaky', [], { restart: always({ delayMs: 10, maxRestarts: 1 }) }), proc('api', [dep('flaky')])],
      exitWith: null,
      deadlineMs: null,
    });
    sim.at(1).up('flaky').at(2).up('api');
    sim.at(50).end('flaky', 1, null, 1);
    sim.at(60).up('flaky');
    sim.at(90).end('flaky', 1, null, 60);
    expect(sim.state.cause).toMatchObject({ name: 'flaky', why: 'gave-up' });
    expect(sim.moves().slice(-1)).toEqual(['90 stop api']);
  });

  it('--exit-with: the tests end, the stack stops in reverse order, and their status is graceful\'s', () => {
    const sim = new StackSim({ ...threeLevels(), processes: [...threeLevels().processes, proc('tests', [dep('api')], { restart: always() })], exitWith: 'tests' });
    sim.at(1).up('redis').at(2).up('db').at(3).up('api').at(4).up('tests', false);
    sim.at(9000).end('tests', 3, null, 4);
    expect(sim.state.cause).toMatchObject({ name: 'tests', why: 'exit-with' });
    expect(sim.moves().slice(4)).toEqual(['9000 stop api']);
    sim.at(9100).end('api').at(9200).end('db').at(9300).end('redis');
    expect(sim.status).toBe(3);
  });

  it('--exit-with passes a success through too, even when another process stopped with a failure', () => {
    const sim = new StackSim({ ...threeLevels(), processes: [...threeLevels().processes, proc('tests', [dep('api')])], exitWith: 'tests' });
    sim.at(1).up('redis').at(2).up('db').at(3).up('api').at(4).up('tests', false);
    sim.at(9000).end('tests', 0, null, 4);
    sim.at(9100).end('api', 137).at(9200).end('db').at(9300).end('redis');
    expect(sim.status).toBe(0);
  });
});

describe('the graph, at load', () => {
  const graph = (deps: Record<string, string[]>) => ({ names: Object.keys(deps), deps: (n: string) => deps[n] ?? [] });

  it('names a cycle in full, an unknown name, a process that waits for itself', () => {
    expect(graphProblem(graph({ a: ['c'], b: ['a'], c: ['b'] }))).toBe('a dependency cycle: a -> c -> b -> a; one of them must not wait for the other');
    expect(graphProblem(graph({ a: ['nope'] }))).toBe('a depends on "nope", which is not a process of the file (a)');
    expect(graphProblem(graph({ a: ['a'] }))).toBe('a depends on itself');
    expect(graphProblem(graph({ a: [], b: ['a'], c: ['a', 'b'] }))).toBeNull();
  });

  it('levels, the longest chain of grace periods, the selection of named processes', () => {
    const g = graph({ redis: [], db: ['redis'], api: ['db', 'redis'], worker: ['redis'] });
    expect(levels(g)).toEqual([['redis'], ['db', 'worker'], ['api']]);
    const grace: Record<string, number | null> = { redis: 5000, db: 20_000, api: 10_000, worker: 31_000 };
    expect(longestChain(g, (n) => grace[n]!)).toEqual({ ms: 36_000, chain: ['worker', 'redis'] });
    grace.worker = 1000;
    expect(longestChain(g, (n) => grace[n]!)).toEqual({ ms: 35_000, chain: ['api', 'db', 'redis'] });
    grace.db = null; // --no-kill: no bound
    expect(longestChain(g, (n) => grace[n]!).ms).toBeNull();
    expect(selectProcesses(g, ['db'])).toEqual(['redis', 'db']);
    expect(selectProcesses(g, [])).toEqual(['redis', 'db', 'api', 'worker']);
  });

  it('bounceSet follows restart edges only', () => {
    const p: StackPolicy = { processes: [proc('db'), proc('api', [dep('db', 'ready', true)]), proc('web', [dep('api', 'ready', true)]), proc('audit', [dep('db')])], exitWith: null, deadlineMs: null };
    expect(bounceSet('db', p)).toEqual(['api', 'web']);
  });
});

describe('commands (graceful ctl)', () => {
  // redis <- api <- worker (restart: true), and web on api (restart: false); all restart always.
  const steered = (): StackPolicy => ({
    processes: [
      proc('redis', [], { restart: always() }),
      proc('api', [dep('redis')], { restart: always() }),
      proc('worker', [dep('api', 'ready', true)], { restart: always() }),
      proc('web', [dep('api')], { restart: always() }),
    ],
    exitWith: null,
    deadlineMs: null,
  });
  const running = (): StackSim => {
    const sim = new StackSim(steered());
    sim.at(10).up('redis').at(20).up('api').at(30).up('worker').up('web');
    sim.log.length = 0;
    return sim;
  };
  let client = 0;
  const ask = (sim: StackSim, command: Extract<StackEvent, { type: 'command' }>['command']) => {
    const answer = sim.feed({ type: 'command', command, client: ++client }).find((a) => a.type === 'answer');
    return answer?.type === 'answer' ? answer.outcome : null;
  };

  it('stop is refused while processes that depend on it run, naming them', () => {
    const sim = running();
    expect(ask(sim, { kind: 'stop', name: 'api', dependents: false })).toEqual({ kind: 'refused', refusal: { kind: 'dependents', name: 'api', running: ['worker', 'web'] } });
    expect(sim.moves()).toEqual([]);
  });

  it('stop with dependents stops them first, in reverse order; the stopped ones are held, not restarted by their policy', () => {
    const sim = running();
    sim.at(100);
    expect(ask(sim, { kind: 'stop', name: 'redis', dependents: true })).toEqual({ kind: 'accepted', stops: ['worker', 'web', 'api', 'redis'], starts: [] });
    expect(sim.moves()).toEqual(['100 stop worker', '100 stop web']);
    sim.at(150).end('worker').end('web');
    expect(sim.moves().slice(2)).toEqual(['150 stop api']);
    sim.at(200).end('api');
    sim.at(250).end('redis');
    expect(sim.moves().slice(3)).toEqual(['200 stop redis']);
    // Held: nothing starts again, however long; the stack is still up.
    sim.at(10_000);
    expect(sim.moves()).toHaveLength(4);
    expect(sim.state.phase.kind).toBe('up');
    expect(Object.values(sim.state.procs).map((p) => [p.state.kind, p.held])).toEqual(Array(4).fill(['waiting', true]));
  });

  it('start starts it and what it needs that was stopped, in order; the others stay stopped', () => {
    const sim = running();
    ask(sim, { kind: 'stop', name: 'redis', dependents: true });
    sim.end('worker').end('web').end('api').end('redis');
    sim.log.length = 0;
    sim.at(500);
    expect(ask(sim, { kind: 'start', name: 'api' })).toEqual({ kind: 'accepted', stops: [], starts: ['redis', 'api'] });
    expect(sim.moves()).toEqual(['500 start redis']);
    sim.at(520).up('redis');
    expect(sim.moves()).toEqual(['500 start redis', '520 start api']);
    sim.at(540).up('api');
    expect(sim.moves()).toHaveLength(2);
    expect(sim.state.procs.worker!.held).toBe(true);
  });

  it('restart: its restart: true dependents stop first and follow it; the others keep running; its policy history is untouched', () => {
    const sim = running();
    sim.at(1000);
    expect(ask(sim, { kind: 'restart', name: 'api' })).toEqual({ kind: 'accepted', stops: ['worker', 'api'], starts: ['api', 'worker'] });
    expect(sim.moves()).toEqual(['1000 stop worker']);
    sim.at(1050).end('worker');
    expect(sim.moves()).toEqual(['1000 stop worker', '1050 stop api']);
    sim.at(1100).end('api');
    expect(sim.moves()).toEqual(['1000 stop worker', '1050 stop api', '1100 start api']);
    sim.at(1200).up('api');
    expect(sim.moves().at(-1)).toBe('1200 start worker');
    expect(sim.state.procs.web!.state.kind).toBe('running');
    expect(sim.state.procs.api!.history).toEqual([]);
    expect(sim.state.procs.api!.starts).toBe(2);
  });

  it('refuses with the reason: unknown, not running, running, busy, and anything while the stack stops', () => {
    const sim = running();
    expect(ask(sim, { kind: 'restart', name: 'nope' })).toEqual({ kind: 'refused', refusal: { kind: 'unknown', name: 'nope' } });
    expect(ask(sim, { kind: 'start', name: 'web' })).toEqual({ kind: 'refused', refusal: { kind: 'running', name: 'web' } });
    ask(sim, { kind: 'stop', name: 'web', dependents: false });
    expect(ask(sim, { kind: 'stop', name: 'web', dependents: false })).toEqual({ kind: 'refused', refusal: { kind: 'busy', name: 'web' } });
    sim.end('web');
    expect(ask(sim, { kind: 'stop', name: 'web', dependents: false })).toEqual({ kind: 'refused', refusal: { kind: 'not-running', name: 'web', state: 'held' } });
    sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    expect(ask(sim, { kind: 'start', name: 'web' })).toEqual({ kind: 'refused', refusal: { kind: 'stopping' } });
  });

  it('restart of a stopped process starts it; a stop during its restart delay holds it', () => {
    const sim = running();
    sim.at(100).end('web', 1, null, 30);
    expect(sim.state.procs.web!.state.kind).toBe('restarting');
    expect(ask(sim, { kind: 'stop', name: 'web', dependents: false })).toEqual({ kind: 'accepted', stops: [], starts: [] });
    expect(sim.timers.has('web')).toBe(false);
    sim.at(5000);
    expect(sim.moves()).toEqual([]);
    expect(ask(sim, { kind: 'restart', name: 'web' })).toEqual({ kind: 'accepted', stops: [], starts: ['web'] });
    expect(sim.moves()).toEqual(['5000 start web']);
  });
});
