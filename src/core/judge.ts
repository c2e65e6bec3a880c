// PURE: grades one shutdown against the checklist of a graceful shutdown, from the
// machine's facts and what graceful check observed. Each check passes, fails with a
// sentence that says what to fix, or does not apply (ok: null).
import { gracefulStopHint, launcherHint, launcherKind, type LauncherKind } from './launchers.js';
import { leavesRest } from './machine.js';
import { describeConnection, describePeer, shutdownOrder, type Connection, type ProcessTrace, type ShutdownOrder } from './trace.js';
import { auditVerdicts, earlyReleases, processName, type AuditContext, type KnownEnd } from './audit/verdicts.js';
import type { AuditedProcess } from './audit/types.js';
import { appOutlived, exitStatus, succeeded, timeline, workExit, type Timeline } from './timeline.js';
import type { ChildExit, Facts, PhaseRecord, Policy, SignalName, StopFacts } from './types.js';

export interface InflightResult {
  /** HTTP status, if a response came. */
  status: number | null;
  /** Why it failed without a response: ECONNRESET, socket hang up, ... */
  error: string | null;
  /** When it ended, on the machine's clock: one that ended before the stop signal was not in flight at the stop. */
  endedAt?: number;
}

/** One request of --lb-lag's stream. */
export interface LbRequest {
  /** Milliseconds after the stop request that it was sent. */
  afterMs: number;
  /** On the kept-alive connection (a load balancer reusing one), or a new one. */
  connection: 'kept-alive' | 'new';
  /** Its answer: HTTP status, or null with the error (ECONNREFUSED, ECONNRESET, ETIMEDOUT, ...). */
  status: number | null;
  error: string | null;
}

export interface ProbeAttempt {
  /** Milliseconds after the stop signal. */
  afterMs: number;
  outcome: 'refused' | 'accepted' | 'error';
  detail: string;
}

export interface Observations {
  /** The main process, as people read its command (node server.js). */
  main: string;
  /** The command line of the judged program (the app behind a launcher, else the main process). */
  judged: string;
  /** The --ready probe, as written; null when --after was used. */
  readyProbe: string | null;
  /** --after, when it applied (no --ready); else null. */
  afterMs: number | null;
  /**
   * A stop signal graceful check itself received (a CI timeout, a cancelled job), with its
   * time after the spawn: the check was interrupted, and whatever it had not done by then is
   * not run. Null when the check ran to its end.
   */
  aborted: { signal: SignalName; afterMs: number; /** ISO time, for the report. */ at: string } | null;
  /** What the child did with the stop signal just before it was sent; null if unreadable. */
  disposition: 'caught' | 'ignored' | 'default' | null;
  inflight: { url: string; results: InflightResult[] } | null;
  /**
   * --probe's new requests after the stop signal; `listenerClosedAfterMs`: when the kernel's
   * table first showed none of the program's ports listening (null: not while it ran).
   */
  probe: { url: string; attempts: ProbeAttempt[]; inflightDoneAfterMs: number | null; listenerClosedAfterMs?: number | null } | null;
  /** --lb-lag: the requests a load balancer that has not heard of the stop kept sending, from the stop request on. */
  lbLag: { url: string; lagMs: number; requests: LbRequest[] } | null;
  /** Open TCP connections of the tree when the stop began, and when the kill signal went out. */
  tcpAtStop: number | null;
  tcpAtKill: number | null;
  /** Descendants alive when the main process exited, and when graceful was done. */
  survivors: { pid: number; command: string }[];
  leaked: { pid: number; command: string }[];
  /**
   * What the preload recorded inside the judged program (the app behind a launcher, else
   * the main process): its listeners, requests, outbound connections and files. Null when
   * there is none, with the reason in `traceMissing`.
   */
  trace: ProcessTrace | null;
  traceMissing: string | null;
  /** The preload's traces of every Node process of the tree (`trace` is the judged one's). */
  traces: ProcessTrace[];
  /**
   * What graceful check's audit saw of every process of the tree (Linux, any language:
   * src/shell/audit/), with the service it found listening at a peer's address (its process
   * name, by address); null when the audit did not run, with the one-line reason in
   * `auditMissing`. connections-closed, cleanup-order and files-closed are judged from it.
   */
  audit: { processes: AuditedProcess[]; services: Record<string, string> } | null;
  auditMissing: string | null;
  /** Files left in the private TMPDIR; null if it could not be read. */
  tempLeft: string[] | null;
  /** Ports the tree listened on when the stop began, and those still bound after it. */
  ports: number[] | null;
  portsStillBound: number[] | null;
  maxShutdownMs: number | null;
}

/** A check's outcome: passed, failed, does not apply to this program, or not performed. */
export type CheckStatus = 'ok' | 'fail' | 'n/a' | 'not run';

