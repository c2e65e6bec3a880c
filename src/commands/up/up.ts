// graceful up: several programs, started in dependency order and stopped in reverse. The
// coordinator's shell: one Supervisor per program (its own machine, grace period, tree and
// report: the one shutdown path of graceful run), the order decided by the pure layer above
// them (core/stack.ts), and what belongs to the whole process here: the signals (trapped
// once, routed to the stack), the terminal (one display: display.ts), graceful's stdout and
// stderr (each line of each program with its name: prefix.ts), the orphans nobody else can
// claim, the report. up() reads as the lifecycle: load, trap, start, wait, stop, report.
import type { Facts, StopTrigger } from '../../core/types.js';
import { initialStack, levels, startStack, stepStack, type Graph, type StackAction, type StackEvent, type StackPolicy, type StackState } from '../../core/stack.js';
import { judgeStack, type StackFact } from '../../core/stack-judge.js';
import { timeline } from '../../core/timeline.js';
import { EXIT } from '../../config/errors.js';
import { DEFAULTS } from '../../config/options.js';
import { formatDuration, formatSize } from '../../config/parse.js';
import { checklist } from '../../report/checks.js';
import { writeJson, checkOutputPath } from '../../report/files.js';
import { describeCommand, FORCE_HINT, human, humanSize, statusLine, summaryLine, timeLeft } from '../../report/human.js';
import { REPORTED_RUNS } from '../../report/json.js';
import { buildStackReport, type ProcessRun } from '../../report/stack.js';
import { systemClock } from '../../shell/clock.js';
import { startMonitor, type Monitor } from '../../shell/process/monitor.js';
import { fdStream } from '../../shell/ui/output.js';
import { environHas, isNodeChild, ownChildren } from '../../shell/process/pid1.js';
import { Lines, prefixes } from './prefix.js';
import { ProcessUi, StackUi } from './display.js';
import { Supervisor } from '../../shell/supervisor.js';
import { installTrap } from '../../shell/trap.js';
import { commandOf, readProc, scanProcs, tryKill } from '../../shell/process/tree.js';
import { loadStack, type StackEntry } from './stackfile.js';
import type { UpOptions } from './options.js';

// How long the orphans left after the last program (processes adopted by graceful that
// left their own session: no program can claim them) get to exit on the stop signal before
// the kill signal.
const ORPHAN_GRACE_MS = 2000;
// How often they are looked for meanwhile.
const ORPHAN_POLL_MS = 20;
// The variable that names, in each program's environment (and its descendants'), the
// process of the stack it belongs to.
const OWNER = 'GRACEFUL_UP_PROCESS';

