// graceful check: start the program, wait until it is ready, put it under in-flight work,
// ask it to stop (through the same supervisor and shutdown sequence as graceful run), and
// grade the shutdown against the checklist of a graceful shutdown. Exit 0 if every check
// passes, 1 if any fails.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundlePath } from './bundles.js';
import { inflightRequest, sendInflight } from './stream.js';
import { judge, type InflightResult, type Observations, type ProbeAttempt } from '../../core/judge.js';
import { appOutlived } from '../../core/timeline.js';
import type { Facts, State } from '../../core/types.js';
import { parseTrace } from '../../core/trace.js';
import type { CheckOptions } from '../../config/options.js';
import { describeReady, withoutCredentials } from '../../config/readiness.js';
import { abortedRun, checklist, checkReport, junit, runPassed, semantics, verdictLine, type CheckRun } from '../../report/checks.js';
import { statusForSignal } from '../../config/signals.js';
import { EXIT } from '../../core/exit.js';
import { describeCommand, human } from '../../report/human.js';
import { checkOutputPath, writeJson, writeOutput } from '../../report/files.js';
import { buildReport } from '../../report/json.js';
import { disposition, stillListening, tcpSockets } from '../../shell/process/inspect.js';
import { say } from '../../shell/ui/output.js';
import { Supervisor } from '../../shell/supervisor.js';

// How often --probe tries a new request after the stop signal.
const PROBE_EVERY_MS = 50;
// How long a single request may take before it counts as failed.
const REQUEST_TIMEOUT_MS = 120_000;


// Runs the check --repeat times; resolves with graceful's exit status.
export async function check(options: CheckOptions): Promise<number> {
  // --reload N: the reload check (a stream of requests through N reloads), loaded only then.
  if (options.reload > 0) return (await import('./reload-check.js')).checkReloads(options);
  const runs: CheckRun[] = [];
  let lastUi: Supervisor['ui'] | null = null;
  for (let i = 1; i <= options.repeat; i++) {
    const { run, ui } = await checkOnce(options, i);
    runs.push(run);
    lastUi = ui;
    if (run.observations.aborted) break; // asked to stop: no further run
  }
  const ui = lastUi!;
  const ok = runs.every(runPassed);
  const aborted = abortedRun(runs)?.observations.aborted ?? null;
  // Interrupted: 128 + the signal's number, as a shell reports a command ended by a signal.
  const status = aborted ? statusForSignal(aborted.signal) : ok ? EXIT.ok : EXIT.checkFailed;
  const line = `graceful: ${verdictLine(runs)}${aborted ? `; exit status ${status}` : ''}`;
  say(`${ok ? ui.paint.good(line) : ui.paint.bad(line)}\n`);
  const command = options.run.command;
  if (options.run.reportFile) writeJson('--report-file', options.run.reportFile, checkReport(command, runs), ui);
  if (options.junit) writeOutput('--junit', options.junit, junit(command, runs), ui);
  return status;
}

