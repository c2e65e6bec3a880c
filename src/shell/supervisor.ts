// The imperative shell around the machine: OS events in, machine actions out. One
// Supervisor runs the child from spawn to the end of its tree; `graceful run` and
// `graceful check` both drive it, so there is one shutdown path. start() reads as the
// lifecycle: take up PID 1 duties, trap signals, spawn, probe readiness, wait, clean up.
import { initialState, step } from '../core/machine.js';
import type { Writable } from 'node:stream';
import type { Action, Event, OwnStop, Policy, SignalName, State, StopSignal } from '../core/types.js';
import { EXIT } from '../config/errors.js';
import type { RunOptions } from '../config/options.js';
import type { ProcessEntry, ReportExtras } from '../report/json.js';
import { describeCommand, stepLines, summaryLine } from '../report/human.js';
import { signalNumber } from '../config/signals.js';
import { spawnChild, type Child, type ChildStdio, type Shim } from './process/child.js';
import { systemClock, Timers, type Clock } from './clock.js';
import { listenNotify, type NotifySocket } from './sockets/notify.js';
import type { ChildWatchdog, Manager } from './sockets/manager.js';
import { flushOrHardExit, prepareOutput } from './ui/output.js';
import { inheritedAlive, isInherited, isNodeChild, ownChildren, pdeathsigHelper, startReaper, type Reaper } from './process/pid1.js';
import { runPreStop, type PreStop } from './process/prestop.js';
import { probeReady } from './probes/ready.js';
import { openStatus, type StatusChannel } from './sockets/status.js';
import type { Trap } from './trap.js';
import { disposition } from './process/inspect.js';
import { acceptedInNamespace, watchTraffic, whereToWatch } from './probes/traffic.js';
import { isStopped, reachesJob, terminalJob, type TerminalJob } from './ui/terminal.js';
import { readProc, Tree, tryKill, type ProcInfo } from './process/tree.js';
import { launcherKind } from '../core/launchers.js';
import { Ui } from './ui/display.js';

// When to warm the stop path up (see #warmUp): after the start, when graceful is idle;
// a command that is over by then never pays for it.
const WARM_UP_AFTER_MS = 20;

// How often the rest of the tree is checked once the main process has exited: a /proc scan
// costs well under a millisecond on a container's few processes; 20 ms keeps the exit prompt.
const TREE_POLL_MS = 20;
// How long an adopted app, seen as a zombie, may take to become reapable (its other threads
// finish exiting first: milliseconds) before graceful stops waiting for its status.
const APP_REAP_WAIT_MS = 1000;
// How long graceful waits, once the tree is gone, for the last of the child's piped output
// (--ready log:) to pass through: a process that graceful leaves alone may hold the pipe.
const DRAIN_MS = 2000;

/** What the caller may watch and do while the child runs (graceful check). */
export interface Hooks {
  /** The child was spawned. */
  started?(pid: number): void;
  /** The child is ready (--ready), after the machine recorded it. */
  ready?(): void;
  /** The stop signal or the kill signal is about to be sent to the child. */
  beforeSignal?(reason: 'stop' | 'kill'): void;
  /** graceful received a stop signal (SIGTERM, SIGINT), after the machine acted on it. */
  stopRequested?(signal: StopSignal): void;
}