/**
 * One check's result, whichever checklist it is on: a program's (CHECKS, here), a stack's
 * (core/stack-judge.ts) or a reload's (graceful check --reload).
 */
export interface Check<Name extends string = CheckName> {
  name: Name;
  /** true: passed; false: failed; null: does not apply, or not run (see status). */
  ok: boolean | null;
  status: CheckStatus;
  detail: string;
}

// A check that was made: passed (true), failed (false), or does not apply (null).
export function graded<Name extends string>(name: Name, ok: boolean | null, detail: string): Check<Name> {
  return { name, ok, status: ok === true ? 'ok' : ok === false ? 'fail' : 'n/a', detail };
}

// A check that was not made (the run ended, or the check was interrupted, before it), and why.
export function notRun<Name extends string>(name: Name, detail: string): Check<Name> {
  return { name, ok: null, status: 'not run', detail };
}

export const CHECKS = [
  'ready',
  'launcher',
  'handles-signal',
  'inflight',
  'new-work-refused',
  'lb-lag',
  'exited-in-time',
  'exit-status',
  'no-descendants-left',
  'connections-closed',
  'cleanup-order',
  'files-closed',
  'temp-clean',
  'port-released',
  'shutdown-time',
] as const;
export type CheckName = (typeof CHECKS)[number];

// Probe attempts this soon after the stop signal may still be accepted: the signal has to
// be delivered and handled before the listening socket closes.
export const REFUSE_GRACE_MS = 100;
// A listener that closed this close to the end of the in-flight work closed with it: it was
// open through the drain (graceful's reading of the kernel's table can come a few ms before
// it sees the last in-flight answer, more under load).
export const CLOSED_WITH_DRAIN_MS = 50;

// Grades the run. `fmt` formats milliseconds for people. The checks come in CHECKS's order,
// those this run was set up for (--inflight and --probe add theirs; a launcher, its own).
export function judge(facts: Facts, policy: Policy, obs: Observations, fmt: (ms: number) => string): Check[] {
  const tl = timeline(facts, policy);
  const { stop, exit } = facts;
  const launcher = launcherKind(facts.command);
  // Every check appears in every run: what was not set up says which option runs it.
  const rest = CHECKS.slice(1);

  // Interrupted before the check's own stop: the stop that followed was the abort's, not the
  // check's, so nothing after "ready" was tested. Never graded as if it had been.
  if (obs.aborted && stop?.trigger !== 'check' && !facts.spawnError) {
    const when = `the check was aborted by ${obs.aborted.signal} at +${fmt(obs.aborted.afterMs)}`;
    return [abortedReady(facts, tl, obs, when, fmt), ...rest.map((name) => notRun(name, `${when}, before its stop`))];
  }
  // Never asked to stop: it ended (or failed to start) on its own; nothing else applies.
  if (facts.spawnError || !exit || !stop || stop.trigger === 'child-exit' || stop.trigger === 'ready-timeout') {
    return [...unstoppedReady(facts, policy, tl, obs, fmt), ...rest.map((name) => notRun(name, 'not reached: the run ended before the stop'))];
  }

  const run = stopped(facts, policy, obs, fmt, tl, stop, exit);
  return [
    graded('ready', true, obs.readyProbe ? `ready in ${fmt(tl.readyMs ?? 0)} (${obs.readyProbe})` : `no --ready: stopped ${fmt(obs.afterMs ?? 0)} after the start (--after)`),
    launcher ? launcherCheck(run, launcher) : graded('launcher', null, 'started directly, not through a launcher (npm start, sh -c)'),
    handlesSignal(run),
    obs.inflight ? inflightCheck(run, obs.inflight) : notRun('inflight', 'give --inflight URL (a slow endpoint) to have requests in flight at the stop'),
    obs.probe ? newWorkRefused(run, obs.probe) : notRun('new-work-refused', 'give --probe URL (with --inflight) to try new requests while it drains'),
    obs.lbLag ? lbLagCheck(run, obs.lbLag) : notRun('lb-lag', "give --lb-lag DURATION (with --probe URL) to play a load balancer that keeps sending after the stop"),
    exitedInTime(run),
    exitStatusCheck(run),
    noDescendantsLeft(run),
    ...resourceChecks(run),
    tempClean(obs),
    portReleased(obs),
    shutdownTime(run),
  ];
}

