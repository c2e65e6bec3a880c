// The imperative shell around the machine: OS events in, machine actions out. One
// Supervisor runs the child from spawn to the end of its tree; `graceful run` and
// `graceful check` both drive it, so there is one shutdown path. start() reads as the
// lifecycle: take up PID 1 duties, trap signals, spawn, probe readiness, wait, clean up.
import { initialState, step } from '../core/machine.js';
import type { Action, Event, State } from '../core/types.js';
import { EXIT } from '../errors.js';
import type { RunOptions } from '../options.js';
import type { ProcessEntry, ReportExtras } from '../report/json.js';
import { summaryLine } from '../report/human.js';
import { signalNumber } from '../signals.js';
import { spawnChild, type Child, type ChildStdio } from './child.js';
import { systemClock, Timers, type Clock } from './clock.js';
import { listenNotify, type NotifySocket } from './notify.js';
import { drained } from './output.js';
import { isNodeChild, pdeathsigHelper, startReaper, type Reaper } from './pid1.js';
import { runPreStop, type PreStop } from './prestop.js';
import { probeReady } from './ready.js';
import { installTrap } from './trap.js';
import { disposition } from './inspect.js';
import { isStopped, reachesJob, terminalJob, type TerminalJob } from './terminal.js';
import { Tree, type ProcInfo } from './tree.js';
import { Ui } from './ui.js';

// When to warm the stop path up (see #warmUp): after the start, when graceful is idle;
// a command that is over by then never pays for it.
const WARM_UP_AFTER_MS = 20;

// How often the rest of the tree is checked once the main process has exited: a /proc scan
// costs well under a millisecond on a container's few processes; 20 ms keeps the exit prompt.
const TREE_POLL_MS = 20;
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
}

/** How a run ended: the machine's final state, graceful's exit status, the shell's facts. */
export interface Outcome {
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
  #watch: NodeJS.Timeout | null = null;
  #notify: NotifySocket | null = null;
  #reaper: Reaper | null = null;
  /** Terminal mode: where graceful stands in its terminal; null when the child has its own session. */
  #job: TerminalJob | null = null;
  #caughtInterrupt = false;
  readonly #timers: Timers;
  // Only with --ready: an abort() makes a DOMException, with its stack, on every run.
  #probe: AbortController | null = null;
  #atStopQueued = false;
  readonly #descendants = new Descendants();
  #finish!: (status: number) => void;
  readonly #finished = new Promise<number>((resolve) => (this.#finish = resolve));

  #reapedBefore = 0;
  /** After an internal error: the machine is not trusted any more, graceful is exiting. */
  #broken = false;
  /** The latest scan found the tree empty (at the main exit, or the end of draining). */
  #treeEmpty = false;

