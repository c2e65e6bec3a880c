// graceful run: supervise the child to the end; with --restart, start it again as the
// policy says (core/restart.ts); then say what happened, on stderr and in the JSON report.
// Every stop, whatever its trigger (a signal, --max-memory), goes through the supervisor's
// one shutdown sequence.
import { decide, isUnstable, restartReason, retain, type RunRecord } from '../../core/restart.js';
import type { Facts, State, StopSignal } from '../../core/types.js';
import { EXIT } from '../../config/errors.js';
import type { RunOptions } from '../../config/options.js';
import { formatDuration, formatSize } from '../../config/parse.js';
import { describeCommand, human, humanSize, interactiveHint, restartEndWhy, summaryFields, summaryLine } from '../../report/human.js';
import { checkOutputPath, writeJson } from '../../report/files.js';
import { buildReport, REPORTED_RUNS, summarizeRun } from '../../report/json.js';
import type { Endpoint, Health, Readings } from '../../shell/probes/health.js';
import { reapedSoFar } from '../../shell/process/pid1.js';
import { Ui } from '../../shell/ui/display.js';
import { startMonitor, type Monitor, type ResourceStats } from '../../shell/process/monitor.js';
import { Supervisor, type RunOutcome } from '../../shell/supervisor.js';
import { Trap } from '../../shell/trap.js';
import { systemClock } from '../../shell/clock.js';
import type { Manager } from '../../shell/sockets/manager.js';
import { say } from '../../shell/ui/output.js';

/** A run's facts, with its clock's way to wall-clock time. */
interface RunFacts {
  facts: Facts;
  wall: (at: number) => number;
}

/** The runs so far: the last REPORTED_RUNS runs' facts, and how many there were. */
interface Runs {
  kept: RunFacts[];
  done: number;
}

/** How the last run went, and what graceful says of the restarts: what finishRun() tells. */
interface Ending {
  outcome: RunOutcome;
  ui: Ui;
  wall: (at: number) => number;
  stats: ResourceStats | null;
  restarts: number;
  /** Why graceful did not restart it (null without --restart, or when it never started). */
  why: { gaveUp: boolean; why: string } | null;
}

// Supervises the command (and its restarts); resolves with graceful's exit status.
export async function run(options: RunOptions): Promise<number> {
  // Reloads on (--listen, --control): generations under a coordinator, loaded only then.
  if (options.reload) return (await import('./generations.js')).runGenerations(options);
  const { restart } = options.lifecycle;
  // A service manager above graceful (systemd's Type=notify): told what the program does.
  // Its module is loaded only then; without NOTIFY_SOCKET this costs one look at the variable.
  const manager = process.env.NOTIFY_SOCKET !== undefined ? await serviceManager(options) : null;
  // The process's signal handlers: each run's supervisor, then each restart delay, in turn.
  const trap = new Trap(systemClock().now);
  let history: RunRecord[] = [];
  // The runs' facts, for the report: summarised (ISO times: V8 loads the time zone for that,
  // ~0.2 ms) only when a report is written, not on every run's exit path.
  const runs: Runs = { kept: [], done: 0 };
  let current: Supervisor | null = null;
  let waiting = false;
  const health = await startHealth(options, {
    health: () => healthOf(current, waiting, runs.done, options),
    now: () => ({ running: [{ labels: {}, value: runningNow(current, waiting) }], orphansReaped: reapedSoFar() }),
  });
  if (health === 'failed') return EXIT.usage;
  // Traces, when the OpenTelemetry environment names an endpoint (loaded only then).
  const late: string[] = [];
  const tracer = tracesWanted(process.env) ? (await import('../../shell/telemetry/otlp.js')).startTracing(process.env, (t) => (current ? current.ui.warn(t) : late.push(t))) : null;
  const finish = async (ending: Ending, summarized = false): Promise<number> => {
    const status = finishRun(options, ending, runs, summarized);
    // The last run's spans are on their way: graceful waits for them (each bounded by OTEL_EXPORTER_OTLP_TIMEOUT).
    await tracer?.flush();
    // The stop that ends graceful, seen by one more scrape (--final-scrape).
    await health?.finalScrape(options.lifecycle.finalScrapeMs);
    health?.close();
    manager?.link.close();
    return status;
  };

  for (let round = 1; ; round++) {
    const trace = tracer?.newRun() ?? null;
    const { supervisor, stopMonitor } = superviseOnce(options, trap, health, manager, trace ? tracer!.env(trace) : undefined);
    current = supervisor;
    const { ui } = supervisor;
    if (round === 1) {
      for (const warning of [...options.warnings, ...late]) ui.warn(warning);
      checkOutputPath('--report-file', options.reportFile, ui);
    }
    const outcome = await supervisor.start();
    runs.done = round;
    const stats = stopMonitor();
    const { facts } = outcome.state;
    const wall = supervisor.clock.wall;
    runs.kept.push({ facts, wall });
    if (runs.kept.length > REPORTED_RUNS) runs.kept.shift();
    const ending = { outcome, ui, wall, stats, restarts: round - 1 };
    health?.metrics.runEnded(facts, options.policy);
    if (trace) tracer!.runEnded(trace, facts, options.policy, outcome.status, wall);
    if (facts.spawnError) return finish({ ...ending, why: null });

    // Restart, or not: core/restart.ts decides from the history.
    const record = recordOf(outcome, supervisor.clock.now);
    history.push(record);
    const decision = decide(restart, history, supervisor.clock.now());
    history = retain(history, restart, supervisor.clock.now());
    if (decision.kind === 'stop') {
      const gaveUp = decision.reason === 'start-limit';
      const why = restartEndWhy(decision, restart, `${record.trigger} is a stop request`);
      if (gaveUp) ui.warn(`giving up: ${why}`, 'gave-up', { restarts: round - 1, why });
      return finish({ ...ending, why: restart.mode === 'no' ? null : { gaveUp, why } });
    }
    health?.metrics.restarted(restartReason(record.trigger, record.status));
    const line = restartLine(options, facts, record, decision.delayMs, round);
    manager?.link.status(line);
    ui.info(line, 'restarting', { pid: facts.pid, reason: restartReason(record.trigger, record.status), exitCode: facts.exit?.code ?? null, exitSignal: facts.exit?.signal ?? null, uptimeMs: Math.round(record.endedAt - record.startedAt), delayMs: Math.round(decision.delayMs), restart: round });
    waiting = true;
    const stopped = await restartDelay(decision.delayMs, trap, options.interactive);
    waiting = false;
    if (stopped) {
      // A stop request during the delay is final: no new child; graceful exits at once.
      ui.info(`${stopped} received while waiting to restart: not restarting`, 'not-restarting', { trigger: stopped });
      return finish({ ...ending, why: { gaveUp: false, why: `${stopped} during the restart delay` } }, true);
    }
  }
}

