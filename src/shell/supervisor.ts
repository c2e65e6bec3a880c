// The imperative shell around the machine: OS events in, machine actions out. run() reads
// as the lifecycle: trap, start, wait, report.
import { accessSync, constants } from 'node:fs';
import { dirname } from 'node:path';
import { initialState, step } from '../core/machine.js';
import type { Action, Event, State } from '../core/types.js';
import { EXIT } from '../errors.js';
import type { RunOptions } from '../options.js';
import { summaryLine } from '../report/human.js';
import { buildReport, writeFileAtomic, type ProcessEntry, type ReportExtras } from '../report/json.js';
import { signalNumber } from '../signals.js';
import { spawnChild, type Child } from './child.js';
import { systemClock, Timers } from './clock.js';
import { pdeathsigHelper, startReaper } from './pid1.js';
import { runPreStop, type PreStop } from './prestop.js';
import { installTrap } from './trap.js';
import { Tree, type ProcInfo } from './tree.js';
import { Ui } from './ui.js';

// How often the rest of the tree is checked once the main process has exited: a /proc scan
// costs well under a millisecond on a container's few processes; 20 ms keeps the exit prompt.
const TREE_POLL_MS = 20;

// Supervises one run of the command; resolves with graceful's exit status.
export async function run(options: RunOptions): Promise<number> {
  const clock = systemClock();
  const { policy } = options;
  const ui = new Ui(options, clock.now);
  for (const warning of options.warnings) ui.warn(warning);
  checkReportPath(options.reportFile, ui);

  // Processes Node spawned and reaps itself: the reaper must leave them alone.
  const nodeChildren = new Set<number>();
  const { reaper, problem } = startReaper({ subreaper: options.subreaper, ownChild: (pid) => nodeChildren.has(pid) });
  if (problem && process.pid === 1) ui.warn(`as PID 1, graceful cannot reap orphaned processes here: ${problem}; they will stay zombies`);
  else if (problem && options.verbose) ui.info(`no child subreaper: ${problem}; a double-forked daemon can escape the stop`);
  const adopted = reaper ? (pid: number) => !nodeChildren.has(pid) : null;
  const descendants = new Descendants();
  const helper = pdeathsigHelper();

  const timers = new Timers(clock);
  let state: State = initialState(options.command, clock.now());
  let child: Child | null = null;
  let tree: Tree | null = null;
  let preStop: PreStop | null = null;
  let watch: NodeJS.Timeout | null = null;
  let finish!: (status: number) => void;
  const finished = new Promise<number>((resolve) => (finish = resolve));

  const dispatch = (event: Event): void => {
    try {
      const prev = state;
      const next = step(prev, event, policy);
      state = next.state;
      ui.step(prev, event, state, next.actions);
      for (const action of next.actions) perform(action);
      // When the stop signal went to the main process only, look at the tree now; after
      // the signal, not before: a scan must not delay it.
      if (state.facts.stop && tree) descendants.atStop(tree, state.facts.pid, null);
    } catch (error) {
      // A bug in graceful. The child is in its own session and would outlive graceful
      // unnoticed: ask its tree to stop (no SIGKILL: it may still clean up), then exit.
      ui.error(`internal error: ${(error as Error).message}; sent SIGTERM to the child's tree (set GRACEFUL_DEBUG=1 for details)`);
      if (process.env.GRACEFUL_DEBUG) ui.error(String((error as Error).stack));
      tree?.signalAll('SIGTERM');
      tree?.signalAll('SIGCONT');
      process.exit(EXIT.internal);
    }
  };

  const perform = (action: Action): void => {
    switch (action.type) {
      case 'send':
        if (action.target === 'main') child?.signal(action.signal);
        else if (tree) {
          // SIGCONT right after the stop signal reuses the scan the stop signal just made.
          const members = tree.signalAll(action.signal, action.reason !== 'sigcont');
          if (action.reason === 'stop') descendants.atStop(tree, state.facts.pid, members);
          if (action.reason === 'kill') descendants.killed(tree, members, state.facts.pid);
        }
        return;
      case 'suspend-self':
        process.kill(process.pid, 'SIGSTOP');
        return;
      case 'run-pre-stop': {
        let hook: number | null = null;
        preStop = runPreStop(
          action.command,
          child?.pid ?? null,
          (pid) => nodeChildren.add((hook = pid)),
          (r) => {
            // Reaped by Node by now: its pid may come back as an orphan's.
            if (hook !== null) nodeChildren.delete(hook);
            dispatch({ type: 'pre-stop-exited', at: clock.now(), ...r });
          },
        );
        return;
      }
      case 'cancel-pre-stop':
        preStop?.cancel();
        return;
      case 'arm':
        timers.arm(action.timer, action.at, () => dispatch({ type: 'timer', at: clock.now(), timer: action.timer }));
        return;
      case 'cancel':
        timers.cancel(action.timer);
        return;
      case 'watch-tree':
        watch ??= setInterval(() => {
          if (tree?.count()) return;
          clearInterval(watch!);
          dispatch({ type: 'tree-empty', at: clock.now() });
        }, TREE_POLL_MS);
        return;
      case 'exit':
        finish(action.status);
        return;
    }
  };

  // Handlers first: a signal that arrives between the spawn and the handlers would
  // otherwise kill graceful and orphan the child.
  installTrap(dispatch, clock.now);
  // If graceful itself is killed (SIGKILL, OOM), the kernel sends the child the stop signal
  // rather than leave it running unsupervised.
  const pdeathsig = helper ? { helper, signal: policy.stopSignal ?? 'SIGTERM' } : null;
  child = spawnChild(
    options.command,
    {
      spawned: (pid) => {
        nodeChildren.add(pid);
        tree = new Tree(pid, adopted);
        dispatch({ type: 'started', at: clock.now(), pid });
      },
      failed: (status, message) => dispatch({ type: 'spawn-failed', at: clock.now(), status, message }),
      exited: (code, signal) => {
        const at = clock.now();
        if (child?.pid) nodeChildren.delete(child.pid);
        tree?.mainGone();
        const survivors = policy.killMode === 'process' ? 0 : (tree?.count() ?? 0);
        dispatch({ type: 'child-exited', at, code, signal, signo: signal ? signalNumber(signal) : null, survivors });
      },
    },
    { pdeathsig },
  );

  const status = await finished;
  timers.cancelAll();
  if (watch) clearInterval(watch);
  reaper?.reap();
  if (tree) descendants.leaked(tree);
  ui.close();
  const extras: ReportExtras = {
    descendants: descendants.report(),
    reaper: reaper && { pid1: process.pid === 1, reaped: reaper.reaped },
  };
  report(state, status, options, ui, clock.wall, extras);
  return status;
}