/** What the shell keeps of one program. */
interface Program {
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

// Runs the stack to its end; resolves with graceful's exit status.
export async function up(options: UpOptions): Promise<number> {
  const stack = loadStack(options);
  const display = new StackUi(options);
  const clock = systemClock();
  const names = stack.entries.map((e) => e.name);
  const out = new Lines(fdStream(1));
  const err = new Lines(fdStream(2));
  let outPrefix: Record<string, string> = {};
  let errPrefix: Record<string, string> = {};
  const programs = new Map<string, Program>(stack.entries.map((entry) => [entry.name, { entry, supervisor: null, ui: null, runs: [], stopAt: null, done: Promise.resolve() }]));
  const policy: StackPolicy = { processes: stack.processes, exitWith: options.exitWith, deadlineMs: options.deadlineMs };
  const width = Math.max(...names.map((n) => n.length));
  const timers = new Map<string, NodeJS.Timeout>();
  const startedAt = clock.now();
  const order = { started: [] as { name: string; at: number }[], ready: [] as { name: string; at: number }[], stopRequested: [] as { name: string; at: number }[], ended: [] as { name: string; at: number; status: number }[] };
  let state: StackState = initialStack(policy);
  // Events raised while one is handled wait their turn (see feed()).
  const queue: StackEvent[] = [];
  let stepping = false;
  let stopBegan: number | null = null;
  let stopEnded: number | null = null;
  let checkArmed = false;
  let finish!: (status: number) => void;
  const finished = new Promise<number>((resolve) => (finish = resolve));

  // ---- the signals: trapped once, for the whole stack.
  installTrap(
    (event) => {
      if (event.type === 'stop-requested') return feed({ type: 'stop-requested', at: event.at, signal: event.signal });
      const live = [...programs.values()].filter((p) => p.supervisor !== null);
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
    clock.now,
    { interactive: false, delivered: () => false },
  );
  for (const warning of stack.warnings) display.warn(null, warning);
  for (const e of stack.entries) for (const w of e.run.warnings) display.warn(null, w);
  checkOutputPath('--report-file', options.reportFile, { error: (t) => display.error(null, t) });
  const colors = await display.colors();
  outPrefix = prefixes(names, colors.out).out;
  errPrefix = prefixes(names, colors.err).err;

  // ---- the stack's steps. Events raised while one is handled (a spawn reports at once)
  // wait their turn: each step sees the state the previous one left.
  function feed(event: StackEvent): void {
    queue.push(event);
    if (stepping) return;
    stepping = true;
    try {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const prev = state;
        const result = stepStack(state, next, policy);
        state = result.state;
        // The actions first, the words after: a stop signal does not wait for a line.
        for (const action of result.actions) perform(action, next.at);
        narrate(prev, next, state, result.actions);
        maybeCheck();
      }
    } catch (error) {
      broken(error);
    } finally {
      stepping = false;
    }
  }

  // A bug in graceful: the stack's order is not trusted any more. Each program is asked to
  // stop through its own supervisor (which still kills it at its deadline), then graceful
  // exits with the internal error's status.
  function broken(error: unknown): void {
    if (state.phase.kind === 'done' && state.phase.status === EXIT.internal) return;
    display.error(null, `internal error: ${(error as Error)?.message ?? String(error)}; stopping every process (set GRACEFUL_DEBUG=1 for details)`);
    if (process.env.GRACEFUL_DEBUG) display.error(null, String((error as Error)?.stack));
    const live = [...programs.values()].filter((p) => p.supervisor && !p.supervisor.state.facts.exit);
    void Promise.all(live.map((p) => (p.supervisor!.stop('stack'), p.done))).then(() => finish(EXIT.internal));
    state = { ...state, phase: { kind: 'done', status: EXIT.internal } };
  }

  function perform(action: StackAction, at: number): void {
    switch (action.type) {
      case 'start':
        return launch(programs.get(action.name)!);
      case 'stop': {
        const p = programs.get(action.name)!;
        p.stopAt = at;
        order.stopRequested.push({ name: action.name, at });
        const sup = p.supervisor!;
        if (action.graceMs !== null) sup.capGrace(action.graceMs);
        if (action.trigger === 'check' || action.trigger === 'stack') sup.stop(action.trigger);
        else sup.dispatch({ type: 'stop-requested', at: clock.now(), signal: action.trigger });
        return;
      }
      case 'force':
        programs.get(action.name)!.supervisor?.dispatch({ type: 'force', at: clock.now(), signal: action.signal });
        return;
      case 'arm':
        timers.set(action.name, setTimeout(() => feed({ type: 'timer', at: clock.now(), name: action.name }), Math.max(0, action.at - clock.now())));
        return;
      case 'cancel':
        clearTimeout(timers.get(action.name));
        timers.delete(action.name);
        return;
      case 'exit':
        stopEnded = clock.now();
        display.close();
        finish(action.status);
        return;
    }
  }

  // One program's run: a supervisor of its own (run's whole stop sequence), its output
  // through the stack's prefixes, its lines through the stack's display.
  function launch(p: Program): void {
    const { entry } = p;
    const { lifecycle } = entry.run;
    const ui = new ProcessUi(display, entry.name, { quiet: options.quiet, verbose: options.verbose, policy: entry.run.policy }, clock.now, () => display.update());
    let monitor: Monitor | null = null;
    const supervisor: Supervisor = new Supervisor(
      entry.run,
      {
        started: (pid) => {
          order.started.push({ name: entry.name, at: clock.now() });
          feed({ type: 'started', at: clock.now(), name: entry.name });
          if (lifecycle.maxMemory === null && !lifecycle.stats) return;
          monitor = startMonitor(pid, supervisor.tree!, lifecycle.monitorIntervalMs, lifecycle.maxMemory, (rss) => {
            ui.info(`${describeCommand(entry.run.command)} (pid ${pid}) and its tree use ${humanSize(rss)}, over max_memory ${formatSize(lifecycle.maxMemory!)}`);
            supervisor.stop('memory-limit');
          });
        },
        ready: () => {
          order.ready.push({ name: entry.name, at: clock.now() });
          feed({ type: 'ready', at: clock.now(), name: entry.name });
        },
      },
      {
        trap: false,
        // Inherited by everything it starts: how an orphan it leaves is known to be its own.
        env: { ...entry.env, [OWNER]: entry.name },
        cwd: entry.cwd ?? undefined,
        relay: { stdout: out.stream(outPrefix[entry.name]!), stderr: err.stream(errPrefix[entry.name]!) },
        ui,
        owns: (pid) => environHas(pid, `${OWNER}=${entry.name}`),
        // No listing of each tree before its stop signal (run does it for its report): a
        // /proc scan per process, made one after the other, would hold back the stop signal
        // of the processes that stop together (measured: 6 ms each on a 2-core machine).
        observe: false,
      },
    );
    p.supervisor = supervisor;
    p.ui = ui;
    p.stopAt = null;
    p.done = supervisor.start().then((outcome) => {
      const stats = (monitor as Monitor | null)?.stop() ?? null;
      const { facts } = outcome.state;
      const endedAt = clock.now();
      p.runs.push({ facts, status: outcome.status, extras: { ...outcome.extras, stats }, wall: supervisor.clock.wall, stopAt: p.stopAt, endedAt });
      // A program restarted for months must not grow the report with every run (as run).
      if (p.runs.length > REPORTED_RUNS) p.runs.shift();
      order.ended.push({ name: entry.name, at: endedAt, status: outcome.status });
      // Its summary first, unless the stack is stopping: then the next process's stop goes
      // out first (the actions first, the words after: a level's wait is the stop's cost).
      const say = () => {
        if (facts.spawnError) display.error(entry.name, facts.spawnError.message);
        else if (!options.quiet) display.info(entry.name, summaryLine(facts, entry.run.policy, outcome.status, display.paint));
        const leaked = outcome.extras.descendants.leaked;
        if (leaked.length > 0) display.warn(entry.name, `left running: ${leaked.map((q) => `${q.command || '?'} (pid ${q.pid})`).join(', ')}`);
      };
      const stopping = state.phase.kind === 'stopping';
      if (!stopping) say();
      const trigger: StopTrigger | null = facts.stop?.trigger === 'child-exit' ? null : (facts.stop?.trigger ?? null);
      feed({ type: 'ended', at: endedAt, name: entry.name, status: outcome.status, success: outcome.status === 0, trigger, startedAt: facts.startedAt });
      if (stopping) say();
    }).catch(broken);
  }

  // The stack's own lines: what it starts, why it stops, in which order.
  function narrate(prev: StackState, event: StackEvent, next: StackState, actions: readonly StackAction[]): void {
    for (const a of actions) {
      if (a.type !== 'start') continue;
      const e = programs.get(a.name)!.entry;
      const after = e.dependsOn.map((d) => `${d.name} ${d.condition}`).join(', ');
      const again = next.procs[a.name]!.starts > 1 ? 'starting again' : 'starting';
      display.info(a.name, `${again} ${describeCommand(e.run.command)}${after ? ` (after ${after})` : ''}`);
    }
    // A restart the stack will make.
    if (event.type === 'ended') {
      const before = prev.procs[event.name]!.state;
      const now = next.procs[event.name]!.state;
      if (before.kind !== 'restarting' && now.kind === 'restarting') {
        const waits = Object.entries(next.procs).filter(([, q]) => q.bounce).map(([n]) => n);
        const dependents = waits.length > 0 ? `; ${waits.join(', ')} ${waits.length > 1 ? 'stop' : 'stops'} first and ${waits.length > 1 ? 'start' : 'starts'} again after it` : '';
        display.info(event.name, `restarting in ${human(now.due - event.at)} (restart ${next.procs[event.name]!.starts})${dependents}`);
      }
    }
    if (prev.cause === null && next.cause !== null) {
      stopBegan = event.at;
      const cause = next.cause!;
      const plan = stopPlan(next);
      const why = causeLine(cause, event.at);
      if (plan) display.info(null, `${why}: stopping the stack in reverse order: ${plan}${options.deadlineMs !== null ? `; all within ${formatDuration(options.deadlineMs)} (${options.deadlineFrom})` : ''}`);
      else display.info(null, why);
      if (next.phase.kind === 'stopping') display.live(() => liveRows());
    }
    if (prev.phase.kind === 'stopping' && next.phase.kind === 'stopping' && !prev.phase.forced && next.phase.forced) {
      const left = actions.filter((a) => a.type === 'force').map((a) => a.name);
      display.info(null, `SIGINT received again: killing what is left at once: ${left.join(', ')}`);
    }
  }

  // Why the stack stops, in a sentence.
  function causeLine(cause: NonNullable<StackState['cause']>, at: number): string {
    switch (cause.kind) {
      case 'signal':
        return `${cause.signal} received`;
      case 'check':
        return `the stack is up: graceful check stops it`;
      case 'ended': {
        const p = programs.get(cause.name)!;
        const run = p.runs[p.runs.length - 1];
        const policyOf = p.entry.run.policy;
        switch (cause.why) {
          case 'exit-with':
            return `${cause.name} ended (exit status ${cause.status}), and --exit-with ${cause.name} passes it on`;
          case 'not-ready':
            return `${cause.name} was not ready within ${human(policyOf.readyTimeoutMs ?? 0)} (ready_timeout): the start is aborted`;
          case 'not-started':
            return `${cause.name} could not be started: the start is aborted`;
          case 'gave-up':
            return `giving up on ${cause.name}: more unstable runs than its max_restarts ${p.entry.run.lifecycle.restart.maxRestarts} within ${formatDuration(p.entry.run.lifecycle.restart.windowMs)}`;
          case 'unmet':
            return `${cause.name} ended (exit status ${cause.status}) while ${cause.blocked} waited for it: the start is aborted`;
          case 'on-exit': {
            const how = run?.facts.exit?.signal ? `died of ${run.facts.exit.signal}` : `exited with code ${run?.facts.exit?.code}`;
            return `${cause.name} ${how} after ${human(at - (run?.facts.startedAt ?? at))} (on_exit: ${p.entry.onExit})`;
          }
        }
      }
    }
  }

  // "api, worker; then db; then redis": what still runs, grouped by when it can stop: first
  // what nothing running depends on, then what only those depend on, and so on.
  function stopPlan(s: StackState): string {
    const running = names.filter((n) => ['running', 'stopping'].includes(s.procs[n]!.state.kind));
    const dependents = (n: string) => stack.entries.filter((e) => running.includes(e.name) && e.dependsOn.some((d) => d.name === n)).map((e) => e.name);
    const below: Graph = { names: running, deps: dependents };
    return levels(below).map((level) => level.join(', ')).join('; then ');
  }

  // The live area while the stack stops: a header, then one row per program.
  function liveRows(): string[] {
    const now = clock.now();
    const phase = state.phase;
    const head =
      phase.kind === 'stopping'
        ? `stopping the stack (${phase.cause.kind === 'signal' ? `${phase.cause.signal} received` : phase.cause.kind === 'check' ? 'graceful check' : `${phase.cause.name} ended`}): ${human(now - phase.requestedAt)}${phase.deadline !== null ? `, ${timeLeft(phase.deadline, now)} of the deadline` : ''}${phase.forced ? ', killing' : `, ${FORCE_HINT}`}`
        : 'stopped';
    const rows = [head];
    for (const name of names) {
      const p = programs.get(name)!;
      const st = state.procs[name]!.state;
      let what: string;
      if (st.kind === 'ended') {
        const run = p.runs[p.runs.length - 1];
        const tl = run ? timeline(run.facts, p.entry.run.policy) : null;
        what = run && tl ? `${tl.shutdownMs !== null ? `stopped in ${human(tl.shutdownMs)}` : 'ended'} [${tl.verdict}]` : 'not started';
      } else if (st.kind === 'stopping') {
        // The header says what a second Ctrl+C does, once for the whole stack.
        const s = p.supervisor && p.ui?.state ? statusLine(p.ui.state, p.entry.run.policy, now, false) : null;
        what = s ? s.what : 'stopping';
      } else if (st.kind === 'running') {
        const waits = stack.entries.filter((e) => e.dependsOn.some((d) => d.name === name) && ['running', 'stopping'].includes(state.procs[e.name]!.state.kind)).map((e) => e.name);
        what = `running; stops after ${waits.join(', ')}`;
      } else what = 'not started';
      rows.push(`${name.padEnd(width)}  ${what}`);
    }
    return rows;
  }

  // graceful check: once every program is up (ready where it has a probe), stop the stack.
  function maybeCheck(): void {
    if (!options.check || checkArmed || state.phase.kind !== 'up') return;
    const up = stack.entries.every((e) => {
      const st = state.procs[e.name]!.state;
      if (st.kind === 'ended') return st.success;
      return st.kind === 'running' && st.startedAt !== null && (e.run.ready === null || st.readyAt !== null);
    });
    if (!up) return;
    checkArmed = true;
    // Without a probe, "up" is only "spawned": give such programs a moment, as check's --after.
    const settle = stack.entries.some((e) => e.run.ready === null) ? DEFAULTS.afterMs : 0;
    setTimeout(() => feed({ type: 'check', at: clock.now() }), settle);
  }

  // ---- the lifecycle.
  // A stop that came before anything started (the signals are trapped first) ends it here.
  if (state.phase.kind !== 'done') {
    display.info(null, `${stack.file}: ${names.length} process${names.length > 1 ? 'es' : ''}, started in order: ${levels(stack.graph).map((l) => l.join(', ')).join('; then ')}`);
    const first = startStack(policy, clock.now());
    narrate(state, { type: 'timer', at: clock.now(), name: '' }, first.state, first.actions);
    state = first.state;
    stepping = true;
    try {
      for (const action of first.actions) perform(action, clock.now());
    } finally {
      stepping = false;
    }
    if (queue.length > 0) feed(queue.shift()!);
  }
  let status = await finished;
  for (const t of timers.values()) clearTimeout(t);

  // Orphans that left their program's session are adopted by graceful (subreaper, PID 1):
  // none can be told to be one program's, so they are stopped after the last one.
  // Those of a program with kill_mode process were left alone on purpose, as run leaves them.
  const spared = stack.entries.filter((e) => e.run.policy.killMode === 'process').map((e) => `${OWNER}=${e.name}`);
  const orphans = await stopOrphans(clock.now, (pid) => spared.some((entry) => environHas(pid, entry)));
  if (orphans.length > 0) display.warn(null, `stopped after the stack: ${orphans.map((o) => `${o.command} (pid ${o.pid})`).join(', ')}, left by its programs outside their sessions`);

  const took = stopBegan !== null && stopEnded !== null ? ` in ${human(stopEnded - stopBegan)}` : '';
  const stopped = [...state.stopOrder];
  if (options.check) {
    const facts = stack.entries.map((e) => stackFact(programs.get(e.name)!));
    const checks = judgeStack(facts, stopBegan !== null ? { requestedAt: stopBegan, endedAt: stopEnded ?? clock.now(), deadlineMs: options.deadlineMs } : null);
    for (const line of checklist(checks, display.paint)) display.info(null, line.trimStart());
    const ok = checks.every((c) => c.ok !== false) && state.cause?.kind === 'check';
    const failed = checks.filter((c) => c.ok === false).map((c) => c.name);
    const cameUp = state.cause?.kind === 'check';
    const why = cameUp ? '' : `the stack did not come up (${state.cause ? causeLine(state.cause, stopBegan ?? 0) : 'no cause'})`;
    display.info(null, ok ? `check passed: ${checks.filter((c) => c.ok).length} checks, ${names.length} processes` : `check failed: ${[why, ...failed].filter(Boolean).join('; ')}`);
    status = ok ? EXIT.ok : EXIT.checkFailed;
  } else if (!options.quiet) {
    const what = state.cause === null ? 'every process ended on its own' : stopped.length > 0 ? `${stopped.join(', ')} in that order` : 'nothing was running';
    display.info(null, `stack ${state.cause?.kind === 'signal' || state.cause?.kind === 'check' ? 'stopped' : 'ended'}${took}: ${what}; exit status ${status}`);
  }
  if (options.reportFile !== null) {
    const report = buildStackReport({
      file: stack.file,
      startedAt,
      wall: clock.wall,
      programs: stack.entries.map((e) => ({ name: e.name, run: e.run, dependsOn: e.dependsOn, runs: programs.get(e.name)!.runs })),
      order,
      stop: stopBegan !== null ? { cause: state.cause!, requestedAt: stopBegan, endedAt: stopEnded ?? clock.now(), deadlineMs: policy.deadlineMs } : null,
      status,
    });
    writeJson('--report-file', options.reportFile, report, { error: (t) => display.error(null, t) });
  }
  return status;

  // One program's facts for the stack check.
  function stackFact(p: Program): StackFact {
    const run = p.runs[p.runs.length - 1];
    const f: Facts | null = run?.facts ?? null;
    const tl = f ? timeline(f, p.entry.run.policy) : null;
    return {
      name: p.entry.name,
      dependsOn: p.entry.dependsOn,
      startedAt: f?.startedAt ?? null,
      readyAt: f?.readyAt ?? null,
      stopAt: run?.stopAt ?? null,
      exitAt: f?.exit?.at ?? null,
      goneAt: f ? (f.treeGoneAt ?? f.exit?.at ?? null) : null,
      verdict: tl?.verdict ?? null,
      shutdownMs: tl?.shutdownMs ?? null,
      graceMs: tl?.graceMs ?? null,
    };
  }
}

// Stops the processes adopted by graceful that no program claimed (they cleared their
// environment) or that outlived their program: the stop signal, then, after ORPHAN_GRACE_MS,
// the kill signal. Only graceful's own children can be such orphans (it is a subreaper, or
// PID 1); those Node spawned (a program, a probe) are not; `spare` keeps some.
async function stopOrphans(now: () => number, spare: (pid: number) => boolean): Promise<{ pid: number; command: string }[]> {
  const live = (pid: number) => {
    const info = readProc(pid);
    return info !== null && info.state !== 'Z' && info.ppid === process.pid;
  };
  const orphans = (): number[] => (ownChildren() ?? scanProcs().filter((p) => p.ppid === process.pid).map((p) => p.pid)).filter((pid) => !isNodeChild(pid) && live(pid) && !spare(pid));
  const found = orphans();
  if (found.length === 0) return [];
  const named = found.map((pid) => ({ pid, command: commandOf(pid) || '?' }));
  for (const pid of found) {
    tryKill(pid, 'SIGTERM');
    tryKill(pid, 'SIGCONT');
  }
  const deadline = now() + ORPHAN_GRACE_MS;
  while (orphans().length > 0 && now() < deadline) await new Promise((r) => setTimeout(r, ORPHAN_POLL_MS));
  for (const pid of orphans()) tryKill(pid, 'SIGKILL');
  return named;
}