/** What the checks of a stop read: the run's facts and timeline, its stop, what was observed. */
interface Stopped {
  facts: Facts;
  policy: Policy;
  obs: Observations;
  fmt: (ms: number) => string;
  tl: Timeline;
  stop: StopFacts;
  exit: ChildExit;
  /** The exit of what did the work: the app behind a launcher that did not wait, else the main process. */
  work: ChildExit;
  /** The stop signal. */
  signal: string;
  /** How a stop is done gracefully in the judged program's runtime or framework, if known. */
  hint: string | null;
  /** When the stop began (its signal sent, or asked for): the zero of the times said. */
  from: number;
  /** A time of the trace, said from `from`: "+1.20s". */
  at: (t: number) => string;
  /** The order of the shutdown, from inside the program (Node: the preload); null without a trace. */
  order: ShutdownOrder | null;
  /**
   * Dependencies let go of while requests were still in flight, or before the listener
   * closed. Only what the program itself released is judged for order: what the kernel
   * closed at exit, with everything else, is connections-closed's and inflight's to report.
   */
  early: ShutdownOrder['dependencies'];
  /** The same for inflight's hint, named: from the judged process's trace, else from the audit of every process. */
  earlyNamed: { name: string; releasedAt: number }[];
  /** How the audit's verdicts read the run (null without the audit). */
  audit: AuditContext | null;
}

function stopped(facts: Facts, policy: Policy, obs: Observations, fmt: (ms: number) => string, tl: Timeline, stop: StopFacts, exit: ChildExit): Stopped {
  const signal = stop.signal ?? policy.stopSignal ?? 'SIGTERM';
  const from = stop.signalSentAt ?? stop.requestedAt;
  const order = obs.trace && shutdownOrder(obs.trace, from);
  const early = order
    ? order.dependencies.filter((d) => {
        const released = d.releasedAt;
        if (released === null) return false;
        const beforeListener = order.listening && released < (order.listenerClosedAt ?? obs.trace!.exit?.at ?? -Infinity);
        return (order.inflight > 0 && released < (order.inflightDoneAt ?? Infinity)) || beforeListener;
      })
    : [];
  const audit = obs.audit ? auditContext(obs, from, fmt) : null;
  const earlyNamed =
    early.length > 0
      ? early.map((d) => ({ name: describeConnection(d.connection), releasedAt: d.releasedAt ?? from }))
      : audit && obs.audit
        ? earlyReleases(obs.audit.processes, audit).map((e) => ({ name: audit.peerName!(e.peer), releasedAt: e.releasedAt }))
        : [];
  return {
    facts,
    policy,
    obs,
    fmt,
    tl,
    stop,
    exit,
    work: workExit(facts)!,
    signal,
    hint: gracefulStopHint(obs.judged, signal),
    from,
    at: (t) => `+${fmt(Math.max(0, t - from))}`,
    order,
    early,
    earlyNamed: [...new Map(earlyNamed.sort((a, b) => a.releasedAt - b.releasedAt).map((e) => [e.name, e])).values()],
    audit,
  };
}

// What a Node process's preload says of a connection the kernel closed at its exit (the
// audit sees it from outside): an HTTP client's idle keep-alive one, or one whose goodbye the
// program had written. Matched by its local address.
const CLOSE_IDLE_HTTP = {
  fetch: "fetch()'s pool can be closed before exiting: globalFetchPool() from graceful-supervisor/app closes it as a resource",
  agent: "an http.Agent's idle sockets can be closed before exiting: agent.destroy()",
} as const;

function auditContext(obs: Observations, stopAt: number, fmt: (ms: number) => string): AuditContext {
  const services = obs.audit?.services ?? {};
  const traces = new Map(obs.traces.map((t) => [t.pid, t]));
  return {
    stopAt,
    fmt,
    peerName: (peer) => describePeer(peer, services[peer]),
    known: (p, c): KnownEnd | null => {
      const t = c.local === null ? undefined : traces.get(p.pid)?.connections.find((x) => x.local === c.local);
      if (!t) return null;
      if (t.releasedHow === 'goodbye') return { goodbye: true };
      const idle = p.exit?.open.find((o) => o.socket?.inode === c.inode)?.socket?.peerSpokeLast === true;
      return t.http && idle ? { idleHttp: CLOSE_IDLE_HTTP[t.http] } : null;
    },
  };
}

// "ready" of a run the check was interrupted in: ready if it was, else not run.
function abortedReady(facts: Facts, tl: Timeline, obs: Observations, when: string, fmt: (ms: number) => string): Check {
  if (obs.readyProbe && facts.readyAt !== null) return graded('ready', true, `ready in ${fmt(tl.readyMs ?? 0)} (${obs.readyProbe})`);
  if (obs.readyProbe) return notRun('ready', `not ready when ${when} (${obs.readyProbe})`);
  return notRun('ready', `${when}, before --after ${fmt(obs.afterMs ?? 0)}`);
}