export interface SupervisorOptions {
  /** Variables added to the child's environment (graceful check's private TMPDIR). */
  env?: Record<string, string>;
  /** Print a line per step off a terminal (graceful check prints its checklist instead). */
  steps?: boolean;
  /**
   * The process's signal handlers, to route to this program; null when a coordinator
   * supervises several programs and routes each signal itself (dispatch()).
   */
  trap: Trap | null;
  /**
   * List the child's tree just before each stop and kill signal, so that the report names
   * exactly the processes alive at that moment (a list taken after the signal misses those
   * that die of it at once). Costs one /proc scan before the signal, so it is on only when
   * someone reads the lists: a report file, or graceful check. Default: with --report-file.
   */
  observe?: boolean;
  /** Held listening sockets for the child, fd 3 onwards, and whether to set LISTEN_PID (--listen; see child.ts). */
  sockets?: { fds: readonly number[]; listenPid: boolean } | null;
  /** graceful up: the child's output passes through these (see SpawnOptions.relay). */
  relay?: { stdout: Writable; stderr: Writable };
  /** The child's working directory (and its exec ready probe's). */
  cwd?: string;
  /** graceful check's audit: the shim spawned in the program's place (see SpawnOptions.shim). */
  shim?: Shim | null;
  /** Where its lines go instead of a Ui of its own (graceful up: one display for the stack). */
  ui?: Ui;
  /** Put in front of each of its lines (--instances: "generation 2 instance 3"). */
  label?: string;
  /**
   * Which orphans graceful adopts (as PID 1 or a subreaper) belong to this child's tree;
   * absent: every one. Several programs under one graceful (graceful up, a reload's
   * generations) each claim their
   * own; an orphan none claims is stopped by the coordinator after the last program.
   */
  owns?: (pid: number) => boolean;
  /**
   * The service manager above graceful (NOTIFY_SOCKET: shell/sockets/manager.ts), told of
   * this program's readiness (`readiness`) and stop; with its watchdog and --ready notify, the
   * child's watchdog (made by `watchChild`, loaded with the manager) is enforced here.
   */
  manager?: Manager | null;
}

/** How a run ended: the machine's final state, graceful's exit status, the shell's facts. */
export interface RunOutcome {
  state: State;
  status: number;
  extras: ReportExtras;
  /**
   * Stopped by Ctrl+C, the child caught SIGINT and was still running when the kill signal
   * went out: a REPL or a shell, which --interactive is for.
   */
  caughtInterrupt: boolean;
}

export class Supervisor {
  readonly clock: Clock = systemClock();
  readonly ui: Ui;
  #state: State;
  #child: Child | null = null;
  #tree: Tree | null = null;
  #preStop: PreStop | null = null;
  /** --stop-delay auto: stops the watch of the program's traffic. */
  #unwatchTraffic: (() => void) | null = null;
  #watch: NodeJS.Timeout | null = null;
  #notify: NotifySocket | null = null;
  /** The child's watchdog, under a service manager's WatchdogSec= with --ready notify. */
  #childWatchdog: ChildWatchdog | null = null;
  #status: StatusChannel | null = null;
  #reaper: Reaper | null = null;
  /** Terminal mode: where graceful stands in its terminal; null when the child has its own session. */
  #job: TerminalJob | null = null;
  #caughtInterrupt = false;
  readonly #timers: Timers;
  // Only with --ready: an abort() makes a DOMException, with its stack, on every run.
  #probe: AbortController | null = null;
  readonly #descendants = new Descendants();
  #finish!: (status: number) => void;
  readonly #finished = new Promise<number>((resolve) => (this.#finish = resolve));

  #reapedBefore = 0;
  /** The app's start time (/proc), which tells it from a later process given its pid. */
  #appStart = -1;
  /** When the app was first seen a zombie that graceful is about to reap. */
  #appZombieSince: number | null = null;
  /** After an internal error: the machine is not trusted any more, graceful is exiting. */
  #broken = false;
  /** The latest scan found the tree empty (at the main exit, or the end of draining). */
  #treeEmpty = false;

  readonly #env: Record<string, string>;
  readonly #trap: Trap | null;
  /** Stops listening to the reaper (at clean-up). */
  #unwatch: (() => void) | null = null;
  /** List the tree before each stop and kill signal, for a report (see SupervisorOptions.observe). */
  readonly #observe: boolean;
  readonly #extra: SupervisorOptions;
  /** The policy the machine decides with: the options', unless capGrace() shortened the grace period. */
  #policy: Policy;

  constructor(
    readonly options: RunOptions,
    private readonly hooks: Hooks,
    extra: SupervisorOptions,
  ) {
    this.#env = extra.env ?? {};
    this.#trap = extra.trap;
    this.#observe = extra.observe ?? options.reportFile !== null;
    this.#extra = extra;
    this.#policy = options.policy;
    this.ui = extra.ui ?? new Ui({ ...options, steps: extra.steps ?? true, label: extra.label, program: options.logFormat === 'json' ? describeCommand(options.command) : null }, this.clock.now);
    this.#timers = new Timers(this.clock);
    this.#state = initialState(options.command, this.clock.now());
    if (options.ready) this.#probe = new AbortController();
  }