async function checkOnce(options: CheckOptions, round: number): Promise<{ run: CheckRun; ui: Supervisor['ui'] }> {
  const { run: runOptions } = options;
  // A fresh private TMPDIR: whatever is left in it afterwards, the child left.
  const tmp = mkdtempSync(join(tmpdir(), 'graceful-check-'));
  // The preload's trace files (src/commands/check/preload.ts), one per Node process of the tree.
  const traces = mkdtempSync(join(tmpdir(), 'graceful-trace-'));
  const obs: Observations = {
    main: describeCommand(runOptions.command),
    judged: runOptions.command.join(' '),
    trace: null,
    traceMissing: null,
    readyProbe: runOptions.ready && describeReady(runOptions.ready),
    afterMs: runOptions.ready ? null : options.afterMs,
    aborted: null,
    disposition: null,
    inflight: options.inflight && { url: withoutCredentials(options.inflight.url), results: [] },
    probe: options.probe && { url: withoutCredentials(options.probe), attempts: [], inflightDoneAfterMs: null },
    tcpAtStop: null,
    tcpAtKill: null,
    survivors: [],
    leaked: [],
    tempLeft: null,
    ports: null,
    portsStillBound: null,
    maxShutdownMs: options.maxShutdownMs,
  };
  const inflight: Promise<InflightResult>[] = [];
  let signalAt: number | null = null;
  let stopping = false;
  let after: NodeJS.Timeout | null = null;

  const supervisor: Supervisor = new Supervisor(
    { ...runOptions, reportFile: null },
    {
      ready: () => void stopWhenLoaded(),
      beforeSignal: (reason) => {
        if (reason === 'stop' && signalAt === null) {
          signalAt = supervisor.clock.now();
          if (options.probe) void probeNewWork(options.probe, supervisor, () => signalAt!, obs, inflight);
        }
        if (reason === 'kill') obs.tcpAtKill = established(treePids(supervisor));
      },
      stopRequested: (signal) => {
        // A CI timeout or a cancelled job: the supervisor stops the child as graceful run
        // would; the check records that it was interrupted and starts nothing more.
        if (obs.aborted) return;
        const afterMs = Math.round(supervisor.clock.now() - supervisor.state.facts.spawnAt);
        obs.aborted = { signal, afterMs, at: new Date().toISOString() };
        stopping = true;
        if (after) clearTimeout(after);
      },
    },
    { env: { TMPDIR: tmp, ...preloadEnv(traces) }, steps: false, observe: true },
  );
  const { ui } = supervisor;
  if (round === 1) {
    for (const warning of runOptions.warnings) ui.warn(warning);
    checkOutputPath('--report-file', runOptions.reportFile, ui);
    checkOutputPath('--junit', options.junit, ui);
  }

  // Just before the stop: the in-flight work, the child's signal disposition, its sockets.
  async function stopWhenLoaded(): Promise<void> {
    if (stopping || supervisor.state.phase.kind !== 'running') return;
    stopping = true;
    if (options.inflight) {
      const { results, sent } = sendInflight(options.inflight.url, options.inflight.count, REQUEST_TIMEOUT_MS);
      inflight.push(...results);
      await sent;
      if (supervisor.state.phase.kind !== 'running') return;
    }
    // Behind a launcher (npm start), the program it started is the one judged: the one that
    // listens, if one does, else the first one it started.
    const pids = treePids(supervisor);
    const app = supervisor.findApp(undefined, (p) => (tcpSockets([p]) ?? []).some((s) => s.state === 'listen'));
    obs.disposition = disposition(app ?? supervisor.pid!, runOptions.policy.stopSignal ?? 'SIGTERM');
    const sockets = tcpSockets(pids);
    obs.tcpAtStop = sockets && sockets.filter((s) => s.state === 'established').length;
    obs.ports = sockets && [...new Set(sockets.filter((s) => s.state === 'listen').map((s) => s.port))];
    supervisor.stop('check');
  }

  const started = Date.now();
  const running = supervisor.start();
  // Without --ready: stop it --after its start (the spawn is done by now).
  after = runOptions.ready ? null : setTimeout(() => void stopWhenLoaded(), options.afterMs);
  const outcome = await running;
  if (after) clearTimeout(after);

  obs.inflight && (obs.inflight.results = await Promise.all(inflight));
  // What outlived the program: behind a launcher that did not wait, what outlived the app.
  obs.survivors = appOutlived(outcome.state.facts) ? (outcome.extras.descendants.atAppExit ?? []) : outcome.extras.descendants.atMainExit;
  obs.leaked = outcome.extras.descendants.leaked;
  obs.portsStillBound = obs.ports && stillListening(obs.ports);
  try {
    obs.tempLeft = readdirSync(tmp, { recursive: true }).map(String);
  } catch {
    obs.tempLeft = null;
  }
  rmSync(tmp, { recursive: true, force: true });
  readTrace(outcome.state.facts, traces, obs);
  if (!process.env.KEEP_TRACE) rmSync(traces, { recursive: true, force: true }); else process.stderr.write(`traces in ${traces}\n`);

  const { state, status, extras } = outcome;
  const checks = judge(state.facts, runOptions.policy, obs, human);
  const head = `check of ${describeCommand(runOptions.command)}, ${semantics(runOptions.policy.killMode)}${options.repeat > 1 ? ` (run ${round}/${options.repeat})` : ''}`;
  if (state.facts.spawnError) ui.error(state.facts.spawnError.message);
  say(`${ui.paint.dim('graceful:')} ${head}\n${checklist(checks, ui.paint).join('\n')}\n`);
  const report = buildReport(state.facts, runOptions, status, supervisor.clock.wall, extras);
  return { run: { checks, report, observations: obs, seconds: (Date.now() - started) / 1000 }, ui };
}