// "ready" of a run that ended before the check could stop it: why it failed.
function unstoppedReady(facts: Facts, policy: Policy, tl: Timeline, obs: Observations, fmt: (ms: number) => string): Check[] {
  const { stop, exit } = facts;
  if (facts.spawnError) return [graded('ready', false, `it did not start: ${facts.spawnError.message}`)];
  if (stop?.trigger === 'ready-timeout') {
    return [graded('ready', false, `not ready within ${fmt(policy.readyTimeoutMs ?? 0)} (${obs.readyProbe}): make it listen sooner, check the probe, or raise --ready-timeout`)];
  }
  if (exit) {
    return [graded('ready', false, `it ${exitPhrase(exit)} after ${fmt(tl.uptimeMs ?? 0)}, before the check could stop it: it must keep running until asked to stop`)];
  }
  return [];
}

// Behind a launcher, the program it started is judged; the launcher has a check of its own.
function launcherCheck({ facts, obs, fmt, tl, exit, signal }: Stopped, launcher: LauncherKind): Check {
  const { app } = facts;
  const mainName = `${obs.main} (pid ${facts.pid})`;
  if (!app) return graded('launcher', true, `${mainName} started no separate program: it does the work itself (or replaced itself with it: exec)`);
  if (appOutlived(facts)) {
    const passed = app.signalSentAt !== null ? `, without passing ${signal} on to it (graceful sent it itself, to judge the program)` : '';
    return graded('launcher', false, `${mainName} ${exitPhrase(exit)} at +${fmt(tl.mainExitAfterMs ?? 0)}, before ${app.command} (pid ${app.pid}), which it started, had stopped${passed}: ${launcherHint(launcher)}`);
  }
  return graded('launcher', true, `${mainName} passed ${signal} on and waited for ${app.command} (pid ${app.pid})`);
}

function handlesSignal({ obs, tl, stop, work, signal, hint }: Stopped): Check {
  const diedOfIt = work.signal !== null && work.signal === stop.signal && !tl.escalated;
  const fix = `handle ${signal}: stop taking work, finish it, exit 0`;
  if (obs.disposition === 'default' || (obs.disposition === null && diedOfIt)) {
    return graded('handles-signal', false, `it does not handle ${signal}: it dies of it at once, mid-work (as PID 1 it would ignore it until the SIGKILL); ${fix}`);
  }
  if (obs.disposition === 'ignored') return graded('handles-signal', false, `it ignores ${signal} (SIG_IGN), so it cannot be asked to stop; ${fix}`);
  if (diedOfIt) {
    // Node.js, for one, catches SIGTERM and SIGINT itself to restore the terminal, then
    // re-raises them: caught, yet the program had no say.
    return graded('handles-signal', false, `it does not handle ${signal}: it died of it at once, mid-work (only a runtime's default handler ran, such as Node.js's, which re-raises it); ${fix}`);
  }
  return graded('handles-signal', true, `${obs.disposition === null ? `did not die of ${signal} (its handlers are not readable here)` : `catches ${signal}`}${hint ? ` (note: ${hint})` : ''}`);
}

// --inflight: did the requests sent before the stop complete?
function inflightCheck({ at, earlyNamed: early, hint, stop, fmt, obs }: Stopped, inflight: NonNullable<Observations['inflight']>): Check {
  if (inflight.results.length === 0) return notRun('inflight', 'no in-flight request was sent: the program stopped before they could be');
  // A request counts only if it was still in flight when the stop signal went out.
  const signalAt = stop.signalSentAt;
  const results = signalAt === null ? inflight.results : inflight.results.filter((r) => r.endedAt === undefined || r.endedAt >= signalAt);
  const before = inflight.results.filter((r) => !results.includes(r));
  // Answered 4xx before the stop: the URL is wrong, a problem of the check's request, not of the shutdown.
  const wrong = before.find((r) => r.status !== null && r.status >= 400 && r.status < 500);
  if (wrong) return notRun('inflight', `${inflight.url} answered HTTP ${wrong.status} before the stop: the URL is wrong (the check's request, not the shutdown); give --inflight a slow endpoint the program serves`);
  if (results.length === 0) {
    return notRun('inflight', `the ${before.length} requests to ${inflight.url} were answered before the stop signal: nothing was in flight at the stop; use a slower URL (one that takes a few seconds, longer than ${fmt(100)})`);
  }
  const ok2xx = (r: InflightResult) => r.status !== null && r.status >= 200 && r.status < 300;
  const done = results.filter(ok2xx).length;
  if (done === results.length) return graded('inflight', true, `${done}/${results.length} in-flight requests completed with 2xx`);
  const failures = results.filter((r) => !ok2xx(r));
  const why = summarize(failures.map((r) => (r.status !== null ? `HTTP ${r.status}` : (r.error ?? 'failed'))));
  // The hint follows what was seen: error answers after a dependency went away are not
  // connections cut by an exit.
  const answered = failures.some((r) => r.status !== null);
  const fix =
    answered && early.length > 0
      ? `${early.map((d) => d.name).join(', ')} ${early.length > 1 ? 'were' : 'was'} closed at ${at(early[0]!.releasedAt)} while they were in flight: release dependencies only after the server has drained`
      : hint
        ? hint
        : answered
          ? 'they were answered with an error while it stopped: requests in flight must complete as usual (a dependency closed early? a handler that fails once stopping?)'
          : obs.trace
            ? 'let running requests finish before exiting (server.close() waits for them; process.exit() cuts them)'
            : 'let running requests finish before exiting: stop accepting, wait for the requests in flight, then exit';
  return graded('inflight', false, `${done}/${results.length} in-flight requests completed; ${why}: ${fix}`);
}

