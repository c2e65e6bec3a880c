// What graceful check observes of the program besides its supervisor's facts, around the
// stop: from its start, the audit of every process (Linux: src/shell/audit/); before the stop
// (the in-flight load, the stop signal's disposition, the sockets, the audit's snapshot),
// during it (new requests tried, the connections the kill cuts), after it (what outlived it,
// its temporary files, its ports, what the audit saw, the preload's traces). core/judge.ts
// grades them.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { InflightResult, LbRequest, Observations, ProbeAttempt } from '../../core/judge.js';
import { appOutlived } from '../../core/timeline.js';
import type { Facts, State } from '../../core/types.js';
import { parseTrace } from '../../core/trace.js';
import type { CheckOptions } from './options.js';
import { describeReady, withoutCredentials } from '../../config/readiness.js';
import { describeCommand } from '../../report/human.js';
import { disposition, stillListening, tcpSockets } from '../../shell/process/inspect.js';
import type { RunOutcome, Supervisor } from '../../shell/supervisor.js';
import { inflightRequest, sendInflight } from './stream.js';
import { listeningPorts } from '../../shell/probes/traffic.js';
import { auditUnavailable, startAudit, type AuditSession } from '../../shell/audit/audit.js';
import { servicesAt } from '../../shell/audit/services.js';
import { runtimeDir } from '../../shell/sockets/rundir.js';
import { distDir, inExecutable, SEA_AUDIT_SHIM } from './bundles.js';

// How often --probe tries a new request after the stop signal.
const PROBE_EVERY_MS = 50;
// How often --lb-lag's load balancer sends a request; how long one may take before it
// counts as failed (a load balancer's own timeout is of this order).
const LB_EVERY_MS = 50;
const LB_REQUEST_TIMEOUT_MS = 10_000;
// How long a single request may take before it counts as failed.
const REQUEST_TIMEOUT_MS = 120_000;

// What is known before the run: the command, the probe, what the check was asked to send.
export function initialObservations(options: CheckOptions): Observations {
  const { run } = options;
  return {
    main: describeCommand(run.command),
    judged: run.command.join(' '),
    trace: null,
    traceMissing: null,
    traces: [],
    audit: null,
    auditMissing: null,
    readyProbe: run.ready && describeReady(run.ready),
    afterMs: run.ready ? null : options.afterMs,
    aborted: null,
    disposition: null,
    inflight: options.inflight && { url: withoutCredentials(options.inflight.url), results: [] },
    probe: options.probe && { url: withoutCredentials(options.probe), attempts: [], inflightDoneAfterMs: null },
    lbLag: options.lbLag && { url: withoutCredentials(options.lbLag.url), lagMs: options.lbLag.ms, requests: [] },
    tcpAtStop: null,
    tcpAtKill: null,
    survivors: [],
    leaked: [],
    tempLeft: null,
    ports: null,
    portsStillBound: null,
    maxShutdownMs: options.maxShutdownMs,
  };
}

// The audit of every process of `command`, started first thing (its worker thread starts
// while graceful starts, and is up before the program's first trapped call); null where it
// cannot run here, with the one-line reason in obs.auditMissing. The supervisor spawns its
// shim in the program's place (SupervisorOptions.shim).
export function beginAudit(command: readonly string[], obs: Observations): AuditSession | null {
  const dist = distDir();
  const why = auditUnavailable(dist);
  if (why) {
    obs.auditMissing = why;
    return null;
  }
  return startAudit(command, dist, inExecutable() ? { nodeShim: [process.execPath, SEA_AUDIT_SHIM] } : {});
}

// Once the tree is gone: what the audit saw (or why it could not see), and the services
// listening at the peers it names.
export async function finishAudit(session: AuditSession | null, obs: Observations): Promise<void> {
  if (!session) return;
  const report = await session.finish(runs);
  if (report.refused) {
    obs.auditMissing = report.refused;
    return;
  }
  // graceful's own sockets (the status channel of graceful-supervisor/app) are not the program's connections.
  const own = join(runtimeDir(), `${process.pid}.`);
  for (const p of report.processes) p.outbound = p.outbound.filter((c) => !c.peer.startsWith(own));
  const peers = report.processes.flatMap((p) => p.outbound.map((c) => c.peer));
  obs.audit = { processes: report.processes, services: await servicesAt(peers) };
}

