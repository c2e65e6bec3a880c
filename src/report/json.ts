// The machine-readable report (--report-file): the same facts and timeline as the summary
// line, versioned (report/files.ts writes it, atomically).
import { appOutlived, exitStatus, timeline, type Verdict } from '../core/timeline.js';
import type { AppPhase, Facts, KillMode, KillReason, SignalName, StopTrigger } from '../core/types.js';
import type { PresetName } from '../config/presets.js';
import type { RunOptions } from '../config/options.js';
import { describeReady } from '../config/readiness.js';
import type { GenerationSummary, ReloadSummary } from './generations.js';

export const REPORT_SCHEMA = 'graceful.report/v1';

// How many runs of a program a report lists (the last ones), for graceful run's restarts and
// for each program of graceful up: a PID 1 that restarts its child for months must not grow
// its report with every run. (With reloads on, core/generations.ts's KEPT bounds the
// generations the same way.)
export const REPORTED_RUNS = 100;

/** Peak RSS and CPU time of the tree, as the monitor measured them (--max-memory, --stats). */
export interface ResourceStats {
  /** The largest RSS of the whole tree at one sample, bytes. */
  peakRssBytes: number;
  /** CPU time (user + system) of the tree's processes, as last seen, ms. */
  cpuMs: number;
  samples: number;
  intervalMs: number;
}

/** A process, as the report names it. */
export interface ProcessEntry {
  pid: number;
  command: string;
}

/** What the shell saw besides the machine's facts. */
export interface ReportExtras {
  descendants: {
    /** The main process's descendants when the stop began (null: no stop). */
    atStop: ProcessEntry[] | null;
    /** Descendants still alive when the main process exited. */
    atMainExit: ProcessEntry[];
    /** Behind a launcher: what was still alive when the app it started exited (null: no app, or it did not exit). */
    atAppExit: ProcessEntry[] | null;
    /** Descendants the kill signal was sent to. */
    killed: ProcessEntry[];
    /** Descendants still alive when graceful exited. */
    leaked: ProcessEntry[];
  };
  /** Orphan reaping: null when graceful neither is PID 1 nor a child subreaper. */
  reaper: { pid1: boolean; reaped: number } | null;
  /** Peak RSS and CPU time of the tree, when the monitor ran (--max-memory, --stats). */
  stats?: ResourceStats | null;
  /** Every run of the child, oldest first, when graceful restarted it (else just this one). */
  runs?: RunSummary[];
  /** Earlier runs not listed in `runs`. */
  runsOmitted?: number;
  /** Why graceful stopped restarting, with --restart. */
  restart?: { mode: string; restarts: number; gaveUp: boolean; why: string } | null;
  /** With reloads on (--listen, --control): the held sockets, each generation and each reload. */
  reload?: ReloadReport | null;
}

/** The reloads of a run (docs/reload.md); the report's top-level fields describe the generation graceful exited with. */
export interface ReloadReport {
  sockets: { name: string; address: string }[];
  /** How many instances the program ran at the end (--instances). */
  instances: number;
  /** Oldest first; the last 100 that ended, and those alive at the end. */
  generations: GenerationSummary[];
  reloads: ReloadSummary[];
  /** Generations and reloads not listed (a long-lived graceful). */
  omitted: { generations: number; reloads: number };
}

/** One run of the child, in the report's `runs`. */
export interface RunSummary {
  pid: number | null;
  startedAt: string;
  endedAt: string | null;
  uptimeMs: number | null;
  exit: { code: number | null; signal: string | null } | null;
  trigger: string | null;
  exitStatus: number;
  verdict: Verdict;
}

// One run, for the report's `runs`.
export function summarizeRun(facts: Facts, policy: RunOptions['policy'], wall: (at: number) => number): RunSummary {
  const tl = timeline(facts, policy);
  return {
    pid: facts.pid,
    startedAt: new Date(wall(facts.startedAt ?? facts.spawnAt)).toISOString(),
    endedAt: facts.exit ? new Date(wall(facts.exit.at)).toISOString() : null,
    uptimeMs: tl.uptimeMs,
    exit: facts.exit && { code: facts.exit.code, signal: facts.exit.signal },
    trigger: facts.stop?.trigger ?? null,
    exitStatus: exitStatus(facts, policy),
    verdict: tl.verdict,
  };
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  command: readonly string[];
  pid: number | null;
  startedAt: string;
  policy: {
    timeoutMs: number;
    stopSignal: SignalName | null;
    killSignal: SignalName;
    kill: boolean;
    killMode: KillMode;
    sigcont: boolean;
    preStop: string | null;
    stopDelayMs: number;
    /** --stop-delay auto's bounds; null for a fixed delay. */
    stopDelayAuto: { floorMs: number; quietMs: number; capMs: number } | null;
    successExitStatus: (number | string)[];
    preset: PresetName | null;
  };
  ready: null | {
    probe: string;
    /** From the spawn to ready; null if it never was. */
    afterMs: number | null;
    timeoutMs: number | null;
  };
  stop: null | {
    trigger: StopTrigger;
    requestedAt: string;
    preStop: null | {
      command: string;
      durationMs: number | null;
      exitCode: number | null;
      signal: SignalName | null;
      error: string | null;
      cancelled: boolean;
    };
    signal: SignalName | null;
    signalSentAfterMs: number | null;
    sigcontSent: boolean;
    graceMs: number | null;
    repeats: number;
    escalated: boolean;
    forced: boolean;
    /** Why the kill signal went out: deadline, second-signal, main-exited (kill mode mixed), app-exited. */
    killReason: KillReason | null;
    killSignal: SignalName | null;
    /**
     * --stop-delay auto: the new connections and requests that reached the program after the
     * stop request, when the last one came (after the request), and whether graceful could watch.
     */
    traffic: { arrivals: number; lastArrivalAfterMs: number | null; watched: boolean } | null;
    killSentAfterMs: number | null;
    treeGoneAfterMs: number | null;
  };
  exit: null | {
    code: number | null;
    signal: string | null;
    shutdownMs: number | null;
    uptimeMs: number | null;
  };
  forwarded: Partial<Record<SignalName, number>>;
  /** The program behind a launcher main process (npm start -> node server.js), when graceful found one. */
  app: null | {
    pid: number;
    command: string;
    exit: { code: number | null; signal: string | null; known: boolean } | null;
    /** From the stop request to its exit (null: it did not exit, or no stop). */
    exitAfterMs: number | null;
    /** From the stop request to graceful's own stop signal to it (its launcher did not pass it on). */
    signalSentAfterMs: number | null;
    /** Did it outlive its launcher? Then the verdict and exit status are its own. */
    outlivedLauncher: boolean;
  };
  /**
   * What a program using graceful-supervisor/app reported on the status channel, in order: each phase
   * (docs/app-protocol.md) with the pid that said it and when it arrived, after the spawn and
   * after the stop request (null before one).
   */
  phases: ({ pid: number | null; afterStartMs: number; afterStopMs: number | null } & AppPhase)[];
  descendants: ReportExtras['descendants'];
  reaper: ReportExtras['reaper'];
  stats: ResourceStats | null;
  runs: RunSummary[];
  runsOmitted: number;
  restart: NonNullable<ReportExtras['restart']> | null;
  reload: ReloadReport | null;
  exitStatus: number;
  verdict: Verdict;
  error: string | null;
}