// --probe: was new work refused while the in-flight work finished?
function newWorkRefused({ fmt, signal, obs }: Stopped, probe: NonNullable<Observations['probe']>): Check {
  // Judged against when the program's listener really closed (the kernel's table), when
  // graceful saw it, not against a fixed allowance: a program that closes its listener while
  // its in-flight work drains refuses new work, however loaded the machine was that delayed
  // it; one whose listener stays open through the drain must refuse by itself (503).
  const closed = probe.listenerClosedAfterMs;
  const drained = probe.inflightDoneAfterMs;
  const closedInTime = closed != null && (drained === null || closed < drained - CLOSED_WITH_DRAIN_MS);
  const grace = closedInTime ? closed : REFUSE_GRACE_MS;
  const window = probe.attempts.filter((a) => a.afterMs >= grace && (drained === null || a.afterMs <= drained));
  const accepted = window.find((a) => a.outcome === 'accepted');
  const erred = window.find((a) => a.outcome === 'error' && /^HTTP 5/.test(a.detail));
  // Who kept the port open: the processes the audit saw listening on it.
  const port = /^[a-z]+:\/\/[^/]*:(\d+)/i.exec(probe.url)?.[1] ?? (/^https:/i.test(probe.url) ? '443' : '80');
  const listeners = (obs.audit?.processes ?? []).filter((p) => p.listeners.some((l) => l.local?.endsWith(`:${port}`)));
  const by = listeners.length > 0 ? ` by ${listeners.map(processName).join(', ')}` : '';
  if (erred && !accepted) {
    return graded('new-work-refused', false, `a new request was answered ${erred.detail}${by} ${fmt(erred.afterMs)} after ${signal}, while in-flight work was finishing: refuse new work cleanly (close the listening socket, or answer 503), not with an error`);
  }
  if (accepted) {
    return graded('new-work-refused', false, `new work was accepted${by} ${fmt(accepted.afterMs)} after ${signal}, while in-flight work was finishing: stop accepting first (close the listening socket, answer 503)`);
  }
  if (window.length === 0) {
    const why = closedInTime ? `its listener closed ${fmt(closed!)} after ${signal}, and no request was tried between then and the end of the in-flight work` : `the in-flight work finished within ${fmt(REFUSE_GRACE_MS)}`;
    return notRun('new-work-refused', `no new request was tried while in-flight work was finishing (${why}): use a slower --inflight URL`);
  }
  return graded('new-work-refused', true, `${window.length} new requests refused while in-flight work was finishing`);
}

// --lb-lag: did it serve every request a load balancer still sent after the stop request,
// as one does until it hears (Kubernetes removes endpoints in parallel with SIGTERM)?
function lbLagCheck({ fmt, signal }: Stopped, lag: NonNullable<Observations['lbLag']>): Check {
  const failed = lag.requests.filter((r) => r.status === null || r.status >= 500);
  if (lag.requests.length === 0) return notRun('lb-lag', 'no request was sent: the program ended before the stream began');
  if (failed.length === 0) {
    return graded('lb-lag', true, `${lag.requests.length}/${lag.requests.length} requests during the load balancer's ${fmt(lag.lagMs)} of lag answered (new and kept-alive connections)`);
  }
  const first = failed[0]!;
  const how = first.status !== null ? `HTTP ${first.status}` : first.error;
  return graded(
    'lb-lag',
    false,
    `${failed.length}/${lag.requests.length} requests during the load balancer's ${fmt(lag.lagMs)} of lag failed; the first at +${fmt(first.afterMs)} after the stop request, ${how} on a ${first.connection === 'new' ? 'new' : 'kept-alive'} connection: keep serving until the load balancer stops sending (graceful run --stop-delay auto holds ${signal} until then)`,
  );
}

