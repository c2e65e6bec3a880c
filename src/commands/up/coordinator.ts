// graceful up's coordinator: the shell around the stack's pure machine (core/stack.ts). It
// steps the machine one event at a time and does what it decides through one Supervisor per
// program (its own machine, grace period, tree and report: the one shutdown path of graceful
// run); it routes the signals graceful traps once for the whole stack; it gives each program
// its output's prefix and its lines' place in the stack's display (display.ts); it keeps
// what the end of the stack needs: each program's runs, the order things happened in, when
// the stop began and ended.
import { initialStack, isDown, isUp, startStack, stepStack, type StackAction, type StackCommand, type StackEvent, type StackPolicy, type StackState } from '../../core/stack.js';
import { EXIT } from '../../core/exit.js';
import type { State, StopTrigger } from '../../core/types.js';
import { DEFAULTS } from '../../config/defaults.js';
import { formatSize } from '../../config/parse.js';
import { describeCommand, human, humanSize, summaryFields, summaryLine } from '../../report/human.js';
import { REPORTED_RUNS } from '../../report/json.js';
import type { ProcessRun, StackReportInput } from '../../report/stack.js';
import { systemClock } from '../../shell/clock.js';
import { startMonitor, type Monitor, type ResourceStats } from '../../shell/process/monitor.js';
import { Supervisor, type RunOutcome } from '../../shell/supervisor.js';
import { Trap } from '../../shell/trap.js';
import { fdStream } from '../../shell/ui/output.js';
import { ProcessUi, type StackUi } from './display.js';
import { liveRows } from './live.js';
import { acceptedLine, describeCommandOf, openingLine, refusalText, stackLines, stateWord, stopBegan, type StatusRow } from './narration.js';
import type { ControlClient } from '../../shell/sockets/control.js';
import { nestedControlPath, nestedRun } from './nested.js';
import type { UpOptions } from './options.js';
import type { Endpoint, Health } from '../../shell/probes/health.js';
import { reapedSoFar } from '../../shell/process/pid1.js';
import type { Tracer } from '../../shell/telemetry/otlp.js';
import { restartReason } from '../../core/restart.js';
import { ownedBy, ownerEnv } from './orphans.js';
import { Lines, prefixes } from './prefix.js';
import type { Stack, StackEntry } from './stackfile.js';

/** What the shell keeps of one program. */
export interface Program {
  entry: StackEntry;
  supervisor: Supervisor | null;
  ui: ProcessUi | null;
  /** Its runs so far (a restart adds one), with the stack's times of its start and stop requests. */
  runs: ProcessRun[];
  /** When the stack asked it to stop (its last run), on the stack's clock. */
  stopAt: number | null;
  /** Resolves once its current run is over (its supervisor done). */
  done: Promise<void>;
}

export class StackCoordinator {
  readonly clock = systemClock();
  readonly #out = new Lines(fdStream(1));
  readonly #err = new Lines(fdStream(2));
  /** The programs by name, in the file's order. */
  readonly programs: ReadonlyMap<string, Program>;
  readonly policy: StackPolicy;
  /** The stack's start, on its clock. */
  readonly startedAt: number;
  /** When each program started, was ready, was asked to stop and ended (the report's `order`). */
  readonly order: StackReportInput['order'] = { started: [], ready: [], stopRequested: [], ended: [], commands: [] };
  #state: StackState;
  #outPrefix: Record<string, string> = {};
  #errPrefix: Record<string, string> = {};
  readonly #timers = new Map<string, NodeJS.Timeout>();
  /** Events raised while one is handled wait their turn (see #feed). */
  readonly #queue: StackEvent[] = [];
  #stepping = false;
  #stopBegan: number | null = null;
  #stopEnded: number | null = null;
  #checkArmed = false;
  /** --health-port: the stack's endpoint, whose metrics each program's runs are counted in (labelled by name). */
  health: Endpoint | null = null;
  /** Traces (the OpenTelemetry environment): each program's runs, or null. */
  tracer: Tracer | null = null;
  /** graceful ctl clients, by id: waiting for their command's answer, then for what it asked to be done. */
  readonly #clients = new Map<number, { client: ControlClient; command: StackCommand; goal: { down: string[]; up: string[] } | null; at: number }>();
  #nextClient = 1;
  #finish!: (status: number) => void;
  readonly #finished = new Promise<number>((resolve) => (this.#finish = resolve));

