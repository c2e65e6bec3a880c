// graceful run with reloads on (--listen, --control, --reload-signal, sockets from systemd):
// the program runs as generations, each with its own machine and Supervisor({ trap: null }),
// under one pure coordinator (core/generations.ts). This shell owns what is process-wide:
// the held sockets (shell/listen.ts), the signals (one trap, routed to the coordinator or
// to each live generation), the control socket of `graceful reload` (shell/control.ts),
// the health endpoint, and the report. Every stop of a generation, a reload's included,
// goes through that generation's own supervisor: one shutdown path. With --instances N, each
// generation is N instances (supervisors keyed "generation.instance"), each its own program.
import { existsSync } from 'node:fs';
import {
  initialGenerations,
  serving,
  servingAll,
  stepGenerations,
  type Generation,
  type GenAction,
  type GenerationsPolicy,
  type GenEvent,
  type GenState,
  type Reload,
} from '../../core/generations.js';
import type { Event, Facts, OwnStop, StopSignal } from '../../core/types.js';
import { isStopSignal } from '../../core/types.js';
import { EXIT } from '../../config/errors.js';
import { MAX_INSTANCES, readyFor } from '../../config/listen.js';
import type { RunOptions } from '../../config/options.js';
import { parseReady } from '../../config/readiness.js';
import { reloadFields, reloadLine, summarizeGeneration, summarizeReload, type GenerationFacts } from '../../report/generations.js';
import { restartReason } from '../../core/restart.js';
import { describeCommand, human, humanSize, restartEndWhy, summaryFields, summaryLine } from '../../report/human.js';
import { checkOutputPath, writeJson } from '../../report/files.js';
import { buildReport, summarizeRun, type ReportExtras, type ResourceStats } from '../../report/json.js';
import { systemClock, Timers } from '../../shell/clock.js';
import { defaultControlPath, serveControl, type ControlClient, type ControlServer } from '../../shell/sockets/control.js';
import { privateDir } from '../../shell/sockets/rundir.js';
import type { Endpoint, Health } from '../../shell/probes/health.js';
import { reapedSoFar } from '../../shell/process/pid1.js';
import type { Tracer } from '../../shell/telemetry/otlp.js';
import { tracesWanted } from './run.js';
import { environValue } from '../../shell/process/inspect.js';
import { holdSockets, type HeldSockets } from '../../shell/sockets/listen.js';
import { startMonitor, type Monitor } from '../../shell/process/monitor.js';
import { availableCpus } from '../../shell/process/cpus.js';
import { Supervisor, type RunOutcome } from '../../shell/supervisor.js';
import { Trap } from '../../shell/trap.js';
import { Ui } from '../../shell/ui/display.js';
import type { Manager } from '../../shell/sockets/manager.js';

// Without --ready, how long a new generation must have run to count as ready: einhorn's and
// Server::Starter's 1 s. Long enough for a crash at start to show; a real probe is better
// (the warning says so).
export const UNPROBED_READY_MS = 1000;

/** What graceful check --reload watches. */
export interface CoordinatorHooks {
  started?(generation: number, pid: number, instance: number): void;
  ready?(generation: number, instance: number): void;
  /** An instance's supervisor is done. */
  exited?(generation: number, outcome: RunOutcome, instance: number): void;
}

// A supervisor's key: generation n's instance i.
const key = (n: number, instance: number) => `${n}.${instance}`;

/** A waiting `graceful reload`, or a caller of reload() in this process. */
type Waiter = ControlClient | ((reload: Reload) => void);

// Runs the program's generations to the end; resolves with graceful's exit status.
export async function runGenerations(options: RunOptions): Promise<number> {
  return new Coordinator(options).run();
}