// Is `pid` alive (not a zombie)? For processes that outlived the tree's end.
function runs(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

// Just before the stop: the in-flight work (--inflight, added to `inflight`), then the
// child's signal disposition and its sockets, and the audit's snapshot of every process's
// listeners and the connections it serves; then the stop, unless the run ended meanwhile.
export async function loadThenStop(supervisor: Supervisor, options: CheckOptions, obs: Observations, inflight: Promise<InflightResult>[], audit: AuditSession | null): Promise<void> {
  if (options.inflight) {
    const { results, sent } = sendInflight(options.inflight.url, options.inflight.count, REQUEST_TIMEOUT_MS);
    // When each ends: one that ended before the stop signal was not in flight at the stop.
    inflight.push(...results.map((r) => r.then((result) => ({ ...result, endedAt: supervisor.clock.now() }))));
    await sent;
    if (supervisor.state.phase.kind !== 'running') return;
  }
  // The audit's snapshot (in its own thread) while this thread reads the rest: both are
  // taken in the tens of ms before the signal, which the in-flight requests must outlast.
  const snapshot = audit?.snapshot();
  // Behind a launcher (npm start), the program it started is the one judged: the one that
  // listens, if one does, else the first one it started.
  const pids = treePids(supervisor);
  const app = supervisor.findApp(undefined, (p) => (tcpSockets([p]) ?? []).some((s) => s.state === 'listen'));
  obs.disposition = disposition(app ?? supervisor.pid!, options.run.policy.stopSignal ?? 'SIGTERM');
  const sockets = tcpSockets(pids);
  obs.tcpAtStop = sockets && sockets.filter((s) => s.state === 'established').length;
  obs.ports = sockets && [...new Set(sockets.filter((s) => s.state === 'listen').map((s) => s.port))];
  await snapshot;
  if (supervisor.state.phase.kind !== 'running') return;
  supervisor.stop('check');
  if (options.lbLag && obs.lbLag) lbLag.push(playLoadBalancer(options.lbLag.url, options.lbLag.ms, supervisor, obs.lbLag.requests));
}

// The streams --lb-lag started, for observeAfter to wait for.
const lbLag: Promise<void>[] = [];

// --lb-lag: from the stop request, for `ms`, a request every LB_EVERY_MS, alternately on a
// kept-alive connection and a new one, as a load balancer sends until it hears of the stop;
// each one's answer in `requests`. Open loop: a slow answer does not slow the stream.
async function playLoadBalancer(url: URL, ms: number, supervisor: Supervisor, requests: LbRequest[]): Promise<void> {
  const http = process.getBuiltinModule('node:http');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const from = supervisor.clock.now();
  const pending: Promise<void>[] = [];
  // The whole lag, whatever the program does meanwhile: a load balancer that has not heard
  // keeps sending to a program that has exited too.
  for (let i = 0; supervisor.clock.now() - from < ms; i++) {
    const connection = i % 2 === 0 ? 'kept-alive' : 'new';
    const afterMs = Math.round(supervisor.clock.now() - from);
    pending.push(
      new Promise<void>((resolve) => {
        const req = http.request(url, { method: 'GET', agent: connection === 'new' ? false : agent, timeout: LB_REQUEST_TIMEOUT_MS }, (res) => {
          res.resume();
          res.once('end', () => resolve(void requests.push({ afterMs, connection, status: res.statusCode ?? null, error: null })));
          res.once('error', (e: NodeJS.ErrnoException) => resolve(void requests.push({ afterMs, connection, status: null, error: e.code ?? e.message })));
        });
        req.once('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
        req.once('error', (e: NodeJS.ErrnoException) => resolve(void requests.push({ afterMs, connection, status: null, error: e.code ?? e.message })));
        req.end();
      }),
    );
    await new Promise((r) => setTimeout(r, LB_EVERY_MS));
  }
  await Promise.all(pending);
  agent.destroy();
  requests.sort((a, b) => a.afterMs - b.afterMs);
}

// As the kill signal goes out: the open connections it is about to cut.
export function observeKill(supervisor: Supervisor, obs: Observations): void {
  const sockets = tcpSockets(treePids(supervisor));
  obs.tcpAtKill = sockets && sockets.filter((s) => s.state === 'established').length;
}

// After the stop signal (--probe): new requests, PROBE_EVERY_MS apart, until the in-flight
// ones are done (or, without them, for a second) or the child has exited.
export async function probeNewWork(
  url: URL,
  supervisor: Supervisor,
  signalAt: () => number,
  obs: Observations,
  inflight: Promise<InflightResult>[],
): Promise<void> {
  const probe = obs.probe!;
  let done = false;
  void watchListenerClose(supervisor, signalAt, obs, () => done);
  if (inflight.length > 0) {
    void Promise.all(inflight).then(() => {
      done = true;
      probe.inflightDoneAfterMs = Math.round(supervisor.clock.now() - signalAt());
    });
  }
  const limit = signalAt() + (inflight.length === 0 ? 1000 : REQUEST_TIMEOUT_MS);
  // Each attempt on its own, PROBE_EVERY_MS apart, not after the previous one's answer: one
  // that hangs (a cluster's primary handing the connection to a worker that is closing, reset
  // when that worker exits) must not leave the rest of the window untried.
  const pending: Promise<void>[] = [];
  while (!done && workRunning(supervisor.state) && supervisor.clock.now() < limit) {
    const afterMs = Math.round(supervisor.clock.now() - signalAt());
    const { result } = inflightRequest(url, 1000);
    pending.push(
      result.then((r) => {
        // 503 is the refusal a load balancer understands; another 5xx is an error served to a user.
        const outcome: ProbeAttempt['outcome'] =
          r.error === 'ECONNREFUSED' || r.status === 503 ? 'refused' : r.status !== null && r.status < 500 ? 'accepted' : 'error';
        probe.attempts.push({ afterMs, outcome, detail: r.status !== null ? `HTTP ${r.status}` : (r.error ?? '') });
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, PROBE_EVERY_MS));
  }
  await Promise.all(pending);
  probe.attempts.sort((a, b) => a.afterMs - b.afterMs);
}

// How often the kernel's table is read for the program's listening ports after the signal.
const LISTENER_POLL_MS = 10;

// --probe: when the program's listener really closed (the kernel's table shows none of its
// ports listening), for new-work-refused to judge against; read until then, the in-flight
// work's end, or the run's.
async function watchListenerClose(supervisor: Supervisor, signalAt: () => number, obs: Observations, drained: () => boolean): Promise<void> {
  const probe = obs.probe!;
  const ports = obs.ports ?? [];
  probe.listenerClosedAfterMs = null;
  if (ports.length === 0) return;
  while (!drained() && workRunning(supervisor.state)) {
    const still = await listeningPorts(ports);
    if (still === null) return;
    if (still.length === 0) {
      probe.listenerClosedAfterMs = Math.round(supervisor.clock.now() - signalAt());
      return;
    }
    await new Promise((r) => setTimeout(r, LISTENER_POLL_MS));
  }
}

// Once the run is over: how the in-flight requests ended, what outlived the program, the
// ports still bound, the files left in its private TMPDIR (`tmp`, then removed) and the
// preload's trace (in `traces`, then removed unless KEEP_TRACE is set).
export async function observeAfter(outcome: RunOutcome, obs: Observations, inflight: Promise<InflightResult>[], tmp: string, traces: string): Promise<void> {
  obs.inflight && (obs.inflight.results = await Promise.all(inflight));
  await Promise.all(lbLag.splice(0));
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
}

// The preload's traces, one per Node process of the tree; the judged program's (the app
// behind a launcher, else the main process) apart.
function readTrace(facts: Facts, dir: string, obs: Observations): void {
  for (const file of readdirSync(dir).filter((f) => /^\d+\.jsonl$/.test(f))) {
    try {
      const trace = parseTrace(readFileSync(join(dir, file), 'utf8'));
      if (trace) obs.traces.push(trace);
    } catch {
      // unreadable: as if it had none
    }
  }
  const pid = facts.app?.pid ?? facts.pid;
  if (pid === null) {
    obs.traceMissing = 'the program did not start';
    return;
  }
  obs.judged = facts.app?.command ?? facts.command.join(' ');
  const name = `${obs.judged.split(' ')[0]!.replace(/.*\//, '').replace(/:$/, '')} (pid ${pid})`;
  obs.trace = obs.traces.find((t) => t.pid === pid) ?? null;
  if (!obs.trace) {
    obs.traceMissing = `no trace of ${name} from graceful check's Node preload (it is loaded into Node programs that keep the NODE_OPTIONS they are given): connections, their order and open files are observed exactly, never guessed`;
  }
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