  constructor(
    readonly stack: Stack,
    readonly options: UpOptions,
    readonly display: StackUi,
  ) {
    this.programs = new Map(stack.entries.map((entry) => [entry.name, { entry, supervisor: null, ui: null, runs: [], stopAt: null, done: Promise.resolve() }]));
    this.policy = { processes: stack.processes, exitWith: options.exitWith, deadlineMs: options.deadlineMs };
    this.startedAt = this.clock.now();
    this.#state = initialStack(this.policy);
  }

  get state(): StackState {
    return this.#state;
  }

  /** When the stack's stop began and ended, on its clock (null: not, or not yet). */
  get stop(): { began: number | null; ended: number | null } {
    return { began: this.#stopBegan, ended: this.#stopEnded };
  }

  /** The stop as the check and the report give it: from its request to its end (now, if it has not ended). Null: the stack did not stop. */
  stopSpan(): { requestedAt: number; endedAt: number } | null {
    return this.#stopBegan !== null ? { requestedAt: this.#stopBegan, endedAt: this.#stopEnded ?? this.clock.now() } : null;
  }

  // The signals, trapped once for the whole stack: a stop request is the stack's to follow;
  // the others reach every program that runs.
  trap(): void {
    new Trap(this.clock.now).route(
      (event) => {
        if (event.type === 'stop-requested') return this.#feed({ type: 'stop-requested', at: event.at, signal: event.signal });
        const live = [...this.programs.values()].filter((p) => p.supervisor !== null);
        if (event.type === 'forward') {
          // SIGHUP, SIGUSR1, ...: to every program that runs (docker compose kill -s does the same).
          for (const p of live) p.supervisor!.dispatch(event);
          return;
        }
        // Ctrl+Z: every program is stopped, then graceful once (each supervisor would stop
        // graceful itself, once per program); fg's SIGCONT comes back as a 'forward' to all.
        for (const p of live) p.supervisor!.dispatch({ type: 'forward', at: event.at, signal: 'SIGSTOP' });
        process.kill(process.pid, 'SIGSTOP');
      },
      { interactive: false, delivered: () => false },
    );
  }

  // The names in front of each program's lines, coloured where their stream is a terminal.
  async nameLines(): Promise<void> {
    const colors = await this.display.colors();
    const names = [...this.programs.keys()];
    this.#outPrefix = prefixes(names, colors.out).out;
    this.#errPrefix = prefixes(names, colors.err).err;
  }

  // Starts the stack, unless a stop came first (the signals are trapped before anything
  // starts); resolves with graceful's exit status once every program is over.
  async run(): Promise<number> {
    if (this.#state.phase.kind !== 'done') {
      this.display.info(null, openingLine(this.stack), 'stack-starting', { processes: this.stack.entries.length });
      const first = startStack(this.policy, this.clock.now());
      this.#narrate(this.#state, { type: 'timer', at: this.clock.now(), name: '' }, first.state, first.actions);
      this.#state = first.state;
      this.#stepping = true;
      try {
        for (const action of first.actions) this.#perform(action, this.clock.now());
      } finally {
        this.#stepping = false;
      }
      if (this.#queue.length > 0) this.#feed(this.#queue.shift()!);
    }
    const status = await this.#finished;
    for (const t of this.#timers.values()) clearTimeout(t);
    return status;
  }

  // graceful ctl: a command for the stack's machine; the client hears the outcome once what
  // it asked for is done (stopped, up again), or at once if it was refused.
  command(command: StackCommand, client: ControlClient): void {
    const id = this.#nextClient++;
    this.#clients.set(id, { client, command, goal: null, at: this.clock.now() });
    this.#feed({ type: 'command', at: this.clock.now(), command, client: id });
  }

  // graceful ctl scale and reload: passed on to the program's own graceful run (`listen:`),
  // its answer relayed.
  forward(name: string, verb: 'scale' | 'reload', args: string[], client: ControlClient): void {
    const refuse = (why: string) => {
      const line = `graceful ctl ${verb} ${name}: refused: ${why}`;
      this.display.warn(null, line);
      this.order.commands.push({ name, at: this.clock.now(), command: verb, outcome: 'refused' });
      client.end({ ok: false, refused: true, line });
    };
    const p = this.programs.get(name);
    if (!p) return refuse(`no process ${JSON.stringify(name)} in the stack (${[...this.programs.keys()].join(', ')})`);
    if (!p.entry.run.reload) return refuse(`${name} has no listen: in the stack file; ${verb} needs graceful to hold its socket (listen: tcp://HOST:PORT, and instances: N)`);
    const facts = p.supervisor?.state.facts;
    if (this.#state.phase.kind !== 'up') return refuse('the stack is stopping');
    if (!facts || facts.pid === null || facts.exit !== null) return refuse(`${name} is not running (${stateWord(this.#state, name, this.policy)})`);
    const path = nestedControlPath(process.pid, [...this.programs.keys()].indexOf(name));
    this.display.info(name, `graceful ctl ${verb} ${name}${args.length ? ` ${args.join(' ')}` : ''}: asking its graceful run (pid ${facts.pid})`);
    const { connect } = process.getBuiltinModule('node:net');
    const socket = connect(path);
    let text = '';
    let last: { outcome?: string; line?: string; error?: string; ok?: boolean } | null = null;
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(`${verb} ${args.join(' ')}\n`));
    socket.on('data', (chunk: string) => {
      text += chunk;
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n')) {
        try {
          last = JSON.parse(text.slice(0, nl));
        } catch {
          last = { error: 'an answer graceful ctl does not understand' };
        }
        text = text.slice(nl + 1);
      }
    });
    socket.once('error', (error: NodeJS.ErrnoException) => client.end({ ok: false, line: `graceful ctl ${verb} ${name}: failed: cannot reach its graceful run (${error.code ?? error.message})` }));
    socket.once('close', (hadError) => {
      if (hadError) return;
      const a = last as { outcome?: string; line?: string; error?: string; ok?: boolean } | null;
      const ok = a !== null && !a.error && (a.ok === true || a.outcome === 'switched');
      const line = `graceful ctl ${verb} ${name}: ${a?.error ?? a?.line ?? 'no answer'}`;
      this.display.info(name, line);
      this.order.commands.push({ name, at: this.clock.now(), command: verb, outcome: ok ? 'done' : 'failed' });
      client.end({ ok, line });
    });
  }

  // graceful ctl status: each program's state, pid, readiness, uptime and restarts.
  status(): StatusRow[] {
    const now = this.clock.now();
    return [...this.programs.values()].map((p) => {
      const name = p.entry.name;
      const facts = p.supervisor?.state.facts ?? null;
      const live = facts !== null && facts.pid !== null && facts.exit === null;
      const proc = this.#state.procs[name]!;
      return {
        name,
        state: stateWord(this.#state, name, this.policy),
        pid: live ? facts!.pid : null,
        ready: live && p.entry.run.ready !== null ? facts!.readyAt !== null : null,
        uptimeMs: live && facts!.startedAt !== null ? Math.round(now - facts!.startedAt) : null,
        restarts: Math.max(0, proc.starts - 1),
      };
    });
  }

  // Answers the ctl clients whose command is done (or can no longer be).
  #answerClients(): void {
    const state = this.#state;
    for (const [id, c] of this.#clients) {
      if (!c.goal) continue;
      const stopping = state.phase.kind !== 'up';
      const failed = c.goal.up.find((n) => state.procs[n]!.state.kind === 'ended');
      const done = c.goal.down.every((n) => isDown(state, n)) && c.goal.up.every((n) => isUp(state, n, this.policy));
      if (!stopping && !failed && !done) continue;
      this.#clients.delete(id);
      const took = human(this.clock.now() - c.at);
      const what = `graceful ctl ${describeCommandOf(c.command)}`;
      if (done) {
        const pids = c.goal.up.map((n) => `${n} (pid ${this.programs.get(n)!.supervisor?.state.facts.pid ?? '?'})`);
        c.client.end({ ok: true, line: `${what}: done in ${took}${c.goal.down.length ? `; stopped ${c.goal.down.join(', ')}` : ''}${pids.length ? `; up: ${pids.join(', ')}` : ''}` });
        this.order.commands.push({ name: c.command.name, at: this.clock.now(), command: c.command.kind, outcome: 'done' });
      } else {
        const why = failed ? `${failed} ended (status ${(state.procs[failed]!.state as { status: number }).status}) before it was up` : 'the stack is stopping';
        c.client.end({ ok: false, line: `${what}: failed after ${took}: ${why}` });
        this.order.commands.push({ name: c.command.name, at: this.clock.now(), command: c.command.kind, outcome: 'failed' });
      }
    }
  }

  // ---- the stack's steps. Events raised while one is handled (a spawn reports at once)
  // wait their turn: each step sees the state the previous one left.
  #feed(event: StackEvent): void {
    this.#queue.push(event);
    if (this.#stepping) return;
    this.#stepping = true;
    try {
      for (let next = this.#queue.shift(); next; next = this.#queue.shift()) {
        const prev = this.#state;
        const result = stepStack(this.#state, next, this.policy);
        this.#state = result.state;
        // The actions first, the words after: a stop signal does not wait for a line.
        for (const action of result.actions) this.#perform(action, next.at);
        this.#narrate(prev, next, this.#state, result.actions);
        this.#maybeCheck();
        if (this.#clients.size > 0) this.#answerClients();
      }
    } catch (error) {
      this.#broken(error);
    } finally {
      this.#stepping = false;
    }
  }

  // A bug in graceful: the stack's order is not trusted any more. Each program is asked to
  // stop through its own supervisor (which still kills it at its deadline), then graceful
  // exits with the internal error's status.
  #broken(error: unknown): void {
    const state = this.#state;
    if (state.phase.kind === 'done' && state.phase.status === EXIT.internal) return;
    this.display.error(null, `internal error: ${(error as Error)?.message ?? String(error)}; stopping every process (set GRACEFUL_DEBUG=1 for details)`, 'internal-error');
    if (process.env.GRACEFUL_DEBUG) this.display.error(null, String((error as Error)?.stack), 'internal-error');
    const live = [...this.programs.values()].filter((p) => p.supervisor && !p.supervisor.state.facts.exit);
    void Promise.all(live.map((p) => (p.supervisor!.stop('stack'), p.done))).then(() => this.#finish(EXIT.internal));
    this.#state = { ...state, phase: { kind: 'done', status: EXIT.internal } };
  }

  #perform(action: StackAction, at: number): void {
    const { clock } = this;
    switch (action.type) {
      case 'start':
        return this.#launch(this.programs.get(action.name)!);
      case 'stop': {
        const p = this.programs.get(action.name)!;
        p.stopAt = at;
        this.order.stopRequested.push({ name: action.name, at });
        const sup = p.supervisor!;
        if (action.graceMs !== null) sup.capGrace(action.graceMs);
        if (action.trigger === 'check' || action.trigger === 'stack') sup.stop(action.trigger);
        else sup.dispatch({ type: 'stop-requested', at: clock.now(), signal: action.trigger });
        return;
      }
      case 'force':
        this.programs.get(action.name)!.supervisor?.dispatch({ type: 'force', at: clock.now(), signal: action.signal });
        return;
      case 'arm':
        this.#timers.set(action.name, setTimeout(() => this.#feed({ type: 'timer', at: clock.now(), name: action.name }), Math.max(0, action.at - clock.now())));
        return;
      case 'cancel':
        clearTimeout(this.#timers.get(action.name));
        this.#timers.delete(action.name);
        return;
      case 'answer': {
        const c = this.#clients.get(action.client);
        if (!c) return;
        const { outcome } = action;
        const what = `graceful ctl ${describeCommandOf(action.command)}`;
        if (outcome.kind === 'refused') {
          this.#clients.delete(action.client);
          const line = `${what}: refused: ${refusalText(outcome.refusal, [...this.programs.keys()])}`;
          this.display.warn(null, line);
          c.client.end({ ok: false, refused: true, line });
          this.order.commands.push({ name: action.command.name, at, command: action.command.kind, outcome: 'refused' });
          return;
        }
        this.display.info(null, acceptedLine(action.command, outcome.stops, outcome.starts));
        this.order.commands.push({ name: action.command.name, at, command: action.command.kind, outcome: 'accepted' });
        c.goal = { down: action.command.kind === 'stop' ? outcome.stops : [], up: outcome.starts };
        c.client.send({ accepted: true, line: acceptedLine(action.command, outcome.stops, outcome.starts) });
        return;
      }
      case 'exit':
        this.#stopEnded = clock.now();
        for (const [id, c] of this.#clients) {
          this.#clients.delete(id);
          c.client.end({ ok: false, line: `graceful ctl ${describeCommandOf(c.command)}: failed: the stack stopped` });
        }
        this.display.close();
        this.#finish(action.status);
        return;
    }
  }

  // One program's run: a supervisor of its own (run's whole stop sequence), its output
  // through the stack's prefixes, its lines through the stack's display.
  #launch(p: Program): void {
    const { clock, display, options } = this;
    const { entry } = p;
    // With `listen:`, a graceful run of its own holds the socket and runs the instances.
    const control = entry.run.reload ? nestedControlPath(process.pid, [...this.programs.keys()].indexOf(entry.name)) : null;
    const run = control ? nestedRun(entry, control) : entry.run;
    const { lifecycle } = run;
    const ui = new ProcessUi(display, entry.name, { quiet: options.quiet, verbose: options.verbose, policy: entry.run.policy }, clock.now, () => display.update());
    let monitor: Monitor | null = null;
    const trace = this.tracer?.newRun() ?? null;
    const supervisor: Supervisor = new Supervisor(
      run,
      {
        started: (pid) => {
          this.order.started.push({ name: entry.name, at: clock.now() });
          this.#feed({ type: 'started', at: clock.now(), name: entry.name });
          if (lifecycle.maxMemory === null && !lifecycle.stats) return;
          monitor = startMonitor(pid, supervisor.tree!, lifecycle.monitorIntervalMs, lifecycle.maxMemory, (rss) => {
            ui.info(`${describeCommand(entry.run.command)} (pid ${pid}) and its tree use ${humanSize(rss)}, over max_memory ${formatSize(lifecycle.maxMemory!)}`, 'memory-limit', { pid, rssBytes: rss, maxMemoryBytes: lifecycle.maxMemory });
            supervisor.stop('memory-limit');
          });
        },
        ready: () => {
          const { readyAt, startedAt } = supervisor.state.facts;
          if (readyAt !== null && startedAt !== null) this.health?.metrics.ready(readyAt - startedAt, { program: entry.name });
          this.order.ready.push({ name: entry.name, at: clock.now() });
          this.#feed({ type: 'ready', at: clock.now(), name: entry.name });
        },
      },
      {
        trap: null,
        // Inherited by everything it starts: how an orphan it leaves is known to be its own.
        env: { ...entry.env, ...ownerEnv(entry.name), ...(trace ? this.tracer!.env(trace) : {}) },
        cwd: entry.cwd ?? undefined,
        relay: { stdout: this.#out.stream(this.#outPrefix[entry.name]!), stderr: this.#err.stream(this.#errPrefix[entry.name]!) },
        ui,
        owns: (pid) => ownedBy(pid, entry.name),
        // No listing of each tree before its stop signal (run does it for its report): a
        // /proc scan per process, made one after the other, would hold back the stop signal
        // of the processes that stop together (measured: 6 ms each on a 2-core machine).
        observe: false,
      },
    );
    p.supervisor = supervisor;
    p.ui = ui;
    p.stopAt = null;
    p.done = supervisor
      .start()
      .then((outcome) => {
        if (trace) this.tracer!.runEnded(trace, outcome.state.facts, entry.run.policy, outcome.status, supervisor.clock.wall, entry.name);
        this.#ended(p, supervisor, outcome, (monitor as Monitor | null)?.stop() ?? null);
      })
      .catch((error: unknown) => this.#broken(error));
  }

  // A program's run is over: keep it, say it, and tell the stack.
  #ended(p: Program, supervisor: Supervisor, outcome: RunOutcome, stats: ResourceStats | null): void {
    const { display, options } = this;
    const { entry } = p;
    const { facts } = outcome.state;
    const endedAt = this.clock.now();
    p.runs.push({ facts, status: outcome.status, extras: { ...outcome.extras, stats }, wall: supervisor.clock.wall, stopAt: p.stopAt, endedAt });
    // A program restarted for months must not grow the report with every run (as run).
    if (p.runs.length > REPORTED_RUNS) p.runs.shift();
    this.order.ended.push({ name: entry.name, at: endedAt, status: outcome.status });
    this.health?.metrics.runEnded(facts, entry.run.policy, { program: entry.name });
    // Its summary first, unless the stack is stopping: then the next process's stop goes
    // out first (the actions first, the words after: a level's wait is the stop's cost).
    const say = () => {
      if (facts.spawnError) display.error(entry.name, facts.spawnError.message, 'spawn-failed', { exitStatus: facts.spawnError.status });
      else if (!options.quiet) display.info(entry.name, summaryLine(facts, entry.run.policy, outcome.status, display.paint), 'summary', summaryFields(facts, entry.run.policy, outcome.status));
      const leaked = outcome.extras.descendants.leaked;
      if (leaked.length > 0) display.warn(entry.name, `left running: ${leaked.map((q) => `${q.command || '?'} (pid ${q.pid})`).join(', ')}`, 'left-running', { pids: leaked.map((q) => q.pid).join(' ') });
    };
    const stopping = this.#state.phase.kind === 'stopping';
    if (!stopping) say();
    const trigger: StopTrigger | null = facts.stop?.trigger === 'child-exit' ? null : (facts.stop?.trigger ?? null);
    this.#feed({ type: 'ended', at: endedAt, name: entry.name, status: outcome.status, success: outcome.status === 0, trigger, startedAt: facts.startedAt });
    if (stopping) say();
  }

  // The stack's own lines for a step; once it begins to stop, the live area (on a terminal).
  #narrate(prev: StackState, event: StackEvent, next: StackState, actions: readonly StackAction[]): void {
    for (const line of stackLines(prev, event, next, actions, this.programs, this.options)) this.display.info(line.name, line.text, line.event, line.fields);
    if (event.type === 'ended' && prev.procs[event.name]?.state.kind !== 'restarting' && next.procs[event.name]?.state.kind === 'restarting') {
      this.health?.metrics.restarted(restartReason(event.trigger, event.status), { program: event.name });
    }
    if (stopBegan(prev, next)) {
      this.#stopBegan = event.at;
      if (next.phase.kind === 'stopping') this.display.live(() => liveRows(this.#state, this.programs, (name) => this.#machine(name), this.clock.now()));
    }
  }

  // A program's machine while its supervisor runs, for its live row.
  #machine(name: string): State | null {
    const p = this.programs.get(name)!;
    return p.supervisor && p.ui?.state ? p.ui.state : null;
  }

  // What the stack's endpoint says: alive while every program that should run runs; ready
  // once the stack is up and until it stops.
  healthNow(): Health {
    const state = this.#state;
    const sups = [...this.programs.values()].map((p) => p.supervisor?.state.facts ?? null);
    const running = sups.length > 0 && sups.every((f) => f !== null && f.pid !== null && f.exit === null);
    const restarts = Object.values(state.procs).reduce((n, p) => n + Math.max(0, p.starts - 1), 0);
    const up = this.stack.entries.every((e) => {
      const st = state.procs[e.name]!.state;
      return st.kind === 'running' && (e.run.ready === null || st.readyAt !== null);
    });
    return { state: state.phase.kind, running, ready: running && up && state.phase.kind === 'up', pid: process.pid, uptimeMs: Math.round(this.clock.now() - this.startedAt), restarts };
  }

  // The gauges of the moment: each program's main process running (1) or not (0).
  metricsNow(): { running: { labels: { program: string }; value: number }[]; orphansReaped: number } {
    const running = [...this.programs.entries()].map(([name, p]) => {
      const f = p.supervisor?.state.facts;
      return { labels: { program: name }, value: f != null && f.pid !== null && f.exit === null ? 1 : 0 };
    });
    return { running, orphansReaped: reapedSoFar() };
  }

  // graceful check: once every program is up (ready where it has a probe), stop the stack.
  #maybeCheck(): void {
    const state = this.#state;
    if (!this.options.check || this.#checkArmed || state.phase.kind !== 'up') return;
    const up = this.stack.entries.every((e) => {
      const st = state.procs[e.name]!.state;
      if (st.kind === 'ended') return st.success;
      return st.kind === 'running' && st.startedAt !== null && (e.run.ready === null || st.readyAt !== null);
    });
    if (!up) return;
    this.#checkArmed = true;
    // Without a probe, "up" is only "spawned": give such programs a moment, as check's --after.
    const settle = this.stack.entries.some((e) => e.run.ready === null) ? DEFAULTS.afterMs : 0;
    setTimeout(() => this.#feed({ type: 'check', at: this.clock.now() }), settle);
  }
}