// Builds the report; `wall` converts monotonic times to epoch milliseconds.
export function buildReport(
  facts: Facts,
  options: RunOptions,
  status: number,
  wall: (at: number) => number,
  extras: ReportExtras,
): Report {
  const { policy, preset } = options;
  const tl = timeline(facts, policy);
  // The environment is not copied into reports (they travel: CI artifacts, tickets): a
  // pre-stop command set through GRACEFUL_PRE_STOP is named, not quoted.
  const preStopCommand = options.secretFromEnv.preStop ? `(from ${options.secretFromEnv.preStop})` : policy.preStop;
  const iso = (at: number) => new Date(wall(at)).toISOString();
  const { stop, exit } = facts;
  return {
    schema: REPORT_SCHEMA,
    command: facts.command,
    pid: facts.pid,
    startedAt: iso(facts.startedAt ?? facts.spawnAt),
    policy: {
      timeoutMs: policy.timeoutMs,
      stopSignal: policy.stopSignal,
      killSignal: policy.killSignal,
      kill: policy.kill,
      killMode: policy.killMode,
      sigcont: policy.sigcont,
      preStop: preStopCommand,
      stopDelayMs: policy.stopDelayMs,
      stopDelayAuto: policy.stopDelayAuto ?? null,
      successExitStatus: [0, ...policy.success.codes.filter((c) => c !== 0), ...policy.success.signals],
      preset,
    },
    ready: options.ready && { probe: describeReady(options.ready), afterMs: tl.readyMs, timeoutMs: policy.readyTimeoutMs },
    stop: stop && {
      trigger: stop.trigger,
      requestedAt: iso(stop.requestedAt),
      preStop: stop.preStop && {
        command: preStopCommand ?? '',
        durationMs: tl.preStopMs,
        exitCode: stop.preStop.code,
        signal: stop.preStop.signal,
        error: stop.preStop.error,
        cancelled: stop.preStop.cancelled,
      },
      signal: stop.signal,
      signalSentAfterMs: tl.signalSentAfterMs,
      sigcontSent: stop.sigcontSentAt !== null,
      graceMs: tl.graceMs,
      repeats: stop.repeats,
      escalated: tl.escalated,
      forced: stop.forced,
      killReason: stop.killReason,
      killSignal: stop.killSignal,
      traffic: stop.traffic && { arrivals: stop.traffic.arrivals, lastArrivalAfterMs: stop.traffic.lastArrivalAt === null ? null : Math.round(stop.traffic.lastArrivalAt - stop.requestedAt), watched: stop.traffic.watched },
      killSentAfterMs: tl.killSentAfterMs,
      treeGoneAfterMs: tl.treeGoneAfterMs,
    },
    exit: exit && { code: exit.code, signal: exit.signal, shutdownMs: tl.shutdownMs, uptimeMs: tl.uptimeMs },
    forwarded: facts.forwarded,
    app: facts.app && {
      pid: facts.app.pid,
      command: facts.app.command,
      exit: facts.app.exit && { code: facts.app.exit.code, signal: facts.app.exit.signal, known: facts.app.exit.known },
      exitAfterMs: stop && facts.app.exit ? Math.round(facts.app.exit.at - stop.requestedAt) : null,
      signalSentAfterMs: tl.appSignalSentAfterMs,
      outlivedLauncher: appOutlived(facts),
    },
    phases: facts.phases.map((r) => ({
      pid: r.pid,
      afterStartMs: Math.round(r.at - (facts.startedAt ?? facts.spawnAt)),
      afterStopMs: stop && r.at >= stop.requestedAt ? Math.round(r.at - stop.requestedAt) : null,
      ...r.phase,
    })),
    descendants: extras.descendants,
    reaper: extras.reaper,
    stats: extras.stats ?? null,
    runs: extras.runs ?? [summarizeRun(facts, policy, wall)],
    runsOmitted: extras.runsOmitted ?? 0,
    restart: extras.restart ?? null,
    reload: extras.reload ?? null,
    exitStatus: status,
    verdict: tl.verdict,
    error: facts.spawnError?.message ?? null,
  };
}