function exitedInTime({ obs, fmt, tl, stop, work, signal }: Stopped): Check {
  // A kill sent because the main process exited (kill mode mixed, as the kernel does when
  // PID 1 of a container exits) is about its descendants: no-descendants-left says it.
  if (tl.escalated && stop.killReason !== 'main-exited' && stop.killReason !== 'app-exited') {
    const cut = obs.tcpAtKill ? `, cutting ${obs.tcpAtKill} open TCP connection(s)` : '';
    const who = work.signal === stop.killSignal ? 'it' : 'the rest of its tree';
    return graded('exited-in-time', false, `${who} had to be killed with ${stop.killSignal} at +${fmt(tl.killSentAfterMs ?? 0)}${cut}: find what holds the shutdown up (open connections, timers, children) or raise --timeout`);
  }
  const grace = tl.graceMs !== null ? `, within the ${fmt(tl.graceMs)} grace period` : '';
  return graded('exited-in-time', true, `exited ${fmt(tl.shutdownMs ?? 0)} after ${signal}${grace}`);
}

function exitStatusCheck({ facts, policy, stop, work, signal }: Stopped): Check {
  if (work.signal !== null && (work.signal === stop.signal || work.signal === stop.killSignal)) {
    return graded('exit-status', null, `died of ${work.signal}: see ${work.signal === stop.signal ? 'handles-signal' : 'exited-in-time'}`);
  }
  if (succeeded(facts, policy)) return graded('exit-status', true, work.signal ? `died of ${work.signal}, counted as success` : `exited with code ${work.code}`);
  return graded('exit-status', false, `${exitPhrase(work)} (exit status ${exitStatus(facts, policy)}) after ${signal}: a graceful stop exits 0 (or list the status in --success-exit-status)`);
}

function noDescendantsLeft({ policy, obs }: Stopped): Check {
  const gone = obs.leaked.length > 0 ? obs.leaked : obs.survivors;
  if (gone.length === 0) return graded('no-descendants-left', true, 'no process outlived the main process');
  const names = gone.map((p) => `${p.command || '?'} (pid ${p.pid})`).join(', ');
  const after = obs.leaked.length > 0 ? 'were still alive after the check' : `outlived ${obs.main}`;
  // What happens to them on the platform the check reproduces (policy.killMode).
  const fate =
    obs.leaked.length > 0 || leavesRest(policy)
      ? 'nothing stops them after it'
      : policy.killMode === 'mixed'
        ? 'under docker stop or Kubernetes the kernel kills them mid-work when the main process exits'
        : `they are killed at the end of the grace period`;
  const what = gone.length === 1 ? after.replace('were', 'was') : `${gone.length} processes ${after}`;
  return graded('no-descendants-left', false, `${gone.length === 1 ? `${names} ${what}` : `${what}: ${names}`}: ${gone.length === 1 ? fate.replace('them', 'it').replace('they are', 'it is') : fate}; stop your child processes and wait for them before exiting`);
}

function tempClean(obs: Observations): Check {
  if (obs.tempLeft === null) return notRun('temp-clean', 'the temporary directory could not be read');
  if (obs.tempLeft.length === 0) return graded('temp-clean', true, 'its TMPDIR (private to the check) was left empty');
  return graded('temp-clean', false, `left ${obs.tempLeft.length} file(s) in its TMPDIR: ${obs.tempLeft.slice(0, 5).join(', ')}: remove temporary files on shutdown`);
}

function portReleased(obs: Observations): Check {
  if (obs.ports === null || obs.portsStillBound === null) return notRun('port-released', 'listening ports cannot be read here (no /proc/net/tcp)');
  if (obs.ports.length === 0) return graded('port-released', true, 'it listened on no TCP port');
  if (obs.portsStillBound.length === 0) return graded('port-released', true, `port(s) ${obs.ports.join(', ')} released`);
  return graded('port-released', false, `port(s) ${obs.portsStillBound.join(', ')} still bound after it exited: a process still holds the listening socket; close it on shutdown`);
}

function shutdownTime({ obs, fmt, tl }: Stopped): Check {
  const took = tl.shutdownMs ?? 0;
  if (obs.maxShutdownMs !== null && took > obs.maxShutdownMs) return graded('shutdown-time', false, `took ${fmt(took)}, over the ${fmt(obs.maxShutdownMs)} budget (--max-shutdown)`);
  return graded('shutdown-time', true, `took ${fmt(took)}${obs.maxShutdownMs !== null ? `, within the ${fmt(obs.maxShutdownMs)} budget` : ''}`);
}