// --health-port: the endpoint, answering from `read`; null without the option, 'failed' (said
// in one line) when it cannot listen.
async function startHealth(options: RunOptions, read: Readings): Promise<Endpoint | null | 'failed'> {
  const { health } = options.lifecycle;
  if (!health) return null;
  // node:http and the metrics cost start-up time: loaded only for --health-port.
  const { serveHealth } = await import('../../shell/probes/health.js');
  const served = await serveHealth(health.host, health.port, read);
  if (typeof served !== 'string') return served;
  new Ui({ ...options, program: describeCommand(options.command) }, () => 0).error(`${served}; choose another port`, 'usage-error');
  return 'failed';
}

// Traces are on when the OpenTelemetry environment names an OTLP endpoint (shell/telemetry/otlp.ts reads the rest).
export function tracesWanted(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

// 1 while the current run's main process runs, else 0 (graceful_children_running).
function runningNow(supervisor: Supervisor | null, waiting: boolean): number {
  const facts = supervisor?.state.facts;
  return !waiting && facts?.pid != null && facts.exit === null ? 1 : 0;
}

// The service manager above graceful, from NOTIFY_SOCKET (which the child then does not
// inherit); null, said in one line, when it cannot be told.
async function serviceManager(options: RunOptions): Promise<Manager | null> {
  const { openManager, ChildWatchdog } = await import('../../shell/sockets/manager.js');
  const warn = (line: string) => {
    if (!options.quiet) say(`graceful: warning: ${line}\n`);
  };
  const link = openManager(warn);
  if (typeof link === 'string') warn(link);
  if (typeof link === 'string' || !link) return null;
  return { link, readiness: options.ready ? 'ready' : 'spawn', watchChild: (ms, missed) => new ChildWatchdog(ms, missed) };
}

// One run's supervisor, with its resource monitor (--max-memory, --stats) started with the
// child: over the limit, the run is stopped through the supervisor's one shutdown sequence.
function superviseOnce(options: RunOptions, trap: Trap, health: Endpoint | null, manager: Manager | null, env?: Record<string, string>): { supervisor: Supervisor; stopMonitor: () => ResourceStats | null } {
  const { lifecycle } = options;
  let monitor: Monitor | null = null;
  const supervisor: Supervisor = new Supervisor(options, {
    ready: () => {
      const { readyAt, startedAt } = supervisor.state.facts;
      if (health && readyAt !== null && startedAt !== null) health.metrics.ready(readyAt - startedAt);
    },
    started: (pid) => {
      if (lifecycle.maxMemory === null && !lifecycle.stats) return;
      monitor = startMonitor(pid, supervisor.tree!, lifecycle.monitorIntervalMs, lifecycle.maxMemory, (rss) => {
        supervisor.ui.info(`${describeCommand(options.command)} (pid ${pid}) and its tree use ${humanSize(rss)}, over --max-memory ${formatSize(lifecycle.maxMemory!)}`, 'memory-limit', { pid, rssBytes: rss, maxMemoryBytes: lifecycle.maxMemory });
        supervisor.stop('memory-limit');
      });
    },
  }, { trap, env, manager });
  return { supervisor, stopMonitor: () => (monitor as Monitor | null)?.stop() ?? null };
}

// The run as the restart policy weighs it.
function recordOf(outcome: RunOutcome, now: () => number): RunRecord {
  const { facts } = outcome.state;
  return {
    startedAt: facts.startedAt ?? facts.spawnAt,
    endedAt: facts.exit?.at ?? now(),
    status: outcome.status,
    trigger: facts.stop?.trigger === 'child-exit' ? null : (facts.stop?.trigger ?? null),
  };
}

// "node app.js (pid 12) exited with code 1 after 1.20s; restarting in 100ms (restart 1)"
function restartLine(options: RunOptions, facts: Facts, record: RunRecord, delayMs: number, round: number): string {
  const { restart } = options.lifecycle;
  const how = facts.exit?.signal ? `died of ${facts.exit.signal}` : `exited with code ${facts.exit?.code}`;
  const cause = record.trigger === 'memory-limit' ? ' (stopped: over --max-memory)' : record.trigger === 'ready-timeout' ? ' (stopped: not ready in time)' : record.trigger === 'watchdog' ? ' (stopped: missed its watchdog)' : '';
  const unstable = isUnstable(record, restart) ? `, an unstable start (under --min-uptime ${formatDuration(restart.minUptimeMs)})` : '';
  return `${describeCommand(options.command)} (pid ${facts.pid}) ${how}${cause} after ${human(record.endedAt - record.startedAt)}${unstable}; restarting in ${human(delayMs)} (restart ${round})`;
}

// Prints the last run's summary (unless `summarized`), writes the report, returns the last
// run's status.
function finishRun(options: RunOptions, ending: Ending, runs: Runs, summarized: boolean): number {
  const { lifecycle } = options;
  const { outcome, ui, wall, stats } = ending;
  const { state, status, extras } = outcome;
  const { facts } = state;
  if (facts.spawnError) ui.error(facts.spawnError.message, 'spawn-failed', { exitStatus: facts.spawnError.status });
  // The fields only for a JSON log: worked out for a human line too, they cost the exit path
  // a second reading of the timeline, its first run on V8 (bench/analysis.md, "The summary's fields").
  else if (!summarized && !options.quiet) ui.info(summaryLine(facts, options.policy, status, ui.paint), 'summary', ui.json ? summaryFields(facts, options.policy, status) : {});
  if (outcome.caughtInterrupt) ui.info(interactiveHint(facts), 'interactive-hint', { pid: facts.pid });
  if (stats && (lifecycle.stats || options.verbose)) {
    ui.info(`resources: peak RSS ${humanSize(stats.peakRssBytes)} for the whole tree, CPU time ${human(stats.cpuMs)} (${stats.samples} samples)`, 'resources', { peakRssBytes: stats.peakRssBytes, cpuMs: Math.round(stats.cpuMs), samples: stats.samples });
  }
  // In every kill mode: with --kill-mode process they were left alone on purpose, but a
  // process nobody supervises any more must never go unmentioned.
  const leaked = extras.descendants.leaked;
  if (leaked.length > 0) {
    ui.warn(`left running: ${leaked.map((p) => `${p.command || '?'} (pid ${p.pid})`).join(', ')}`, 'left-running', { pids: leaked.map((p) => p.pid).join(' ') });
  }
  if (options.reportFile !== null) {
    const restart = ending.why && { mode: lifecycle.restart.mode, restarts: ending.restarts, ...ending.why };
    writeJson('--report-file', options.reportFile, buildReport(facts, options, status, wall, { ...extras, runs: runs.kept.map((r) => summarizeRun(r.facts, options.policy, r.wall)), runsOmitted: runs.done - runs.kept.length, stats, restart }), ui);
  }
  return status;
}

// Waits out a restart delay; resolves with the stop signal if one arrives meanwhile.
function restartDelay(ms: number, trap: Trap, interactive: boolean): Promise<StopSignal | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    trap.route(
      (event) => {
        if (event.type !== 'stop-requested') return; // nothing to forward to: no child now
        clearTimeout(timer);
        resolve(event.signal);
      },
      { interactive, delivered: () => false },
    );
  });
}

// What the health endpoint says, from the current run's machine.
function healthOf(supervisor: Supervisor | null, waiting: boolean, runsDone: number, options: RunOptions): Health {
  const state: State | null = supervisor?.state ?? null;
  const phase = state?.phase.kind ?? 'starting';
  const facts = state?.facts;
  const running = !waiting && facts?.pid != null && facts.exit === null;
  const ready = running && facts!.stop === null && (options.ready === null || facts!.readyAt !== null);
  return {
    state: waiting ? 'waiting-to-restart' : phase,
    running,
    ready,
    pid: running ? facts!.pid : null,
    uptimeMs: running && facts!.startedAt !== null ? Math.round(supervisor!.clock.now() - facts!.startedAt) : null,
    // Runs done so far: while one runs, each of them was followed by a restart; while
    // waiting, the last one is not yet.
    restarts: Math.max(0, waiting ? runsDone - 1 : runsDone),
  };
}