export class Coordinator {
  readonly clock = systemClock();
  readonly ui: Ui;
  readonly #policy: GenerationsPolicy;
  readonly #timers: Timers;
  #state: GenState;
  readonly #supervisors = new Map<string, Supervisor>();
  /** Each instance's facts once its supervisor is done, by key (bounded as the state's list is). */
  readonly #ended = new Map<string, GenerationFacts & { status: number; outcome: RunOutcome }>();
  readonly #waiters = new Map<number, Waiter>();
  /** graceful ctl scale requests waiting for their count to serve. */
  readonly #scaling: { client: ControlClient; count: number; from: number }[] = [];
  #nextWaiter = 1;
  #stats: ResourceStats | null = null;
  #held: HeldSockets | null = null;
  #listenPid: boolean;
  #control: ControlServer | null = null;
  #health: Endpoint | null = null;
  /** Traces (the OpenTelemetry environment), or null. */
  #tracer: Tracer | null = null;
  /** Events that arrive while one is being stepped (a supervisor's hook fires inside a start). */
  readonly #queue: GenEvent[] = [];
  #busy = false;
  /** The signal that stopped graceful, if one did. */
  #stoppedBy: StopSignal | null = null;
  #finish!: (status: number) => void;
  readonly #finished = new Promise<number>((resolve) => (this.#finish = resolve));
  /** The service manager above graceful (NOTIFY_SOCKET), told of the program as a whole. */
  #manager: Manager | null = null;

  constructor(
    readonly options: RunOptions,
    private readonly hooks: CoordinatorHooks = {},
    private readonly verb: 'run' | 'check' = 'run',
  ) {
    this.ui = new Ui({ quiet: options.quiet, verbose: options.verbose, policy: options.policy, steps: verb === 'run', logFormat: options.logFormat, program: describeCommand(options.command) }, this.clock.now);
    this.#policy = { restart: options.lifecycle.restart, settleMs: options.ready ? null : UNPROBED_READY_MS };
    this.#timers = new Timers(this.clock);
    this.#listenPid = options.reload!.listenPid;
    const { instances } = options.reload!;
    this.#state = initialGenerations(instances === 'max' ? availableCpus().cpus : instances);
  }

  /** How many instances the program runs (--instances). */
  get instances(): number {
    return this.#state.instances;
  }

  get state(): GenState {
    return this.#state;
  }

  /** The held sockets, once run() holds them. */
  get sockets(): HeldSockets | null {
    return this.#held;
  }