// connections-closed, cleanup-order and files-closed: from the audit of every process (Linux),
// else from the judged Node process's own trace (the preload), said as such; cleanup-order
// also from the phases graceful-supervisor/app said, exact for the program's own resources.
function resourceChecks(run: Stopped): Check[] {
  const { obs, fmt, facts, order, early, at } = run;
  const byPhases = orderFromPhases(facts.phases, fmt);
  if (obs.audit && run.audit) {
    const [connections, auditOrder, files] = auditVerdicts(obs.audit.processes, run.audit).map((v) => graded(v.name, v.ok, v.detail)) as [Check, Check, Check];
    // The app's phases say its order exactly; a failure the audit saw (another process, a
    // connection no phase covers) still fails.
    const ordered = byPhases && auditOrder.ok !== false ? graded('cleanup-order', byPhases.ok, byPhases.detail) : auditOrder;
    return [connections, ordered, files];
  }
  const trace = obs.trace;
  const missing = obs.auditMissing ? `the audit of every process did not run: ${obs.auditMissing}` : null;
  if (!trace || !order) {
    const why = missing ?? obs.traceMissing ?? 'no trace of the program';
    return [
      notRun('connections-closed', why),
      byPhases ? graded('cleanup-order', byPhases.ok, byPhases.detail) : notRun('cleanup-order', `${missing ? 'the audit did not run' : 'no trace of the program'} (see connections-closed)`),
      notRun('files-closed', `${missing ? 'the audit did not run' : 'no trace of the program'} (see connections-closed)`),
    ];
  }
  // The judged process alone, seen from inside: what it says of the others is nothing.
  const only = (c: Check): Check => (missing && c.status === 'ok' ? { ...c, detail: `${c.detail} (the judged process only, from its Node preload; ${missing})` } : c);
  return [connectionsClosed(trace), byPhases ? graded('cleanup-order', byPhases.ok, byPhases.detail) : cleanupOrder(trace, order, early, at), filesClosed(trace)].map(only);
}

// "redis 127.0.0.1:6379, postgres 127.0.0.1:5432 (x9)": a pool's connections counted once.
function listConnections(cs: readonly Connection[]): string {
  const counts = new Map<string, number>();
  for (const c of cs) counts.set(describeConnection(c), (counts.get(describeConnection(c)) ?? 0) + 1);
  return [...counts].map(([name, n]) => (n > 1 ? `${name} (x${n})` : name)).join(', ');
}

function connectionsClosed(trace: ProcessTrace): Check {
  const kernel = trace.connections.filter((c) => c.leftToKernel);
  if (kernel.length > 0) {
    const when = trace.exit ? 'when it exited' : 'when it died';
    return graded('connections-closed', false, `${kernel.length === 1 ? 'a connection was' : `${kernel.length} connections were`} still open ${when}, closed by the kernel, not by the program: ${listConnections(kernel)}: close them after draining, in the reverse order of opening (pool.end(), client.quit(), socket.end()) and wait for that before exiting (an open transaction is rolled back, a half-written command lost)`);
  }
  if (trace.connections.length === 0) return graded('connections-closed', true, 'it opened no outbound connection');
  return graded('connections-closed', true, `all ${trace.connections.length} outbound connection(s) closed by the program: ${listConnections(trace.connections)}`);
}

function cleanupOrder(trace: ProcessTrace, order: ShutdownOrder, early: ShutdownOrder['dependencies'], at: (t: number) => string): Check {
  const deps = order.dependencies;
  if (deps.length === 0 && order.listenerClosedAt === null && order.inflight === 0) {
    return graded('cleanup-order', null, 'nothing to order: no listener closed, no request in flight, no connection open at the stop');
  }
  if (order.listenerClosedAt === null && deps.every((d) => d.releasedAt === null) && (order.listening || order.inflight > 0)) {
    const when = trace.exit ? `its exit at ${at(trace.exit.at)}` : 'its death';
    return graded('cleanup-order', null, `nothing was released in any order: the listener, the requests in flight and the connections all ended with ${when} (see inflight and connections-closed)`);
  }
  // The reverse-order rule is about resources, not sockets: a pool's connections (one
  // service, one address) are one resource, opened with its first and let go with its last.
  const groups = new Map<string, { name: string; opened: number; released: number | null }>();
  for (const d of deps) {
    const name = describeConnection(d.connection);
    const g = groups.get(name);
    if (!g) groups.set(name, { name, opened: d.connection.openedAt, released: d.releasedAt });
    else g.released = g.released === null || d.releasedAt === null ? null : Math.max(g.released, d.releasedAt);
  }
  const steps: [string, number | null][] = [
    ...(order.listening ? [['listener closed', order.listenerClosedAt] as [string, number | null]] : []),
    ...(order.inflight > 0 ? [[`${order.inflight} in-flight request(s) done`, order.inflightDoneAt] as [string, number | null]] : []),
    ...[...groups.values()].map((g) => [`${g.name} closed`, g.released] as [string, number | null]),
  ];
  // A step the program never took happened at its exit, by the kernel (or never, if it died).
  const exitAt = trace.exit?.at ?? null;
  const observed = steps
    .map(([what, t]) => [what, t, t ?? exitAt] as const)
    .sort((a, b) => (a[2] ?? Infinity) - (b[2] ?? Infinity))
    .map(([what, t, when]) => (t !== null ? `${what} ${at(t)}` : when !== null ? `${what.replace(/ (closed|done)$/, '')} ${what.endsWith('done') ? 'cut' : 'closed by the kernel'} at exit ${at(when)}` : `${what}: never`))
    .join(', ');
  const resources = [...groups.values()].sort((a, b) => a.opened - b.opened);
  const opened = resources.length > 1 ? `; opened: ${resources.map((r) => r.name).join(', ')}` : '';
  const released = resources.every((r) => r.released !== null);
  const reversed = released && resources.every((r, i) => i === 0 || r.released! <= resources[i - 1]!.released!);
  if (early.length > 0) {
    return graded('cleanup-order', false, `${listConnections(early.map((d) => d.connection))} closed before the work that needed it was done (observed: ${observed}${opened}): stop accepting first, let in-flight work finish, then release dependencies in the reverse order of opening`);
  }
  // A line is never ok while it says the rule was broken: not the reverse order fails.
  if (resources.length > 1 && released && !reversed) {
    return graded('cleanup-order', false, `not in the reverse order of opening (observed: ${observed}${opened}): release dependencies in the reverse order of opening, the last opened first`);
  }
  return graded('cleanup-order', true, `${observed}${opened}${resources.length > 1 && released ? ' (reverse order of opening)' : ''}`);
}