  /**
   * @param env variables added to the child's environment (graceful check's private TMPDIR)
   * @param steps print a line per step off a terminal (graceful check prints its checklist instead)
   */
  constructor(
    readonly options: RunOptions,
    private readonly hooks: Hooks = {},
    private readonly env: Record<string, string> = {},
    steps = true,
  ) {
    this.ui = new Ui({ ...options, steps }, this.clock.now);
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
  async start(): Promise<Outcome> {
    const { options } = this;
    const reaping = startReaper({ subreaper: options.subreaper });
    this.#reaper = reaping.reaper;
    this.#reapedBefore = this.#reaper?.reaped ?? 0;
    if (reaping.problem && process.pid === 1) {
      this.ui.warn(`as PID 1, graceful cannot reap orphaned processes here: ${reaping.problem}; they will stay zombies`);
    } else if (reaping.problem && options.verbose) {
      this.ui.info(`no child subreaper: ${reaping.problem}; a double-forked daemon can escape the stop`);
    }
    // Terminal mode or a session of its own, decided once, before the spawn (terminal.ts).
    const job = options.terminal ? terminalJob() : null;
    this.#job = job;
    // Handlers first: a signal that arrives between the spawn and the handlers would
    // otherwise kill graceful and orphan the child.
    installTrap((event) => this.dispatch(event), this.clock.now, {
      interactive: options.interactive,
      delivered: (signal) => job !== null && reachesJob(signal, job),
    });
    this.#spawn({ ...this.env, ...this.#openNotify() });
    // In terminal mode the child may be stopped by job control; graceful follows it.
    if (job) process.on('SIGCHLD', this.#onChildChange);
    const warm = setTimeout(() => this.#warmUp(), WARM_UP_AFTER_MS);
    warm.unref();
    const status = await this.#finished;
    clearTimeout(warm);
    return this.#cleanUp(status);
  }

  /** Asks the child to stop, for a reason of graceful's own ('check'). */
  stop(trigger: string): void {
    this.dispatch({ type: 'stop', at: this.clock.now(), trigger });
  }

  // Advances the machine by one event and carries out what it decided.
  dispatch(event: Event): void {
    if (this.#broken) return;
    try {
      const prev = this.#state;
      const next = step(prev, event, this.options.policy);
      this.#state = next.state;
      this.ui.step(prev, event, this.#state, next.actions);
      for (const action of next.actions) this.#perform(action);
      // When the stop signal went to the main process only, look at the tree too: after the
      // signal, not before (a scan must not delay it), and not at once (nor compete with the
      // child for the CPU as it starts its shutdown; see Tree.signalAll).
      if (this.#state.facts.stop && this.#tree && !this.#atStopQueued) {
        this.#atStopQueued = true;
        const tree = this.#tree;
        tree.whenScanned((members) => this.#descendants.atStop(tree, this.pid, members));
      }
      if (this.#probe && (this.#state.facts.stop || this.#state.facts.readyAt !== null)) this.#probe.abort();
      if (prev.facts.readyAt === null && this.#state.facts.readyAt !== null) this.hooks.ready?.();
    } catch (error) {
      // A bug in graceful. The child is in its own session and would outlive graceful
      // unnoticed: ask its tree to stop (no SIGKILL: it may still clean up), then exit.
      this.ui.error(`internal error: ${(error as Error).message}; sent SIGTERM to the child's tree (set GRACEFUL_DEBUG=1 for details)`);
      if (process.env.GRACEFUL_DEBUG) this.ui.error(String((error as Error).stack));
      this.#tree?.signalAll('SIGTERM');
      this.#tree?.signalAll('SIGCONT');
      this.#tree?.flush();
      this.#broken = true;
      void drained(1000).then(async (flushed) => {
        if (!flushed) (await import('./ffi.js')).hardExit(EXIT.internal);
        process.exit(EXIT.internal);
      });
    }
  }

  // The first stop used to pay for compiling the machine's stop path, ~1 ms between the
  // signal and kill(). The code cache (bin/graceful.js) now holds that bytecode; what is
  // left cold is V8's inline caches: run the machine once on a throwaway state, while the
  // child runs and nothing waits on graceful. Not a /proc scan: it kept graceful busy for
  // 1-3 ms just when a fast child's first signal could arrive (the bench's p99).
  #warmUp(): void {
    if (this.#state.phase.kind !== 'running') return;
    const { policy } = this.options;
    let s = initialState(this.options.command, 0);
    const events: Event[] = [
      { type: 'started', at: 1, pid: 2 },
      { type: 'stop-requested', at: 2, signal: 'SIGTERM' },
      { type: 'stop-requested', at: 500, signal: 'SIGINT' },
      { type: 'child-exited', at: 501, code: null, signal: 'SIGKILL', signo: 9, survivors: 0 },
    ];
    for (const event of events) s = step(s, event, policy).state;
    summaryLine(s.facts, policy, 0);
  }

  #perform(action: Action): void {
    const now = this.clock.now;
    switch (action.type) {
      case 'send': {
        if (action.reason === 'stop' || action.reason === 'kill') this.hooks.beforeSignal?.(action.reason);
        if (action.reason === 'kill') this.#noteInterruptCaught();
        const outsideOnly = action.target === 'outside-group';
        if (action.target === 'main') this.#child?.signal(action.signal);
        else if (this.#tree && (action.reason === 'forward' || action.reason === 'suspend')) this.#tree.forward(action.signal, outsideOnly);
        else if (this.#tree) {
          const tree = this.#tree;
          const { reason } = action;
          tree.signalAll(
            action.signal,
            (members) => {
              if (reason === 'stop') this.#descendants.atStop(tree, this.pid, members);
              if (reason === 'kill') this.#descendants.killed(tree, members, this.pid);
            },
            outsideOnly,
          );
        }
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
      case 'arm':
        this.#timers.arm(action.timer, action.at, () => this.dispatch({ type: 'timer', at: now(), timer: action.timer }));
        return;
      case 'cancel':
        this.#timers.cancel(action.timer);
        return;
      case 'watch-tree':
        this.#watch ??= setInterval(() => {
          if (this.#tree?.count()) return;
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

  // --ready notify: the socket must exist before the child starts; its path goes in the
  // child's environment.
  #openNotify(): Record<string, string> {
    if (this.options.ready?.kind !== 'notify') return {};
    const now = this.clock.now;
    const socket = listenNotify({
      ready: () => this.dispatch({ type: 'ready', at: now() }),
      stopping: () => this.dispatch({ type: 'child-stopping', at: now() }),
      extend: (ms) => this.dispatch({ type: 'extend-timeout', at: now(), ms }),
    });
    if (typeof socket === 'string') {
      this.ui.warn(`${socket}; the child cannot report that it is ready, and --ready-timeout will stop it`);
      return {};
    }
    this.#notify = socket;
    return { NOTIFY_SOCKET: socket.path };
  }

  #spawn(env: Record<string, string>): void {
    const { options } = this;
    const now = this.clock.now;
    const helper = pdeathsigHelper();
    const stdio: ChildStdio = options.ready?.kind === 'log' ? 'pipe-output' : options.ready?.kind === 'ipc' ? 'ipc' : 'inherit';
    // Processes reparented to graceful are orphans of the tree, but for those Node spawned.
    const adopted = this.#reaper ? (pid: number) => !isNodeChild(pid) : null;
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
          const childless = this.#reaper ? () => this.#reaper!.childless() : undefined;
          const survivors = options.policy.killMode === 'process' ? 0 : (this.#tree?.count(childless) ?? 0);
          this.#treeEmpty = options.policy.killMode !== 'process' && survivors === 0;
          if (this.#tree && survivors > 0) this.#descendants.atMainExit(this.#tree);
          this.dispatch({ type: 'child-exited', at, code, signal, signo: signal ? signalNumber(signal) : null, survivors });
        },
      },
      {
        stdio,
        env,
        // If graceful itself is killed (SIGKILL, OOM), the kernel sends the child the stop
        // signal rather than leave it running unsupervised.
        pdeathsig: helper ? { helper, signal: options.policy.stopSignal ?? 'SIGTERM' } : null,
        terminal: this.#job !== null,
      },
    );
    const { proc } = this.#child;
    if (options.ready && proc && this.pid !== null) {
      probeReady(options.ready, { proc, signal: this.#probe!.signal }, () => this.dispatch({ type: 'ready', at: now() }));
    }
  }

  async #cleanUp(status: number): Promise<Outcome> {
    this.#timers.cancelAll();
    process.off('SIGCHLD', this.#onChildChange);
    // A child that ended within FOLLOW_UP_MS of a stop: finish what was waiting on the scan.
    this.#tree?.flush();
    this.#probe?.abort();
    if (this.#watch) clearInterval(this.#watch);
    await this.#child?.drained(DRAIN_MS);
    this.#notify?.close();
    this.#reaper?.reap();
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

  // The first call of a stop counts: the scan that follows the stop signal (one of its own
  // when the stop signal went to the main process only).
  atStop(tree: Tree, main: number | null, members: readonly ProcInfo[]): void {
    this.#atStop ??= entries(tree, members, main);
  }

  atMainExit(tree: Tree): void {
    this.#atMainExit = entries(tree, tree.lastMembers, null);
  }

  killed(tree: Tree, members: readonly ProcInfo[], main: number | null): void {
    for (const e of entries(tree, members, main)) this.#killed.set(e.pid, e);
  }

  leaked(tree: Tree): void {
    this.#leaked = entries(tree, tree.members(), null);
  }

  report(): ReportExtras['descendants'] {
    return { atStop: this.#atStop, atMainExit: this.#atMainExit, killed: [...this.#killed.values()], leaked: this.#leaked };
  }
}

function entries(tree: Tree, members: readonly ProcInfo[], main: number | null): ProcessEntry[] {
  return members.filter((p) => p.pid !== main).map((p) => ({ pid: p.pid, command: tree.command(p.pid) }));
}