// The environment that loads the preload into the Node programs of the tree: the user's own
// NODE_OPTIONS first, kept as they are.
function preloadEnv(traces: string): Record<string, string> {
  const preload = bundlePath('check-preload.cjs');
  if (!existsSync(preload)) return {};
  // NODE_OPTIONS takes double quotes, with backslash escapes, around a value with spaces.
  const quoted = `"${preload.replace(/(["\\])/g, '\\$1')}"`;
  const own = process.env.NODE_OPTIONS ?? '';
  return { NODE_OPTIONS: `${own}${own ? ' ' : ''}--require ${quoted}`, GRACEFUL_CHECK_TRACE: traces };
}

// The judged program (the app behind a launcher, else the main process) and its trace.
function readTrace(facts: Facts, dir: string, obs: Observations): void {
  const pid = facts.app?.pid ?? facts.pid;
  if (pid === null) {
    obs.traceMissing = 'the program did not start';
    return;
  }
  obs.judged = facts.app?.command ?? facts.command.join(' ');
  const name = `${obs.judged.split(' ')[0]!.replace(/.*\//, '').replace(/:$/, '')} (pid ${pid})`;
  let text: string;
  try {
    text = readFileSync(join(dir, `${pid}.jsonl`), 'utf8');
  } catch {
    obs.traceMissing = `${name} is not a Node program (or it replaced NODE_OPTIONS): connections, their order and open files are observed exactly only inside Node programs, through a preload; nothing is guessed`;
    return;
  }
  obs.trace = parseTrace(text);
  if (!obs.trace) obs.traceMissing = `${name}: its trace could not be read`;
}

// Is the program still at work: the main process, or the app it started behind a launcher?
function workRunning(state: State): boolean {
  const { facts } = state;
  return state.phase.kind !== 'done' && (facts.exit === null || (facts.app !== null && facts.app.exit === null));
}

// The pids of the child's tree, the main process first.
function treePids(supervisor: Supervisor): number[] {
  const main = supervisor.pid;
  const rest = supervisor.tree?.members().map((p) => p.pid) ?? [];
  return [...new Set([...(main !== null ? [main] : []), ...rest])];
}

function established(pids: number[]): number | null {
  const sockets = tcpSockets(pids);
  return sockets && sockets.filter((s) => s.state === 'established').length;
}

// After the stop signal: new requests, PROBE_EVERY_MS apart, until the in-flight ones
// are done (or, without them, for a second) or the child has exited.
async function probeNewWork(
  url: URL,
  supervisor: Supervisor,
  signalAt: () => number,
  obs: Observations,
  inflight: Promise<InflightResult>[],
): Promise<void> {
  const probe = obs.probe!;
  let done = false;
  if (inflight.length > 0) {
    void Promise.all(inflight).then(() => {
      done = true;
      probe.inflightDoneAfterMs = Math.round(supervisor.clock.now() - signalAt());
    });
  }
  const limit = signalAt() + (inflight.length === 0 ? 1000 : REQUEST_TIMEOUT_MS);
  while (!done && workRunning(supervisor.state) && supervisor.clock.now() < limit) {
    const afterMs = Math.round(supervisor.clock.now() - signalAt());
    const { result } = inflightRequest(url, 1000);
    const r = await result;
    // 503 is the refusal a load balancer understands; another 5xx is an error served to a user.
    const outcome: ProbeAttempt['outcome'] =
      r.error === 'ECONNREFUSED' || r.status === 503 ? 'refused' : r.status !== null && r.status < 500 ? 'accepted' : 'error';
    probe.attempts.push({ afterMs, outcome, detail: r.status !== null ? `HTTP ${r.status}` : (r.error ?? '') });
    await new Promise((resolve) => setTimeout(resolve, PROBE_EVERY_MS));
  }
}