function report(state: State, status: number, options: RunOptions, ui: Ui, wall: (at: number) => number, extras: ReportExtras): void {
  const { facts } = state;
  if (facts.spawnError) ui.error(facts.spawnError.message);
  else ui.info(summaryLine(facts, options.policy, status, ui.paint));
  const leaked = extras.descendants.leaked;
  if (leaked.length > 0 && options.policy.killMode !== 'process') {
    ui.warn(`left running: ${leaked.map((p) => `${p.command || '?'} (pid ${p.pid})`).join(', ')}`);
  }
  if (options.reportFile === null) return;
  try {
    const data = buildReport(facts, options.policy, status, wall, options.preset, extras);
    writeFileAtomic(options.reportFile, `${JSON.stringify(data, null, 2)}\n`);
  } catch (error) {
    ui.error(`--report-file ${options.reportFile}: the report could not be written: ${(error as Error).message}`);
  }
}

// Says at start, not only at the end, that the report cannot be written: the run goes on.
function checkReportPath(path: string | null, ui: Ui): void {
  if (path === null) return;
  try {
    accessSync(dirname(path), constants.W_OK);
  } catch (error) {
    ui.error(`--report-file ${path}: its directory is not writable (${(error as NodeJS.ErrnoException).code}); the run goes on without a report`);
  }
}

// What graceful saw of the child's descendants (the main process excluded), for the report:
// when the stop began, when the kill signal went out, and still alive when graceful exits.
class Descendants {
  #atStop: ProcessEntry[] | null = null;
  readonly #killed = new Map<number, ProcessEntry>();
  #leaked: ProcessEntry[] = [];

  // The first call of a stop counts: the scan made by the stop signal itself, or a scan of
  // its own when the stop signal went to the main process only.
  atStop(tree: Tree, main: number | null, members: readonly ProcInfo[] | null): void {
    this.#atStop ??= entries(tree, members ?? tree.members(), main);
  }

  killed(tree: Tree, members: readonly ProcInfo[], main: number | null): void {
    for (const e of entries(tree, members, main)) this.#killed.set(e.pid, e);
  }

  leaked(tree: Tree): void {
    this.#leaked = entries(tree, tree.members(), null);
  }

  report(): ReportExtras['descendants'] {
    return { atStop: this.#atStop, killed: [...this.#killed.values()], leaked: this.#leaked };
  }
}

function entries(tree: Tree, members: readonly ProcInfo[], main: number | null): ProcessEntry[] {
  return members.filter((p) => p.pid !== main).map((p) => ({ pid: p.pid, command: tree.command(p.pid) }));
}
