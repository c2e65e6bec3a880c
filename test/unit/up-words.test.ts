// graceful up's words from facts, on a fake clock: the stack's lines as it starts, restarts
// and stops (narration.ts), the live area's rows (live.ts) and graceful check -f's verdict
// (stack-check.ts). The stack is a real file read by loadStack; its states come from
// core/stack.ts, and each program's runs from its own machine (sim.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { liveRows } from '../../src/commands/up/live.js';
import { acceptedLine, endLine, openingLine, refusalText, stackLines, stateWord, statusTable, type ProgramRuns } from '../../src/commands/up/narration.js';
import type { UpOptions } from '../../src/commands/up/options.js';
import { stackVerdict } from '../../src/commands/up/stack-check.js';
import { loadStack, type Stack } from '../../src/commands/up/stackfile.js';
import { initialStack, startStack, stepStack, type StackAction, type StackEvent, type StackPolicy, type StackState } from '../../src/core/stack.js';
import type { State } from '../../src/core/types.js';
import { noPaint } from '../../src/report/human.js';
import type { ProcessRun } from '../../src/report/stack.js';
import { Sim } from './sim.js';

const dir = mkdtempSync(join(tmpdir(), 'graceful-up-words-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Input = StackEvent extends infer E ? (E extends { at: number } ? Omit<E, 'at'> : never) : never;

// kv and db first (db is ready by its probe), api after both. Each grace period is under
// the deadlines the tests give the stack (which the coordinator would cap them to).
const STACK = `
processes:
  kv:
    command: redis-server --port 6379
    stop_grace_period: 5s
  db:
    command: postgres -D /var/lib/db
    ready: tcp:127.0.0.1:5432
    stop_grace_period: 10s
  api:
    command: node api.js
    depends_on: [db, kv]
    stop_grace_period: 8s
`;

/** A stack on a fake clock: the file's programs, their runs and machines, and the stack's lines so far. */
class Stage {
  now = 0;
  state: StackState;
  readonly stack: Stack;
  readonly options: UpOptions;
  readonly policy: StackPolicy;
  readonly programs: Map<string, ProgramRuns & { runs: ProcessRun[] }>;
  /** The machine of each program while it runs. */
  readonly machines = new Map<string, Sim>();
  readonly lines: string[] = [];

  constructor(text: string, over: Partial<UpOptions> = {}) {
    const file = join(dir, `stack-${Math.random().toString(36).slice(2)}.yml`);
    writeFileSync(file, text);
    this.options = { file, fileFrom: '-f', names: [], deadlineMs: null, deadlineFrom: null, platform: null, exitWith: null, check: false, reportFile: null, subreaper: true, quiet: false, verbose: false, logFormat: 'human', health: null, finalScrapeMs: 0, ...over };
    this.stack = loadStack(this.options);
    this.policy = { processes: this.stack.processes, exitWith: this.options.exitWith, deadlineMs: this.options.deadlineMs };
    this.programs = new Map(this.stack.entries.map((entry) => [entry.name, { entry, runs: [] }]));
    // As the coordinator narrates the start: from the initial state, at once.
    const initial = initialStack(this.policy);
    const first = startStack(this.policy, 0);
    this.say(initial, { type: 'timer', at: 0, name: '' }, first.state, first.actions);
    this.state = first.state;
  }

  say(prev: StackState, event: StackEvent, next: StackState, actions: readonly StackAction[]): void {
    this.lines.push(...stackLines(prev, event, next, actions, this.programs, this.options).map((l) => `${l.name ?? '*'}: ${l.text}`));
  }

  at(t: number): this {
    this.now = t;
    return this;
  }

  feed(input: Input): this {
    const event = { ...input, at: this.now } as StackEvent;
    const { state, actions } = stepStack(this.state, event, this.policy);
    this.say(this.state, event, state, actions);
    this.state = state;
    // What the stack asks of a program reaches its machine.
    for (const a of actions) {
      if (a.type !== 'stop' && a.type !== 'force') continue;
      const sim = this.machine(a.name);
      sim.now = this.now;
      sim.feed(a.type === 'stop' ? { type: 'stop', trigger: 'stack' } : { type: 'force', signal: a.signal });
    }
    return this;
  }

  // Program `name` was spawned (and, for a program with a probe, found ready) now.
  up(name: string): this {
    const sim = new Sim(this.entry(name).run.policy, [...this.entry(name).run.command]);
    sim.now = this.now;
    sim.feed({ type: 'started', pid: 100 + this.machines.size });
    this.machines.set(name, sim);
    this.feed({ type: 'started', name });
    if (this.entry(name).run.ready) {
      sim.feed({ type: 'ready' });
      this.feed({ type: 'ready', name });
    }
    return this;
  }

  // Program `name`'s main process exits now (`code`, or the stop signal after a stop), its
  // run is kept and its supervisor done.
  exits(name: string, code = 0): this {
    const sim = this.machine(name);
    sim.now = this.now;
    sim.feed({ type: 'child-exited', code, signal: null, signo: null, survivors: 0 });
    const stopAt = sim.state.facts.stop?.trigger === 'stack' ? sim.state.facts.stop.requestedAt : null;
    const extras = { descendants: { atStop: null, atMainExit: [], atAppExit: null, killed: [], leaked: [] }, reaper: null };
    this.programs.get(name)!.runs.push({ facts: sim.state.facts, status: sim.status!, extras, wall: (t) => t, stopAt, endedAt: this.now });
    this.machines.delete(name);
    const trigger = sim.state.facts.stop?.trigger === 'stack' ? 'stack' : null;
    return this.feed({ type: 'ended', name, status: sim.status!, success: sim.status === 0, trigger, startedAt: sim.state.facts.startedAt });
  }

  machine(name: string): Sim {
    return this.machines.get(name)!;
  }

  entry(name: string) {
    return this.stack.entries.find((e) => e.name === name)!;
  }

  live(): string[] {
    return liveRows(this.state, this.programs, (name) => (this.machines.get(name)?.state as State | undefined) ?? null, this.now);
  }
}

describe("the stack's lines", () => {
  it('the order it starts in, each start with what it waited for; the stop in reverse; the last line', () => {
    const s = new Stage(STACK, { deadlineMs: 15_000, deadlineFrom: '--timeout' });
    expect(openingLine(s.stack)).toBe(`${s.options.file}: 3 processes, started in order: kv, db; then api`);
    s.at(5).up('kv').at(6).up('db').at(90).up('api');
    s.at(1000).feed({ type: 'stop-requested', signal: 'SIGTERM' });
    s.at(1120).exits('api').at(1130).exits('kv').at(1250).exits('db');
    expect(s.lines).toEqual([
      'kv: starting redis-server --port 6379',
      'db: starting postgres -D /var/lib/db',
      'api: starting node api.js (after db ready, kv started)',
      '*: SIGTERM received: stopping the stack in reverse order: api; then kv, db; all within 15s (--timeout)',
    ]);
    expect(s.state.phase.kind).toBe('done');
    expect(endLine(s.state, 0, { began: 1000, ended: 1250 })).toBe('stack stopped in 250ms: api, kv, db in that order; exit status 0');
    expect(endLine(s.state, 0, { began: null, ended: null })).toBe('stack stopped: api, kv, db in that order; exit status 0');
  });

  it('a program that fails stops the stack: the cause with its figures, then what still runs', () => {
    const s = new Stage(STACK);
    s.at(5).up('kv').at(6).up('db').at(90).up('api');
    s.at(1290).exits('api', 3);
    expect(s.lines.slice(3)).toEqual(['*: api exited with code 3 after 1.20s (on_exit: stop-on-failure): stopping the stack in reverse order: kv, db']);
  });

  it('a restart the stack makes, with the dependents that stop first; a second Ctrl+C', () => {
    const s = new Stage(`
processes:
  db:
    command: postgres
    restart: always
    restart_delay: 250ms
  api:
    command: node api.js
    depends_on: { db: { condition: started, restart: true } }
  worker:
    command: node worker.js
    depends_on: { db: { condition: started, restart: true } }
`);
    s.at(5).up('db').at(6).up('api').at(7).up('worker');
    s.at(500).exits('db', 1);
    expect(s.lines.slice(3)).toEqual(['db: restarting in 250ms (restart 1); api, worker stop first and start again after it']);
    s.at(600).exits('api').at(610).exits('worker');
    s.at(750).feed({ type: 'timer', name: 'db' });
    expect(s.lines.slice(4)).toEqual(['db: starting again postgres']);
    s.at(760).up('db');
    expect(s.lines.slice(5)).toEqual(['api: starting again node api.js (after db started)', 'worker: starting again node worker.js (after db started)']);
    s.at(800).up('api').at(801).up('worker');
    s.at(900).feed({ type: 'stop-requested', signal: 'SIGINT' });
    s.at(950).feed({ type: 'stop-requested', signal: 'SIGINT' }); // the same keypress, seen twice: nothing
    s.at(1500).feed({ type: 'stop-requested', signal: 'SIGINT' });
    expect(s.lines.slice(7)).toEqual([
      '*: SIGINT received: stopping the stack in reverse order: api, worker; then db',
      '*: SIGINT received again: killing what is left at once: db, api, worker',
    ]);
  });
});

describe('the live area while the stack stops', () => {
  it("the stack's countdown to its deadline, each program's own without the force (the header says it once)", () => {
    const s = new Stage(STACK, { deadlineMs: 15_000, deadlineFrom: '--timeout' });
    s.at(5).up('kv').at(6).up('db').at(90).up('api');
    s.at(1000).feed({ type: 'stop-requested', signal: 'SIGTERM' });
    s.at(1200);
    expect(s.live()).toEqual([
      'stopping the stack (SIGTERM received): 200ms, 15s left of the deadline, Ctrl+C again to force',
      'kv   running; stops after api',
      'db   running; stops after api',
      'api  SIGTERM sent, 8s left',
    ]);
    s.at(1300).exits('api');
    s.at(2250);
    expect(s.live()).toEqual([
      'stopping the stack (SIGTERM received): 1.25s, 14s left of the deadline, Ctrl+C again to force',
      'kv   SIGTERM sent, 5s left',
      'db   SIGTERM sent, 10s left',
      'api  stopped in 300ms [clean]',
    ]);
  });
});

describe('graceful ctl: its lines, the status words and the live area in step', () => {
  it('a stop refused, then accepted: the lines say what and why; status and the live area say the process is held', () => {
    const s = new Stage(STACK, { deadlineMs: 15_000, deadlineFrom: '--timeout' });
    s.at(5).up('kv').at(6).up('db').at(90).up('api');
    const answer = (command: Extract<StackEvent, { type: 'command' }>['command']) => {
      const { state, actions } = stepStack(s.state, { type: 'command', at: s.now, command, client: 1 }, s.policy);
      const a = actions.find((x) => x.type === 'answer');
      return { state, actions, a: a?.type === 'answer' ? a : null };
    };
    const refused = answer({ kind: 'stop', name: 'db', dependents: false }).a!;
    expect(refused.outcome.kind).toBe('refused');
    if (refused.outcome.kind === 'refused') expect(refusalText(refused.outcome.refusal, ['kv', 'db', 'api'])).toBe('api depends on db and runs: stop it first, or give --with-dependents to stop it before db');
    const accepted = answer({ kind: 'stop', name: 'db', dependents: true }).a!;
    expect(accepted.outcome).toEqual({ kind: 'accepted', stops: ['api', 'db'], starts: [] });
    if (accepted.outcome.kind === 'accepted') expect(acceptedLine(accepted.command, accepted.outcome.stops, accepted.outcome.starts)).toBe('graceful ctl stop db --with-dependents: stopping api, then db');
    s.at(100).feed({ type: 'command', command: { kind: 'stop', name: 'db', dependents: true }, client: 2 });
    expect(stateWord(s.state, 'api', s.policy)).toBe('stopping (graceful ctl)');
    s.at(150).exits('api');
    s.at(300).exits('db');
    expect(['kv', 'db', 'api'].map((n) => stateWord(s.state, n, s.policy))).toEqual(['running', 'stopped (graceful ctl)', 'stopped (graceful ctl)']);
    // The stack's own stop: the live area says the same of them.
    s.at(1000).feed({ type: 'stop-requested', signal: 'SIGTERM' });
    s.at(1100);
    expect(s.live()).toEqual([
      'stopping the stack (SIGTERM received): 100ms, 15s left of the deadline, Ctrl+C again to force',
      'kv   SIGTERM sent, 5s left',
      'db   stopped (graceful ctl stop)',
      'api  stopped (graceful ctl stop)',
    ]);
  });

  it('graceful ctl status as a table', () => {
    expect(statusTable([
      { name: 'db', state: 'ready', pid: 41, ready: true, uptimeMs: 61_000, restarts: 0 },
      { name: 'worker', state: 'stopped (graceful ctl)', pid: null, ready: null, uptimeMs: null, restarts: 2 },
    ])).toEqual([
      'NAME    STATE                   PID  READY  UPTIME  RESTARTS',
      'db      ready                   41   yes    1m01s   0',
      'worker  stopped (graceful ctl)  -    -      -       2',
    ]);
  });
});

describe('graceful check -f: the verdict', () => {
  it('passes a stack that came up and stopped in order, in time', () => {
    const s = new Stage(STACK);
    s.at(5).up('kv').at(6).up('db').at(90).up('api');
    s.at(1000).feed({ type: 'check' });
    s.at(1120).exits('api').at(1130).exits('kv').at(1250).exits('db');
    const { lines, status } = stackVerdict(s.state, s.programs, { requestedAt: 1000, endedAt: 1250, deadlineMs: null }, noPaint);
    expect(lines).toEqual([
      'ok       started-in-order            each process started once its dependencies met their condition',
      'ok       stopped-in-order            each process was asked to stop once its dependents were gone: api, then kv, db',
      'ok       not-gone-before-dependents  no process was gone while a process that depends on it still ran',
      'ok       stopped-in-time             each process stopped cleanly within its grace period (kv 10ms, db 130ms, api 120ms)',
      'n/a      within-deadline             no deadline for the whole stop (--timeout, --preset)',
      'check passed: 4 checks, 3 processes',
    ]);
    expect(status).toBe(0);
  });

  it('fails a stack that did not come up, saying why', () => {
    const s = new Stage(STACK, { check: true });
    s.at(5).up('kv').at(6).up('db').at(90).up('api');
    s.at(700).exits('api', 3);
    s.at(800).exits('kv').at(810).exits('db');
    const { lines, status } = stackVerdict(s.state, s.programs, { requestedAt: 700, endedAt: 810, deadlineMs: null }, noPaint);
    expect(lines.at(-1)).toBe('check failed: the stack did not come up (api exited with code 3 after 610ms (on_exit: stop-on-failure))');
    expect(status).toBe(1);
  });
});