function filesClosed(trace: ProcessTrace): Check {
  if (!trace.exit) return notRun('files-closed', 'it died of a signal: which files it had open is not known');
  if (trace.exit.files.length === 0) return graded('files-closed', true, 'no file open for writing when it exited');
  const files = trace.exit.files.map((f) => f.path).join(', ');
  return graded('files-closed', false, `open for writing when it exited: ${files}: close files (stream.end(), fs.close) and wait for it before exiting, or writes still buffered are lost`);
}

function exitPhrase(exit: ChildExit): string {
  return exit.signal !== null ? `died of ${exit.signal}` : `exited with code ${exit.code}`;
}

// cleanup-order from the program's own phases, when it uses graceful-supervisor/app and said them on the
// status channel (exact by construction: each step says itself). Null for other programs.
export function orderFromPhases(records: readonly PhaseRecord[], fmt: (ms: number) => string): { ok: boolean; detail: string } | null {
  const phases = records.map((r) => r.phase);
  if (!phases.some((p) => p.phase === 'stopping')) return null;
  const opened = phases.flatMap((p) => (p.phase === 'opened' ? [p] : [])).sort((a, b) => a.order - b.order);
  const drained = phases.findIndex((p) => p.phase === 'drained');
  const closings = phases.flatMap((p, i) => (p.phase === 'closing' ? [{ name: p.name, i }] : []));
  const closed = phases.flatMap((p) => (p.phase === 'closed' ? [p] : []));
  const done = phases.find((p) => p.phase === 'done');
  const forced = phases.find((p) => p.phase === 'forced');
  const problems: string[] = [];
  const early = closings.filter((c) => drained === -1 || c.i < drained);
  if (early.length > 0) problems.push(`${early.map((c) => c.name).join(', ')} began closing before the drain was over`);
  const expected = [...opened].reverse().map((o) => o.name);
  const actual = closings.map((c) => c.name);
  if (actual.length > 0 && actual.join('\0') !== expected.filter((n) => actual.includes(n)).join('\0')) {
    problems.push(`closed ${actual.join(', ')}, not the reverse of opening (${opened.map((o) => o.name).join(', ')})`);
  }
  for (const c of closed) if (c.outcome !== 'closed') problems.push(c.outcome === 'failed' ? `${c.name} failed to close: ${c.error}` : `${c.name} did not close within ${fmt(c.ms)}`);
  const drain = phases[drained];
  if (drain?.phase === 'drained' && drain.cut > 0) problems.push(`${drain.cut} unit(s) of work cut at its drain deadline`);
  if (forced) problems.push(`a second ${forced.signal} forced it out, skipping the rest`);
  else if (done && !done.ok) problems.push('it said not everything closed');
  const steps = [
    ...(drain?.phase === 'drained' ? [`drained ${drain.completed} in ${fmt(drain.ms)}`] : []),
    ...closed.map((c) => (c.outcome === 'closed' ? `closed ${c.name} in ${fmt(c.ms)}` : `${c.name} ${c.outcome}`)),
  ];
  const said = `from its own phases (graceful-supervisor/app): ${steps.length > 0 ? steps.join(', then ') : 'no drain and no resource'}`;
  if (problems.length > 0) return { ok: false, detail: `${problems.join('; ')} (${said}): drain first, then close resources in the reverse order of opening, each within its time` };
  return { ok: true, detail: `${said}${opened.length > 1 ? `: the reverse of opening (${opened.map((o) => o.name).join(', ')})` : ''}` };
}

// "3 ECONNRESET, 1 HTTP 500"
function summarize(reasons: string[]): string {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, n]) => `${n} ${r}`).join(', ');
}