  get state(): State {
    return this.#state;
  }

  /** The child's pid once it runs. */
  get pid(): number | null {
    return this.#state.facts.pid;
  }

  get tree(): Tree | null {
    return this.#tree;
  }

  // Runs the child to the end of its tree.
  async start(): Promise<RunOutcome> {
    const { options } = this;
    const reaping = startReaper({ subreaper: options.subreaper });
    this.#reaper = reaping.reaper;
    this.#reapedBefore = this.#reaper?.reaped ?? 0;
    // An orphan graceful reaps may be the app behind a launcher: then its status is known.
    this.#unwatch = this.#reaper?.watch((pid, code, signal) => {
      const app = this.#state.facts.app;
      if (app && app.pid === pid && app.exit === null) this.#appExited(code, signal, true);
    }) ?? null;
    if (reaping.problem && process.pid === 1) {
      this.ui.warn(`as PID 1, graceful cannot reap orphaned processes here: ${reaping.problem}; they will stay zombies`);
    } else if (reaping.problem && options.verbose) {
      this.ui.info(`no child subreaper: ${reaping.problem}; a double-forked daemon can escape the stop`);
    }
    // Said once, not at every restart's spawn: what running without setpriv loses (docs/pid1.md).
    if (options.verbose && process.platform === 'linux' && pdeathsigHelper() === null) {
      this.ui.info(
        'no util-linux setpriv (/usr/bin/setpriv, /bin/setpriv): the child gets no parent-death signal, so if graceful is SIGKILLed or crashes, the child keeps running unsupervised (as PID 1, the kernel still ends the whole namespace); install util-linux to have it',
      );
    }
    // Terminal mode or a session of its own, decided once, before the spawn (terminal.ts).
    const job = options.terminal ? terminalJob() : null;
    this.#job = job;
    // Handlers first: a signal that arrives between the spawn and the handlers would
    // otherwise kill graceful and orphan the child.
    // (Unless a coordinator above routes the signals: several programs under one graceful.)
    if (this.#trap) {
      this.#trap.route((event) => this.dispatch(event), {
        interactive: options.interactive,
        delivered: (signal) => job !== null && reachesJob(signal, job),
      });
    }
    this.#spawn({ ...this.#env, ...this.#openNotify(), ...this.#openStatus() });
    // In terminal mode the child may be stopped by job control; graceful follows it.
    if (job) process.on('SIGCHLD', this.#onChildChange);
    // While the child execs: what the first line written will need (output.ts), so that
    // neither a stop nor the exit waits for it.
    if (!options.quiet || options.ready?.kind === 'log') setImmediate(prepareOutput);
    const warm = setTimeout(() => this.#warmUp(), WARM_UP_AFTER_MS);
    warm.unref();
    const status = await this.#finished;
    clearTimeout(warm);
    return this.#cleanUp(status);
  }

  /**
   * Caps the grace period of the stop to come at `ms` (graceful up: what is left of the
   * stack's deadline). The machine then arms its deadline that much after the request.
   */
  capGrace(ms: number): void {
    if (ms < this.options.policy.timeoutMs) this.#policy = { ...this.options.policy, timeoutMs: Math.max(0, ms) };
  }

  /** Asks the child to stop, for a reason of graceful's own ('check'). */
  stop(trigger: OwnStop): void {
    this.dispatch({ type: 'stop', at: this.clock.now(), trigger });
  }

  // Advances the machine by one event and carries out what it decided.
  dispatch(event: Event): void {
    if (this.#broken) return;
    try {
      const prev = this.#state;
      const next = step(prev, event, this.#policy);
      this.#state = next.state;
      // The tree as the stop finds it, before the stop signal can end any of it.
      if (this.#observe && !prev.facts.stop && next.state.facts.stop && this.#tree) {
        this.#descendants.atStop(this.#tree, this.pid, this.#tree.members());
      }
      // The actions first, the words after: on a stop, kill() is the first thing graceful
      // does once the signal is read, so the child never waits for a line's formatting and
      // write (bench/analysis.md, "The stop path: the kill before the words").
      for (const action of next.actions) this.#perform(action);
      this.ui.step(prev, event, this.#state, next.actions);
      const manager = this.#extra.manager;
      if (manager) this.#tellManager(manager, prev);
      if (event.type === 'stop-requested') this.hooks.stopRequested?.(event.signal);
      if (this.#probe && (this.#state.facts.stop || this.#state.facts.readyAt !== null)) this.#probe.abort();
      if (prev.facts.readyAt === null && this.#state.facts.readyAt !== null) this.hooks.ready?.();
    } catch (error) {
      // A bug in graceful. The child is in its own session and would outlive graceful
      // unnoticed: ask its tree to stop (no SIGKILL: it may still clean up), then exit.
      this.ui.error(`internal error: ${(error as Error).message}; sent SIGTERM to the child's tree (set GRACEFUL_DEBUG=1 for details)`, 'internal-error');
      if (process.env.GRACEFUL_DEBUG) this.ui.error(String((error as Error).stack), 'internal-error');
      this.#tree?.signalAll('SIGTERM');
      this.#tree?.signalAll('SIGCONT');
      this.#tree?.flush();
      this.#broken = true;
      void flushOrHardExit(EXIT.internal).then(() => process.exit(EXIT.internal));
    }
  }

  // What the code cache (bin/graceful.js) leaves cold on the stop path is V8's inline
  // caches: run the machine once on a throwaway state, while the child runs and nothing
  // waits on graceful, and compile the step lines and the summary of both endings (a stop,
  // and the child ending on its own: the build's training run is a stop) off the exit path.
  // No /proc scan here: it would keep graceful busy when a fast child's first signal may
  // arrive. What each cost: bench/analysis.md, "The stop path: the kill before the words".
  #warmUp(): void {
    if (this.#state.phase.kind !== 'running') return;
    const { policy } = this.options;
    const endings: Event[][] = [
      [
        { type: 'started', at: 1, pid: 2 },
        { type: 'stop-requested', at: 2, signal: 'SIGTERM' },
        { type: 'stop-requested', at: 500, signal: 'SIGINT' },
        { type: 'child-exited', at: 501, code: null, signal: 'SIGKILL', signo: 9, survivors: 0 },
      ],
      [
        { type: 'started', at: 1, pid: 2 },
        { type: 'child-exited', at: 501, code: 0, signal: null, signo: null, survivors: 0 },
      ],
    ];
    for (const events of endings) {
      let s = initialState(this.options.command, 0);
      for (const event of events) {
        const next = step(s, event, policy);
        stepLines(s, event, next.state, next.actions, policy, this.options.verbose);
        s = next.state;
      }
      summaryLine(s.facts, policy, 0);
    }
  }

  #perform(action: Action): void {
    const now = this.clock.now;
    switch (action.type) {
      case 'send': {
        if (action.reason === 'stop' || action.reason === 'kill') this.hooks.beforeSignal?.(action.reason);
        if (action.reason === 'kill') this.#noteInterruptCaught();
        // The processes the kill signal is about to hit (after the stop signal, the tree may
        // have changed: a listing made then is no longer the truth).
        if (action.reason === 'kill' && this.#observe && this.#tree && action.target !== 'main' && action.target !== 'app') {
          this.#descendants.killed(this.#tree, this.#tree.members(), this.pid);
        }
        const outsideOnly = action.target === 'outside-group';
        if (action.target === 'main') this.#child?.signal(action.signal);
        else if (action.target === 'app') {
          const app = this.#state.facts.app;
          if (app && this.#isApp(app.pid)) tryKill(app.pid, action.signal);
        } else if (this.#tree && (action.reason === 'forward' || action.reason === 'suspend')) this.#tree.forward(action.signal, outsideOnly);
        else this.#tree?.signalAll(action.signal, undefined, outsideOnly);
        return;
      }
      case 'suspend-self':
        process.kill(process.pid, 'SIGSTOP');
        return;
      case 'run-pre-stop':
        this.#preStop = runPreStop(action.command, this.pid, (r) => this.dispatch({ type: 'pre-stop-exited', at: now(), ...r }));
        return;
      case 'cancel-pre-stop':
        this.#preStop?.cancel();
        return;
      case 'watch-traffic':
        this.#watchTraffic();
        return;
      case 'unwatch-traffic':
        this.#unwatchTraffic?.();
        this.#unwatchTraffic = null;
        return;
      case 'tell-deadline':
        this.#status?.tellDeadline(action.at - now());
        return;
      case 'arm':
        this.#timers.arm(action.timer, action.at, () => this.dispatch({ type: 'timer', at: now(), timer: action.timer }));
        return;
      case 'cancel':
        this.#timers.cancel(action.timer);
        return;
      case 'watch-tree':
        this.#watch ??= setInterval(() => {
          const left = this.#tree?.count() ?? 0;
          // The app gone without graceful reaping it (its own parent did, or graceful is
          // not a subreaper): its end is seen here, its status is not.
          const app = this.#state.facts.app;
          const appRuns = app !== null && app.exit === null && this.#appRuns(app.pid);
          if (app && app.exit === null && !appRuns) this.#appExited(null, null, false);
          if (left || appRuns) return;
          this.#treeEmpty = true;
          clearInterval(this.#watch!);
          this.dispatch({ type: 'tree-empty', at: now() });
        }, TREE_POLL_MS);
        return;
      case 'exit':
        this.#finish(action.status);
        return;
    }
  }

  /**
   * When the main process is a launcher (npm start, sh -c: launchers.ts), finds the program
   * it started: among the tree's members (a fresh scan unless given), the first one started
   * that is no launcher itself, or the one `prefer` picks (graceful check: the one that
   * listens). Tells the machine; returns its pid, or null.
   */
  findApp(members?: readonly ProcInfo[], prefer?: (pid: number) => boolean): number | null {
    if (this.#state.facts.app) return this.#state.facts.app.pid;
    const tree = this.#tree;
    if (!tree || launcherKind(this.options.command) === null) return null;
    const main = this.pid;
    const candidates = (members ?? tree.members())
      .filter((p) => p.pid !== main && launcherKind(tree.command(p.pid).split(' ')) === null)
      .sort((a, b) => a.start - b.start || a.pid - b.pid);
    const app = (prefer && candidates.find((p) => prefer(p.pid))) ?? candidates[0];
    if (!app) return null;
    this.#appStart = app.start;
    this.dispatch({ type: 'app-found', at: this.clock.now(), pid: app.pid, command: tree.command(app.pid) });
    return app.pid;
  }

  // The app ended: what is left of the tree then, and the event.
  #appExited(code: number | null, signal: SignalName | null, known: boolean): void {
    const at = this.clock.now();
    const tree = this.#tree;
    const survivors = tree?.count() ?? 0;
    if (tree) this.#descendants.atAppExit(tree, this.#state.facts.app!.pid);
    this.dispatch({ type: 'app-exited', at, code, signal, signo: signal ? signalNumber(signal) : null, known, survivors });
  }

  // Is `pid` still the app graceful found (alive, and not a stranger given its pid)?
  #isApp(pid: number): boolean {
    const info = readProc(pid);
    return info !== null && info.state !== 'Z' && info.start === this.#appStart;
  }

  // Does the app still run, as far as graceful can tell its end? A zombie that graceful
  // adopted counts as running until the reaper has its status: /proc shows a process
  // exiting as a zombie (Z) before wait() can report it (its other threads are still
  // exiting), and concluding "gone" then would lose the status the reaper is about to get.
  #appRuns(pid: number): boolean {
    if (this.#isApp(pid)) return true;
    this.#reaper?.reap();
    if (this.#state.facts.app?.exit) return false;
    const info = readProc(pid);
    const pending = this.#reaper !== null && info !== null && info.state === 'Z' && info.ppid === process.pid && info.start === this.#appStart;
    // Not for ever: a status that never comes must not hold graceful's exit.
    this.#appZombieSince ??= pending ? this.clock.now() : null;
    return pending && this.clock.now() - this.#appZombieSince! < APP_REAP_WAIT_MS;
  }

  // SIGCHLD comes when a child exits, stops or resumes (Node's own handler only reaps):
  // terminal mode tells the machine when the main process was stopped.
  readonly #onChildChange = (): void => {
    const pid = this.pid;
    if (pid !== null && this.#child && !this.#child.exited && isStopped(pid)) this.dispatch({ type: 'child-stopped', at: this.clock.now() });
  };

  // Just before a kill: did a Ctrl+C stop a child that caught SIGINT and kept running (a
  // REPL, a shell)? The summary then says how to run such programs. Read before the kill:
  // a dead process's handlers are gone.
  #noteInterruptCaught(): void {
    const { facts, phase } = this.#state;
    if (this.#caughtInterrupt || !facts.terminal || facts.stop?.trigger !== 'SIGINT' || phase.kind === 'draining') return;
    if (this.pid !== null && this.#child && !this.#child.exited) this.#caughtInterrupt = disposition(this.pid, 'SIGINT') === 'caught';
  }

  // The status channel of graceful-supervisor/app (docs/app-protocol.md): its path and graceful's
  // grace period go in the child's environment.
  #openStatus(): Record<string, string> {
    const { policy } = this.options;
    const now = this.clock.now;
    // Where it runs, for the library's default delay: none in a terminal (terminal mode is
    // decided before the spawn). graceful's stop delay keeps the program serving only where
    // graceful is the one to signal it: where the platform signals every process (Heroku),
    // the program has the signal at once and must delay itself.
    const delays = policy.platformSignalsTree !== true;
    const stopDelayMs = !delays ? 0 : policy.stopDelayAuto ? policy.stopDelayAuto.capMs : policy.stopDelayMs;
    const context = { platform: this.#job ? 'terminal' : (this.options.platform?.name ?? 'unknown'), stopDelayMs };
    this.#status = openStatus(policy.kill ? policy.timeoutMs : null, (pid, phase) => this.dispatch({ type: 'app-phase', at: now(), pid, phase }), context);
    return this.#status?.env ?? {};
  }

  // What the service manager above graceful hears of a step of the machine; the child's
  // watchdog runs from its readiness to the stop.
  #tellManager(manager: NonNullable<SupervisorOptions['manager']>, prev: State): void {
    const next = this.#state;
    manager.link.changed(prev, next, manager.readiness, this.clock.now(), this.#policy.killSignal);
    const watchdog = this.#childWatchdog;
    if (!watchdog) return;
    if (next.facts.stop || next.facts.exit) watchdog.disarm();
    else if (prev.facts.readyAt === null && next.facts.readyAt !== null) watchdog.arm();
  }

  // --stop-delay auto: watches the connections to the tree's listening ports (found now: the
  // program still listens) and feeds each reading to the machine (each read of the kernel's
  // table runs off the loop: the readings come after the step that asked for them).
  #watchTraffic(): void {
    const now = this.clock.now;
    const since = this.#state.facts.stop?.requestedAt ?? now();
    const pids = [...new Set([this.pid, ...(this.#tree?.members().map((p) => p.pid) ?? [])].filter((p): p is number => p !== null))];
    let stopped = false;
    this.#unwatchTraffic = () => void (stopped = true);
    void whereToWatch(pids).then((target) => {
      if (stopped) return;
      // Where the namespace is the program's alone, its count of accepted connections sees
      // those that come and go between two readings of the table (probes/traffic.ts).
      const accepted = target?.namespaceIsTheProgramsAlone ? () => acceptedInNamespace() : null;
      this.#unwatchTraffic = watchTraffic(target?.ports ?? [], since, now, (reading) => this.dispatch({ type: 'traffic', at: now(), ...reading }), undefined, accepted);
    });
  }

  // --ready notify: the socket must exist before the child starts; its path goes in the
  // child's environment. Under a service manager's watchdog, so does the watchdog's period:
  // the child pings graceful, and graceful stops it, through the one stop sequence, when it
  // falls silent (graceful's own pings to the manager say that graceful is alive).
  #openNotify(): Record<string, string> {
    if (this.options.ready?.kind !== 'notify') return {};
    const now = this.clock.now;
    const manager = this.#extra.manager;
    const watchdogMs = manager?.link.watchdogMs ?? null;
    if (manager && watchdogMs !== null) this.#childWatchdog = manager.watchChild(watchdogMs, () => this.stop('watchdog'));
    const socket = listenNotify({
      ready: () => this.dispatch({ type: 'ready', at: now() }),
      stopping: () => this.dispatch({ type: 'child-stopping', at: now() }),
      extend: (ms) => this.dispatch({ type: 'extend-timeout', at: now(), ms }),
      watchdog: () => this.#childWatchdog?.ping(),
      status: (text) => manager?.link.status(text),
      // A reload of the program's own (a forwarded SIGHUP, without graceful's reloads): the
      // manager's Type=notify-reload waits for these two.
      reloading: () => manager?.link.reloading(`${describeCommand(this.options.command)} (pid ${this.pid}) is reloading`),
      readyAgain: () => manager?.link.ready(`${describeCommand(this.options.command)} (pid ${this.pid}) is ready again`),
    });
    if (typeof socket === 'string') {
      this.ui.warn(`${socket}; the child cannot report that it is ready, and --ready-timeout will stop it`);
      this.#childWatchdog = null;
      return {};
    }
    this.#notify = socket;
    return { NOTIFY_SOCKET: socket.path, ...(this.#childWatchdog ? { WATCHDOG_USEC: String(Math.round(watchdogMs! * 1000)) } : {}) };
  }

  #spawn(env: Record<string, string>): void {
    const { options } = this;
    const now = this.clock.now;
    const helper = pdeathsigHelper();
    const stdio: ChildStdio = options.ready?.kind === 'log' ? 'pipe-output' : options.ready?.kind === 'ipc' ? 'ipc' : 'inherit';
    // Processes reparented to graceful are orphans of the tree, but for those Node spawned
    // and those graceful was handed when it started (inherited: not the program's).
    const owns = this.#extra.owns;
    const adopted = this.#reaper ? (pid: number) => !isNodeChild(pid) && !isInherited(pid) && (owns ? owns(pid) : true) : null;
    this.#child = spawnChild(
      options.command,
      {
        spawned: (pid) => {
          this.#tree = new Tree(pid, adopted, undefined, this.#job?.pgid ?? null);
          this.dispatch({ type: 'started', at: now(), pid, terminal: this.#job !== null });
          this.hooks.started?.(pid);
        },
        failed: (status, message) => this.dispatch({ type: 'spawn-failed', at: now(), status, message }),
        exited: (code, signal) => {
          const at = now();
          this.#tree?.mainGone();
          // With other programs beside it (owns), graceful always has children: none of
          // them an orphan of this tree is what tells that nothing of it is left outside
          // its (empty) group, without a scan of every process.
          // So do inherited processes (a logger lives on after the program).
          const others = owns !== undefined || inheritedAlive().length > 0;
          const childless = this.#reaper
            ? others
              ? () => ownChildren()?.every((pid) => isNodeChild(pid) || isInherited(pid) || (owns !== undefined && !owns(pid))) ?? false
              : () => this.#reaper!.childless()
            : undefined;
          // Counted in every kill mode: in mode process the machine leaves them alone, but the
          // report and the warning at exit name them.
          const survivors = this.#tree?.count(childless) ?? 0;
          this.#treeEmpty = survivors === 0;
          if (this.#tree && survivors > 0) {
            this.#descendants.atMainExit(this.#tree);
            // A launcher (npm start) that ended before the program it started, on a stop.
            if (this.#state.facts.stop) this.findApp(this.#tree.lastMembers);
          }
          const app = this.#state.facts.app;
          const appAlive = app !== null && app.exit === null && this.#appRuns(app.pid);
          this.dispatch({ type: 'child-exited', at, code, signal, signo: signal ? signalNumber(signal) : null, survivors, appAlive });
        },
      },
      {
        stdio,
        env,
        // If graceful itself is killed (SIGKILL, OOM), the kernel sends the child the stop
        // signal rather than leave it running unsupervised.
        pdeathsig: helper ? { helper, signal: options.policy.stopSignal ?? 'SIGTERM' } : null,
        terminal: this.#job !== null,
        sockets: this.#extra.sockets ?? null,
        relay: this.#extra.relay,
        cwd: this.#extra.cwd,
        shim: this.#extra.shim ?? null,
      },
    );
    const { proc } = this.#child;
    if (options.ready && proc && this.pid !== null) {
      probeReady(options.ready, { proc, signal: this.#probe!.signal, env: this.#env, cwd: this.#extra.cwd }, () => this.dispatch({ type: 'ready', at: now() }));
    }
  }

  async #cleanUp(status: number): Promise<RunOutcome> {
    this.#timers.cancelAll();
    this.#unwatchTraffic?.();
    process.off('SIGCHLD', this.#onChildChange);
    // A child that ended within FOLLOW_UP_MS of a stop: finish what was waiting on the scan.
    this.#tree?.flush();
    this.#probe?.abort();
    if (this.#watch) clearInterval(this.#watch);
    await this.#child?.drained(DRAIN_MS);
    this.#childWatchdog?.disarm();
    this.#notify?.close();
    this.#status?.close();
    this.#reaper?.reap();
    this.#unwatch?.();
    // Per run, not per process: a restart adds its own (a listener left here would pile up).
    process.off('SIGCHLD', this.#onChildChange);
    // A tree found empty at the end needs no scan again: nothing of it can come back.
    if (this.#tree && !this.#treeEmpty) this.#descendants.leaked(this.#tree);
    this.ui.close();
    const extras: ReportExtras = {
      descendants: this.#descendants.report(),
      reaper: this.#reaper && { pid1: process.pid === 1, reaped: this.#reaper.reaped - this.#reapedBefore },
    };
    return { state: this.#state, status, extras, caughtInterrupt: this.#caughtInterrupt };
  }
}

// What graceful saw of the child's descendants (the main process excluded), for the report:
// when the stop began, when the kill signal went out, and still alive when graceful exits.
class Descendants {
  #atStop: ProcessEntry[] | null = null;
  readonly #killed = new Map<number, ProcessEntry>();
  #leaked: ProcessEntry[] = [];
  #atMainExit: ProcessEntry[] = [];

  // The first call of a stop counts.
  atStop(tree: Tree, main: number | null, members: readonly ProcInfo[]): void {
    this.#atStop ??= entries(tree, members, main);
  }

  atMainExit(tree: Tree): void {
    this.#atMainExit = entries(tree, tree.lastMembers, null);
  }

  #atAppExit: ProcessEntry[] | null = null;

  // What was left when the app behind a launcher exited (after the latest scan).
  atAppExit(tree: Tree, app: number): void {
    this.#atAppExit = entries(tree, tree.lastMembers, app);
  }

  killed(tree: Tree, members: readonly ProcInfo[], main: number | null): void {
    for (const e of entries(tree, members, main)) this.#killed.set(e.pid, e);
  }

  leaked(tree: Tree): void {
    this.#leaked = entries(tree, tree.members(), null);
  }

  report(): ReportExtras['descendants'] {
    return { atStop: this.#atStop, atMainExit: this.#atMainExit, atAppExit: this.#atAppExit, killed: [...this.#killed.values()], leaked: this.#leaked };
  }
}

// The members as the report names them. One whose command line could not be read was
// exiting as the scan read it (its stat, then an empty cmdline): listed only if still alive.
function entries(tree: Tree, members: readonly ProcInfo[], main: number | null): ProcessEntry[] {
  return members
    .filter((p) => p.pid !== main)
    .map((p) => ({ pid: p.pid, command: tree.command(p.pid) }))
    .filter((e) => e.command !== '' || readProc(e.pid)?.state.match(/^[^ZX]/));
}