  // Start, trap, serve the control socket, wait, report: the lifecycle of a reloadable run.
  async run(): Promise<number> {
    const { options, ui } = this;
    const reload = options.reload!;
    if (this.verb === 'run') {
      for (const warning of options.warnings) ui.warn(warning);
      checkOutputPath('--report-file', options.reportFile, ui);
    }
    // A service manager above graceful (Type=notify-reload): READY=1 once a generation
    // serves, RELOADING=1 and READY=1 around each reload; loaded only with NOTIFY_SOCKET.
    if (process.env.NOTIFY_SOCKET !== undefined) {
      const { openManager, ChildWatchdog } = await import('../../shell/sockets/manager.js');
      const link = openManager((line) => ui.warn(line));
      if (typeof link === 'string') ui.warn(link);
      else if (link) this.#manager = { link, readiness: 'coordinator', watchChild: (ms, missed) => new ChildWatchdog(ms, missed) };
    }
    const held = await holdSockets(reload);
    if (typeof held === 'string') {
      ui.error(held);
      return EXIT.usage;
    }
    this.#held = held;
    for (const s of held.sockets) {
      // The port the kernel chose is news; a given address is said with --verbose only.
      if (options.verbose || s.portChosen) ui.info(`holding ${s.address} (name ${s.name}) for the program: fd ${3 + held.sockets.indexOf(s)} in each generation`, 'holding-socket', { address: s.address, name: s.name, fd: 3 + held.sockets.indexOf(s) });
    }
    if (this.#listenPid && held.fds.length > 0 && !existsSync('/bin/sh')) {
      ui.warn('no /bin/sh here to set LISTEN_PID to the program\'s pid: it is left out (as --listen-pid none)');
      this.#listenPid = false;
    }
    if (!options.ready && this.verb === 'run') {
      ui.warn(`no --ready: a new generation counts as ready once it has run ${human(UNPROBED_READY_MS)}; give --ready (notify, ipc, log:, or a probe with {generation}) so that a reload waits for the real thing`);
    }

    const path = reload.control ?? defaultControlPath(process.pid);
    const dirProblem = reload.control ? null : privateDir(path.slice(0, path.lastIndexOf('/')));
    const control =
      dirProblem ??
      (await serveControl(path, {
        reload: (client) => this.#request('control', client),
        // graceful ctl scale (graceful up runs a --listen program under graceful run): the instances from now on.
        scale: (client, [count]) => this.#scale(client, count),
      }));
    if (typeof control === 'string') ui.warn(`no control socket (${control}): graceful reload cannot reach this graceful; ${reload.signal ?? 'a signal'} still reloads`);
    else this.#control = control;

    if (options.lifecycle.health) {
      const { serveHealth } = await import('../../shell/probes/health.js');
      const served = await serveHealth(options.lifecycle.health.host, options.lifecycle.health.port, {
        health: () => this.#healthNow(),
        now: () => ({ running: [{ labels: {}, value: [...this.#supervisors.values()].filter((s) => s.state.facts.pid !== null && s.state.facts.exit === null).length }], orphansReaped: reapedSoFar() }),
      });
      if (typeof served === 'string') {
        ui.error(`${served}; choose another port`, 'usage-error');
        this.#close();
        return EXIT.usage;
      }
      served.metrics.reloadsOn();
      this.#health = served;
    }

    if (tracesWanted(process.env)) this.#tracer = (await import('../../shell/telemetry/otlp.js')).startTracing(process.env, (t) => this.ui.warn(t));

    // One trap for the whole program: each signal to the coordinator or to the generations.
    new Trap(this.clock.now).route((event) => this.#onSignal(event), { interactive: options.interactive, delivered: () => false });
    this.#dispatch({ type: 'begin', at: this.clock.now() });
    const status = await this.#finished;
    const done = this.#finishRun(status);
    await this.#tracer?.flush();
    // The stop that ends graceful, seen by one more scrape (--final-scrape).
    await this.#health?.finalScrape(options.lifecycle.finalScrapeMs);
    this.#health?.close();
    return done;
  }

  /** Asks for a reload from inside graceful (graceful check --reload); resolves with its outcome. */
  reload(via: string): Promise<Reload> {
    return new Promise((resolve) => this.#request(via, resolve));
  }

  /** Stops every generation, for a reason of graceful's own ('check'). */
  stop(trigger: OwnStop): void {
    this.#dispatch({ type: 'stop', at: this.clock.now(), trigger });
  }

  /** The signal that stopped graceful (SIGTERM, SIGINT), if one did. */
  get stoppedBy(): StopSignal | null {
    return this.#stoppedBy;
  }

  /** The supervisor of a live instance (the first by default). */
  supervisor(n: number, instance = 1): Supervisor | null {
    return this.#supervisors.get(key(n, instance)) ?? null;
  }

  // graceful ctl scale: run `count` instances from now on; answers once they serve (and
  // those scaled away are gone), or at once when nothing changes.
  #scale(client: ControlClient, count: string | undefined): void {
    const n = Number(count);
    if (!count || !Number.isInteger(n) || n < 1 || n > MAX_INSTANCES) return client.end({ error: `scale: expected a number of instances from 1 to ${MAX_INSTANCES}, got ${JSON.stringify(count ?? '')}` });
    const phase = this.#state.phase.kind;
    if (phase === 'stopping' || phase === 'done') return client.end({ error: 'scale: graceful is stopping' });
    if (this.#state.current !== null) return client.end({ error: `scale: reload ${this.#state.current} is under way; scale once it is done` });
    const from = this.#state.instances;
    this.#scaling.push({ client, count: n, from });
    this.#dispatch({ type: 'scale', at: this.clock.now(), instances: n });
  }

  // Answers the scale requests whose count serves now (or that a stop ended).
  #answerScales(): void {
    const state = this.#state;
    const stopping = state.phase.kind === 'stopping' || state.phase.kind === 'done';
    const live = state.generations.filter((g) => g.role !== 'exited');
    const settled = !stopping && servingAll(state).length === state.instances && live.every((g) => g.role === 'serving');
    for (const s of [...this.#scaling]) {
      if (!stopping && (!settled || s.count !== state.instances)) continue;
      this.#scaling.splice(this.#scaling.indexOf(s), 1);
      const pids = servingAll(state).map((g) => g.pid).join(', ');
      if (stopping) s.client.end({ error: 'scale: graceful is stopping' });
      else s.client.end({ ok: true, instances: s.count, line: `scaled from ${s.from} to ${s.count} instance(s): ${s.count} serve (pids ${pids})` });
    }
  }

  #request(via: string, waiter: Waiter): void {
    const id = this.#nextWaiter++;
    this.#waiters.set(id, waiter);
    this.#dispatch({ type: 'reload', at: this.clock.now(), via, client: id });
  }

  #onSignal(event: Extract<Event, { type: 'stop-requested' | 'forward' | 'suspend' }>): void {
    const reloadSignal = this.options.reload!.signal;
    if (event.type === 'stop-requested') {
      this.#stoppedBy ??= event.signal;
      return this.#dispatch({ type: 'stop', at: event.at, trigger: event.signal });
    }
    if (event.type === 'forward' && event.signal === reloadSignal) return this.#request(event.signal, () => {});
    const live = [...this.#supervisors.values()];
    // Job control (Ctrl+Z) suspends graceful once, after every generation got SIGSTOP.
    live.forEach((s, i) => s.dispatch(event.type === 'suspend' && i < live.length - 1 ? { type: 'forward', at: event.at, signal: 'SIGSTOP' } : event));
  }

  // Steps the coordinator, one event at a time: an event raised while one is handled (a
  // generation's hook fires inside its start) waits for it.
  #dispatch(event: GenEvent): void {
    this.#queue.push(event);
    if (this.#busy) return;
    this.#busy = true;
    try {
      for (let next = this.#queue.shift(); next; next = this.#queue.shift()) this.#step(next);
    } finally {
      this.#busy = false;
    }
  }

  #step(event: GenEvent): void {
    const prev = this.#state;
    const { state, actions } = stepGenerations(prev, event, this.#policy);
    this.#state = state;
    // What is sent comes first; the lines that tell it follow.
    for (const action of actions) this.#perform(action);
    this.#narrate(prev, event, actions);
    if (this.#manager) this.#tellManager(this.#manager, prev, actions);
    if (this.#scaling.length > 0) this.#answerScales();
  }

  // What the service manager hears of the program as a whole: READY=1 when a generation
  // first serves; RELOADING=1 (with the time of the request) when a reload starts its new
  // generation, and READY=1 again when its outcome is known, whatever it is (systemd waits
  // for it to end the reload). The stop is each generation's supervisor's to tell.
  #tellManager(manager: Manager, prev: GenState, actions: readonly GenAction[]): void {
    const state = this.#state;
    const who = (n: number | null) => {
      const g = state.generations.find((x) => x.n === n);
      return g ? `generation ${g.n} of ${describeCommand(this.options.command)} (pid ${g.pid})` : 'nothing';
    };
    for (const a of actions) {
      const r = a.type === 'start' ? state.reloads.find((x) => x.generation === a.generation) : null;
      if (r) manager.link.reloading(`reload ${r.n} (${r.via}): starting generation ${r.generation}`);
      if (a.type === 'answer') {
        const answered = state.reloads.find((x) => x.n === a.reload);
        if (answered) manager.link.ready(`reload ${answered.n} ${answered.outcome}: ${who(serving(state)?.n ?? null)} serves`);
      }
    }
    const now = serving(state);
    if (now && serving(prev)?.n !== now.n && !actions.some((a) => a.type === 'answer')) manager.link.ready(`${who(now.n)} serves`);
  }

  #perform(action: GenAction): void {
    const now = this.clock.now;
    switch (action.type) {
      case 'start':
        this.#startGeneration(action.generation, action.instance);
        return;
      case 'retire':
        this.#supervisors.get(key(action.generation, action.instance))?.stop('reload');
        return;
      case 'stop': {
        const s = this.#supervisors.get(key(action.generation, action.instance));
        if (!s) return;
        if (isStopSignal(action.trigger)) s.dispatch({ type: 'stop-requested', at: now(), signal: action.trigger });
        else s.stop(action.trigger);
        return;
      }
      case 'answer': {
        const reload = this.#state.reloads.find((r) => r.n === action.reload);
        if (!reload) return;
        for (const id of action.clients) {
          const waiter = this.#waiters.get(id);
          this.#waiters.delete(id);
          if (typeof waiter === 'function') waiter(reload);
          else waiter?.end(this.#answer(reload));
        }
        return;
      }
      case 'arm': {
        const event: GenEvent = action.timer === 'settle' ? { type: 'timer', at: 0, timer: 'settle', generation: action.generation, instance: action.instance } : { type: 'timer', at: 0, timer: 'restart', instance: action.instance };
        this.#timers.arm(timerKey(action), action.at, () => this.#dispatch({ ...event, at: now() }));
        return;
      }
      case 'cancel':
        this.#timers.cancel(timerKey(action));
        return;
      case 'release':
        // No generation will be started any more: once the live ones close their copies,
        // the socket is closed, and new connections are refused rather than queued for
        // nobody (a load balancer then moves on at once).
        this.#held?.release();
        return;
      case 'exit':
        this.#finish(action.status);
        return;
    }
  }

  #startGeneration(n: number, instance: number): void {
    const { options } = this;
    const { lifecycle } = options;
    const held = this.#held!;
    // --ready with {generation}: this generation's own probe address.
    const template = options.reload!.readyTemplate;
    const ready = template ? parseReady(readyFor(template, n), '--ready') : options.ready;
    let monitor: Monitor | null = null;
    const trace = this.#tracer?.newRun() ?? null;
    const supervisor: Supervisor = new Supervisor(
      // Each generation in a session of its own: two programs cannot both be the terminal's
      // foreground job, and graceful routes every signal itself.
      { ...options, ready, terminal: false },
      {
        started: (pid) => {
          if (lifecycle.maxMemory !== null || lifecycle.stats) {
            monitor = startMonitor(pid, supervisor.tree!, lifecycle.monitorIntervalMs, lifecycle.maxMemory, (rss) => {
              supervisor.ui.info(`${this.#name(n, instance)} (pid ${pid}) and its tree use ${humanSize(rss)}, over --max-memory ${humanSize(lifecycle.maxMemory!)}`, 'memory-limit', { generation: n, instance, pid, rssBytes: rss, maxMemoryBytes: lifecycle.maxMemory });
              supervisor.stop('memory-limit');
            });
          }
          this.#dispatch({ type: 'started', at: this.clock.now(), generation: n, instance, pid });
          this.hooks.started?.(n, pid, instance);
        },
        ready: () => {
          const { readyAt, startedAt } = supervisor.state.facts;
          if (readyAt !== null && startedAt !== null) this.#health?.metrics.ready(readyAt - startedAt);
          this.#dispatch({ type: 'ready', at: this.clock.now(), generation: n, instance });
          this.hooks.ready?.(n, instance);
        },
      },
      {
        trap: null,
        steps: this.verb === 'run',
        label: this.#state.instances > 1 ? this.#name(n, instance) : undefined,
        // GRACEFUL_INSTANCE: the slot, 1..--instances (pm2's NODE_APP_INSTANCE counts from 0).
        env: { ...(held.fds.length > 0 ? held.env : {}), GRACEFUL_GENERATION: String(n), GRACEFUL_INSTANCE: String(instance), GRACEFUL_INSTANCES: String(this.#state.instances), ...(trace ? this.#tracer!.env(trace) : {}) },
        sockets: held.fds.length > 0 ? { fds: held.fds, listenPid: this.#listenPid } : null,
        observe: this.verb === 'check' || options.reportFile !== null,
        manager: this.#manager,
        // An orphan that left its generation's session (a daemon) is told apart by the
        // environment it inherited; one that cleared it is claimed by every generation (the
        // safe side: stopped with each).
        owns: (pid) => {
          const g = environValue(pid, 'GRACEFUL_GENERATION');
          return g === null || g === String(n);
        },
      },
    );
    const k = key(n, instance);
    this.#supervisors.set(k, supervisor);
    supervisor.start().then(
      (outcome) => {
        const stats = (monitor as Monitor | null)?.stop() ?? null;
        if (stats) this.#stats = stats;
        this.#supervisors.delete(k);
        this.#ended.set(k, { facts: outcome.state.facts, wall: supervisor.clock.wall, status: outcome.status, outcome });
        this.#health?.metrics.runEnded(outcome.state.facts, options.policy);
        if (trace) this.#tracer!.runEnded(trace, outcome.state.facts, options.policy, outcome.status, supervisor.clock.wall, this.#name(n, instance));
        this.hooks.exited?.(n, outcome, instance);
        this.#dispatch({ type: 'exited', at: this.clock.now(), generation: n, instance, status: outcome.status, trigger: outcome.state.facts.stop?.trigger ?? null });
        // Bounded as the state's list of instances is.
        for (const e of this.#ended.keys()) if (!this.#state.generations.some((g) => key(g.n, g.instance) === e)) this.#ended.delete(e);
      },
      (error: Error) => {
        this.ui.error(`internal error in ${this.#name(n, instance)}: ${error.message}`, 'internal-error', { generation: n, instance });
        this.#supervisors.delete(k);
        this.#dispatch({ type: 'exited', at: this.clock.now(), generation: n, instance, status: EXIT.internal, trigger: null });
      },
    );
  }

  // "generation 3", or with --instances: "generation 3 instance 2".
  #name(n: number, instance: number): string {
    return instanceName(this.#state, n, instance);
  }


  // An instance's facts: as its supervisor ended, or as its machine stands now.
  factsOf(n: number, instance = 1): Facts | null {
    const k = key(n, instance);
    return this.#ended.get(k)?.facts ?? this.#supervisors.get(k)?.state.facts ?? null;
  }

  #line(reload: Reload): string {
    return reloadLine(this.#state, reload, (n, i) => this.factsOf(n, i), this.options.policy.readyTimeoutMs);
  }

  #answer(reload: Reload): object {
    const gs = reload.generation !== null ? this.#state.generations.filter((x) => x.n === reload.generation) : [];
    return { reload: reload.n, outcome: reload.outcome, generation: reload.generation, pid: gs[0]?.pid ?? null, pids: gs.map((g) => g.pid), replaces: reload.replaces, line: this.#line(reload) };
  }

  // The lines that tell what the coordinator just did (off a terminal and on one alike:
  // a reload is news either way).
  #narrate(prev: GenState, event: GenEvent, actions: readonly GenAction[]): void {
    const { ui } = this;
    const state = this.#state;
    if (this.verb === 'check' && !this.options.verbose) return;
    for (const a of actions) {
      const r = a.type === 'start' ? state.reloads.find((x) => x.generation === a.generation) : null;
      if (r && a.type === 'start' && r.instances === 1) {
        const old = r.replaces !== null ? state.generations.find((g) => g.n === r.replaces) : null;
        const merged = r.merged > 0 ? ` and ${r.merged} merged request(s)` : '';
        ui.info(`reload ${r.n} (${r.via}${merged}): starting generation ${r.generation}${old ? ` beside generation ${old.n} (pid ${old.pid}), which serves until it is ready` : ''}`, 'reload-starting', { reload: r.n, via: r.via, merged: r.merged, generation: r.generation, replaces: old?.n ?? null });
      } else if (r && a.type === 'start') {
        // One at a time: each new instance beside the one it replaces in its slot.
        const old = state.generations.find((g) => g.instance === a.instance && g.role === 'serving');
        const merged = r.merged > 0 && a.instance === r.started[0] ? ` and ${r.merged} merged request(s)` : '';
        ui.info(`reload ${r.n} (${r.via}${merged}): starting instance ${a.instance} of generation ${r.generation} (${r.started.indexOf(a.instance) + 1} of ${r.instances})${old ? ` beside generation ${old.n} instance ${old.instance} (pid ${old.pid}), which serves until it is ready` : ''}`, 'reload-starting', { reload: r.n, via: r.via, merged: a.instance === r.started[0] ? r.merged : 0, generation: r.generation, instance: a.instance, replaces: old?.n ?? null });
      } else if (a.type === 'start' && prev.generations.length > 0) {
        const g = state.generations.find((x) => x.n === a.generation && x.instance === a.instance);
        if (g?.cause === 'scale') ui.info(`scaled to ${state.instances} instances: starting ${this.#name(a.generation, a.instance)}`, 'scaled', { instances: state.instances, generation: a.generation, instance: a.instance });
      }
      if (a.type === 'retire' && state.instances < prev.instances && a.instance > state.instances) ui.info(`scaled to ${state.instances} instance(s): stopping ${this.#name(a.generation, a.instance)}`);
      if (a.type === 'answer') {
        const answered = state.reloads.find((x) => x.n === a.reload);
        if (answered) this.#health?.metrics.reloaded(answered);
        if (answered) ui.info(this.#line(answered), 'reload', reloadFields(answered));
      }
    }
    if (event.type === 'reload' && state.queued && state.queued !== prev.queued) {
      const starting = state.generations.find((g) => g.role === 'starting');
      const what = starting ? this.#name(starting.n, starting.instance) : `reload ${state.current}`;
      ui.info(`reload requested (${event.via}) while ${what} starts: taken once it is ready or gone (${state.queued.count} request(s) merged)`, 'reload-queued', { via: event.via, generation: starting?.n ?? null, instance: starting?.instance ?? null, merged: state.queued.count });
    }
    if (event.type === 'exited') {
      const ended = this.#ended.get(key(event.generation, event.instance));
      const name = this.#name(event.generation, event.instance);
      if (ended && !ended.facts.spawnError && !this.options.quiet) ui.info(`${name}: ${summaryLine(ended.facts, this.options.policy, ended.status, ui.paint)}`, 'summary', { generation: event.generation, instance: event.instance, ...summaryFields(ended.facts, this.options.policy, ended.status) });
      else if (ended?.facts.spawnError) ui.error(`${name}: ${ended.facts.spawnError.message}`, 'spawn-failed', { generation: event.generation, instance: event.instance, exitStatus: ended.facts.spawnError.status });
      if (state.phase.kind === 'waiting' && prev.phase.kind !== 'waiting') {
        this.#health?.metrics.restarted(restartReason(event.trigger, event.status));
        ui.info(`restarting in ${human(state.phase.until - event.at)} (restart ${state.restarts + 1}); the sockets stay open, connections wait in their backlog`, 'restarting', { generation: event.generation, reason: restartReason(event.trigger, event.status), delayMs: Math.round(state.phase.until - event.at), restart: state.restarts + 1 });
      }
      const slot = state.slotRestarts.find((r) => r.instance === event.instance);
      if (slot && !prev.slotRestarts.includes(slot)) {
        ui.info(`restarting instance ${event.instance} in ${human(slot.until - event.at)} (restart ${state.restarts + 1}); the other instances serve meanwhile`, 'restarting', { instance: event.instance, delayMs: Math.round(slot.until - event.at), restart: state.restarts + 1 });
      } else if (state.phase.kind === 'running' && prev.phase.kind === 'running' && state.instances > 1 && state.gaveUp !== prev.gaveUp && state.gaveUp) {
        ui.info(`instance ${event.instance} is not restarted (${restartEndWhy(state.gaveUp, this.options.lifecycle.restart)}); ${servingAll(state).length} of ${state.instances} instance(s) serve`, 'not-restarting', { instance: event.instance, serving: servingAll(state).length, instances: state.instances });
      }
      if (state.gaveUp?.reason === 'start-limit' && !prev.gaveUp) ui.warn(`giving up: ${restartEndWhy(state.gaveUp, this.options.lifecycle.restart)}`, 'gave-up', { restarts: state.restarts, why: restartEndWhy(state.gaveUp, this.options.lifecycle.restart) });
    }
  }

  #healthNow(): Health {
    const g = serving(this.#state);
    const s = g ? this.#supervisors.get(key(g.n, g.instance)) : null;
    const facts = s?.state.facts;
    const running = facts != null && facts.pid !== null && facts.exit === null;
    const stopping = this.#state.phase.kind === 'stopping' || this.#state.phase.kind === 'done';
    return {
      state: this.#state.phase.kind === 'waiting' ? 'waiting-to-restart' : stopping ? 'stopping' : g ? `serving generation ${g.n}` : 'starting',
      running,
      ready: running && !stopping && facts!.stop === null,
      pid: running ? facts!.pid : null,
      uptimeMs: running && facts!.startedAt !== null ? Math.round(this.clock.now() - facts!.startedAt) : null,
      restarts: this.#state.restarts,
    };
  }

  #close(): void {
    this.#timers.cancelAll();
    this.#manager?.link.close();
    this.#held?.release();
    this.#control?.close();
    this.#health?.close();
  }

  // The last lines and the report; graceful's exit status.
  #finishRun(status: number): number {
    this.#close();
    const { options, ui } = this;
    const state = this.#state;
    const reloads = state.reloads.filter((r) => r.outcome !== null);
    const count = (o: string) => reloads.filter((r) => r.outcome === o).length;
    const omitted = state.omitted.reloads;
    if (!options.quiet && this.verb === 'run') {
      const instances = state.instances > 1 || state.generations.some((g) => g.instance > 1) ? `${state.generations.length + state.omitted.generations} instance(s) in ` : '';
      ui.info(`${instances}${state.nextGeneration - 1} generation(s), ${state.nextReload - 1} reload(s): ${count('switched')} switched, ${count('rolled-back')} rolled back, ${count('failed')} failed${omitted ? ` (of the last ${reloads.length})` : ''}; exit status ${status}`, 'generations', { instances: state.generations.length + state.omitted.generations, generations: state.nextGeneration - 1, reloads: state.nextReload - 1, switched: count('switched'), rolledBack: count('rolled-back'), failed: count('failed'), exitStatus: status });
    }
    const leaked = [...this.#ended.values()].flatMap((e) => e.outcome.extras.descendants.leaked);
    if (leaked.length > 0) ui.warn(`left running: ${leaked.map((p) => `${p.command || '?'} (pid ${p.pid})`).join(', ')}`, 'left-running', { pids: leaked.map((p) => p.pid).join(' ') });
    if (options.reportFile !== null && this.verb === 'run') {
      const report = this.lastReport(status);
      if (report) writeJson('--report-file', options.reportFile, report, ui);
    }
    return status;
  }

  /** The JSON report once every generation ended: the top level describes the generation graceful exits with; `reload` lists them all. */
  lastReport(status: number) {
    const from = this.#state.generations.filter((g) => g.n === this.#state.statusFrom && g.exit?.status === status).at(-1);
    const main = (from && this.#ended.get(key(from.n, from.instance))) ?? [...this.#ended.values()].at(-1);
    return main ? this.#report(status, main) : null;
  }

  #report(status: number, main: GenerationFacts & { outcome: RunOutcome }) {
    const { options } = this;
    const state = this.#state;
    const facts = (n: number, i?: number) => this.factsOf(n, i);
    const generations = state.generations.map((g) => {
      const k = key(g.n, g.instance);
      const f = this.#ended.get(k) ?? (this.#supervisors.get(k) ? { facts: this.#supervisors.get(k)!.state.facts, wall: this.clock.wall, status: null } : null);
      return summarizeGeneration(g, f, options);
    });
    const { restart } = options.lifecycle;
    const gaveUp = state.gaveUp;
    const why = gaveUp ? restartEndWhy(gaveUp, restart) : state.phase.kind === 'done' ? 'a stop request' : '';
    const extras: ReportExtras = {
      ...main.outcome.extras,
      stats: this.#stats,
      runs: state.generations.flatMap((g) => {
        const e = this.#ended.get(key(g.n, g.instance));
        return e ? [summarizeRun(e.facts, options.policy, e.wall)] : [];
      }),
      runsOmitted: state.omitted.generations,
      restart: restart.mode === 'no' ? null : { mode: restart.mode, restarts: state.restarts, gaveUp: gaveUp?.reason === 'start-limit', why },
      reload: {
        sockets: (this.#held?.sockets ?? []).map((s) => ({ name: s.name, address: s.address })),
        instances: state.instances,
        generations,
        reloads: state.reloads.map((r) => summarizeReload(state, r, this.clock.wall, facts, options.policy.readyTimeoutMs)),
        omitted: state.omitted,
      },
    };
    return buildReport(main.facts, options, status, main.wall, extras);
  }
}


// The timers' keys: one settle timer per instance, one restart timer per slot (or the program's).
function timerKey(t: { timer: 'settle'; generation: number; instance: number } | { timer: 'restart'; instance: number | null }): string {
  return t.timer === 'settle' ? `settle ${key(t.generation, t.instance)}` : `restart ${t.instance ?? ''}`;
}

// "generation 3", or, once the program runs several instances: "generation 3 instance 2".
export function instanceName(state: GenState, n: number, instance: number): string {
  const several = state.instances > 1 || instance > 1 || state.generations.some((g: Generation) => g.instance > 1);
  return several ? `generation ${n} instance ${instance}` : `generation ${n}`;
}
