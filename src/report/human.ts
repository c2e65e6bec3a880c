// What people read on stderr: step lines off a terminal, one live countdown line on a
// terminal, and one summary sentence at exit. Everything is rendered from the machine's
// facts and the timeline, the same ones the JSON report is built from.
import { leavesRest } from '../core/machine.js';
import { appOutlived, graceMs, timeline, workExit, type Verdict } from '../core/timeline.js';
import { brief, describe as describePhase } from '../app/log.js';
import { launcherHint, launcherKind } from '../core/launchers.js';
import type { Decision, RestartPolicy } from '../core/restart.js';
import { formatDuration } from '../config/parse.js';
import type { Action, AppFacts, AppPhase, ChildExit, Event, Facts, Policy, State, StopTrigger, Target, TrafficFacts } from '../core/types.js';

/** Colour functions; identity when colour is off. */
export interface Paint {
  good(text: string): string;
  warn(text: string): string;
  bad(text: string): string;
  dim(text: string): string;
}

export const noPaint: Paint = { good: (t) => t, warn: (t) => t, bad: (t) => t, dim: (t) => t };

/** A figure of a line, as the JSON log carries it (milliseconds as *Ms, pids, signal names). */
export type Field = string | number | boolean | null;
export type Fields = Record<string, Field>;

/**
 * What each line graceful writes is about: the JSON log's `event` (--log-format json,
 * docs/observability.md lists them). One name per kind of line, whatever its wording.
 */
export type LogEvent =
  // a program's steps (stepRecords)
  | 'started' | 'ready' | 'stop-requested' | 'stop-repeated' | 'pre-stop' | 'pre-stop-ended' | 'pre-stop-cancelled'
  | 'stop-delay' | 'signal-sent' | 'kill-sent' | 'forwarded' | 'signal-delivered' | 'main-exited' | 'tree-gone'
  | 'child-stopped' | 'app-phase'
  // a run's end and what follows it
  | 'summary' | 'spawn-failed' | 'restarting' | 'gave-up' | 'not-restarting' | 'memory-limit' | 'resources'
  | 'left-running' | 'interactive-hint'
  // reloads (--listen, --control)
  | 'holding-socket' | 'reload-starting' | 'reload' | 'reload-queued' | 'generations' | 'scaled'
  // graceful up
  | 'stack-starting' | 'starting' | 'stack-stopping' | 'stack-forced' | 'stack-ended' | 'stack-check' | 'orphans-stopped'
  // the rest: a warning of the options or the platform, a note, an error
  | 'warning' | 'note' | 'error' | 'internal-error' | 'usage-error';

/** A line graceful writes, as facts: what it is about, its level, its words, and the figures the words hold. */
export interface LogLine {
  event: LogEvent;
  level: 'info' | 'warn' | 'error';
  text: string;
  fields: Fields;
}

// Milliseconds for people: 950ms, 1.23s, 12.3s, 1m05s.
export function human(raw: number): string {
  const ms = Math.round(raw);
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000 && ms % 1000 === 0) return `${ms / 1000}s`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)}s`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

// The last part of a path, for the live line: /usr/bin/node -> node (URLs stay whole).
function basename(arg: string): string {
  if (arg.includes(':')) return arg;
  return arg.slice(arg.lastIndexOf('/') + 1) || arg;
}

// Bytes for people: 812K, 163.2M, 1.5G.
export function humanSize(bytes: number): string {
  const [unit, size] = bytes >= 1024 ** 3 ? ['G', 1024 ** 3] : bytes >= 1024 ** 2 ? ['M', 1024 ** 2] : ['K', 1024];
  return `${+(bytes / size).toFixed(1)}${unit}`;
}

// The command as a shell would show it, in at most `max` characters: node app.js --port 3000.
// A long one is shortened without cutting a name in two, since the names are what identify
// the program: the executable goes by its base name, then long paths lose their middle
// (/srv/.../app/server.js), then the arguments after the script give way to "...". Only a
// script name longer than `max` by itself is cut.
export function describeCommand(argv: readonly string[], max = 60): string {
  const words = [...argv];
  const text = () => words.map(shellWord).join(' ');
  if (text().length <= max || words.length === 0) return text();
  words[0] = basename(words[0]!);
  // Shorten the longest path one step at a time: the reader keeps as much of each as fits.
  for (;;) {
    if (text().length <= max) return text();
    const longest = words
      .map((w, i) => ({ i, next: shorterPath(w) }))
      .filter((c) => c.next !== null)
      .sort((a, b) => words[b.i]!.length - words[a.i]!.length)[0];
    if (!longest) break;
    words[longest.i] = longest.next!;
  }
  // The executable and its script (the first argument that is not an option) stay; the
  // arguments after them go, from the end.
  const script = words.findIndex((w, i) => i > 0 && !w.startsWith('-'));
  const keep = script === -1 ? 1 : script + 1;
  while (words.length > keep && `${text()} ...`.length > max) words.pop();
  const shown = words.length < argv.length ? `${text()} ...` : text();
  return shown.length <= max ? shown : `${shown.slice(0, max - 3)}...`;
}

// A shell word: quoted when it holds anything a shell would read specially.
function shellWord(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

// The path shorter by a step or more, its middle replaced by "...": /a/b/c/d/e.js ->
// /a/.../d/e.js -> /a/.../e.js -> .../e.js; null for what is not a path (URLs, options,
// shell lines) or cannot be shortened any more.
function shorterPath(word: string): string | null {
  if (!(isPath(word) || isSpacedPath(word)) || word.includes('://')) return null;
  for (let path = word; ; ) {
    const next = stepShorter(path);
    if (next === null) return null;
    if (next.length < word.length) return next;
    path = next;
  }
}

function isPath(word: string): boolean {
  return /^[^\s-]\S*\/\S*$/.test(word);
}

// A path with spaces in a directory's name (a checkout in "/home/ann/My Projects/app"): it
// starts like a path (/, ./, ../, ~/) and holds nothing of a shell line (no operator, quote,
// variable, or option after a space). Left whole, the script's name at its end was what the
// cut fell on: node '/tmp/x/my checkout/fixtures/ignores...
function isSpacedPath(word: string): boolean {
  return /^(\/|\.\.?\/|~\/)[^;&|$`<>(){}'"\\*?\n\t]*$/.test(word) && !/\s-/.test(word);
}

function stepShorter(path: string): string | null {
  const parts = path.split('/');
  const cut = parts.indexOf('...');
  if (cut === -1) {
    // Keep the first directory (the root's first, for an absolute path) and the last two parts.
    const head = parts[0] === '' ? 2 : 1;
    return (parts.length > head + 2 ? [...parts.slice(0, head), '...', ...parts.slice(-2)] : ['...', parts[parts.length - 1]]).join('/');
  }
  const tail = parts.slice(cut + 1);
  if (tail.length > 1) return [...parts.slice(0, cut + 1), ...tail.slice(1)].join('/');
  return cut > 0 ? ['...', ...tail].join('/') : null;
}

function subject(facts: Facts): string {
  return `${describeCommand(facts.command)} (pid ${facts.pid})`;
}

// A command line read from /proc (arguments joined by spaces), shortened like describeCommand.
export function describeLine(line: string, max?: number): string {
  return describeCommand(line.split(' '), max);
}

function appSubject(app: AppFacts): string {
  return `${describeLine(app.command)} (pid ${app.pid})`;
}


function who(facts: Facts, target: Target): string {
  switch (target) {
    case 'tree':
      return `${subject(facts)} and its process tree`;
    case 'outside-group':
      return `the processes of ${subject(facts)}'s tree outside graceful's process group`;
    case 'main':
      return subject(facts);
    case 'app':
      return facts.app ? appSubject(facts.app) : subject(facts);
  }
}

function exitPhrase(exit: ChildExit): string {
  return exit.signal !== null ? `died of ${exit.signal}` : `exited with code ${exit.code}`;
}

const HEADLINE: Record<Verdict, (facts: Facts) => string> = {
  clean: () => 'stopped cleanly',
  // Only what graceful saw: a death by the stop signal looks the same from outside whether
  // the program had no handler or its handler ran and re-raised the signal (Python's
  // KeyboardInterrupt, Node's default; issue 24). The library's phases, when it sent them,
  // follow as "its own shutdown"; graceful check reads the handlers themselves.
  'signal-default': (f) => `died of ${f.stop?.signal}`,
  escalated: (f) =>
    workExit(f)?.signal === f.stop?.killSignal
      ? f.stop?.forced
        ? 'was killed on request'
        : 'had to be killed'
      : 'stopped, but the rest of its tree had to be killed',
  failed: () => 'stopped with a failure',
  exited: () => 'ended on its own',
  crashed: () => 'crashed',
  'not-ready': () => 'was not ready in time',
  'not-started': () => 'did not start',
};

// The one sentence printed at exit: what stopped the child, what was sent when, how long
// it took to exit, the exit status and the verdict.
export function summaryLine(facts: Facts, policy: Policy, status: number, paint: Paint = noPaint): string {
  const tl = timeline(facts, policy);
  const { stop, exit, app } = facts;
  const parts: string[] = [];
  // Behind a launcher that did not wait (npm start, sh -c), the sentence is about the app.
  const behind = appOutlived(facts) && tl.requested ? app! : null;
  if (exit && stop && tl.requested) {
    parts.push(triggerPhrase(stop.trigger, policy));
    if (stop.preStop) parts.push(preStopPhrase(stop.preStop));
    if (stop.traffic && tl.signalSentAfterMs !== null) parts.push(autoDelayPhrase(stop.traffic, stop.requestedAt));
    if (tl.signalSentAfterMs !== null) parts.push(`${stop.signal} sent at +${human(tl.signalSentAfterMs)}`);
    if (behind && tl.appSignalSentAfterMs !== null) parts.push(`${stop.signal} sent to it by graceful at +${human(tl.appSignalSentAfterMs)}`);
    if (tl.killSentAfterMs !== null) parts.push(`${stop.killSignal} sent at +${human(tl.killSentAfterMs)} (${killWhy(facts, policy)})`);
    if (!behind) parts.push(`${exitPhrase(exit)} at +${human(tl.shutdownMs!)}`);
    else if (behind.exit) parts.push(`${behind.exit.known ? exitPhrase(behind.exit) : 'gone (its status unknown: graceful was not its parent)'} at +${human(tl.shutdownMs!)}`);
  } else if (exit) {
    parts.push(`${exitPhrase(exit)} after ${human(tl.uptimeMs ?? 0)}`);
    if (stop?.signal) parts.push(`${stop.signal} sent to the rest of its tree`);
    if (stop?.killSignal) parts.push(`${stop.killSignal} sent to the rest of its tree at +${human(tl.killSentAfterMs!)}`);
  }
  // Behind a launcher, "the rest of its tree" is the app itself, unless something outlived it.
  if (tl.treeGoneAfterMs !== null && !(behind?.exit && behind.exit.survivors === 0)) parts.push(`the rest of its tree gone at +${human(tl.treeGoneAfterMs)}`);
  if (tl.readyMs !== null) parts.unshift(`ready in ${human(tl.readyMs)}`);
  // The launcher's part, in a sentence of its own, with what to do about it.
  const launcher = behind
    ? `; its launcher ${subject(facts)} ${exitPhrase(exit!)} at +${human(tl.mainExitAfterMs!)} without waiting for it: ${launcherHint(launcherKind(facts.command) ?? 'package-manager')}${behind.exit ? '' : `; ${appSubject(behind)} is still running`}`
    : '';
  const own = tl.requested ? ownShutdown(facts) : null;
  const color = verdictPaint(tl.verdict, paint);
  const who = behind?.exit ? appSubject(behind) : subject(facts);
  return `${who} ${HEADLINE[tl.verdict](facts)}: ${parts.join(', ')}${own ? `; its own shutdown: ${own}` : ''}${launcher}; exit status ${status} ${color(`[${tl.verdict}]`)}`;
}

// What --stop-delay auto saw: how much work still came after the stop request, and when the
// last of it did (users learn their load balancer's real propagation time).
function autoDelayPhrase(traffic: TrafficFacts, requestedAt: number): string {
  if (!traffic.watched) return 'load balancer not watched (no listening socket found): waited the floor';
  if (traffic.arrivals === 0 || traffic.lastArrivalAt === null) return 'no new work after the stop request';
  return `${traffic.arrivals} new ${traffic.arrivals === 1 ? 'connection or request' : 'connections or requests'} after the stop request, the last at +${human(traffic.lastArrivalAt - requestedAt)}`;
}

// The figures of the summary sentence, from the same facts and timeline: the JSON log's
// `summary` line (--log-format json), whose fields a pipeline alerts on (verdict != clean).
// Every key is always there (null when it does not apply), so that a query never misses one.
export function summaryFields(facts: Facts, policy: Policy, status: number): Fields {
  const tl = timeline(facts, policy);
  const { stop } = facts;
  const behind = appOutlived(facts) && tl.requested ? facts.app! : null;
  const exit = workExit(facts);
  return {
    verdict: tl.verdict,
    exitStatus: status,
    pid: facts.pid,
    appPid: behind?.pid ?? null,
    trigger: stop?.trigger ?? null,
    exitCode: exit?.code ?? null,
    exitSignal: exit?.signal ?? null,
    uptimeMs: tl.uptimeMs,
    readyMs: tl.readyMs,
    graceMs: tl.graceMs,
    preStopMs: tl.preStopMs,
    signal: stop?.signal ?? null,
    signalSentAfterMs: tl.signalSentAfterMs,
    killSignal: stop?.killSentAt != null ? stop.killSignal : null,
    killSentAfterMs: tl.killSentAfterMs,
    killReason: stop?.killReason ?? null,
    shutdownMs: tl.shutdownMs,
    treeGoneAfterMs: tl.treeGoneAfterMs,
    // --stop-delay auto: the work that came after the request, and when the last did.
    arrivalsAfterStop: stop?.traffic?.arrivals ?? null,
    lastArrivalAfterMs: stop?.traffic?.lastArrivalAt != null ? Math.round(stop.traffic.lastArrivalAt - stop.requestedAt) : null,
  };
}

// Where a program using graceful-supervisor/app is in its shutdown, for the live line: "draining 3
// in flight", "closing postgres"; null when it has not said.
function programStep(facts: Facts): string | null {
  for (let i = facts.phases.length - 1; i >= 0; i--) {
    const p = facts.phases[i]!.phase;
    switch (p.phase) {
      case 'not-accepting':
        return `draining ${p.inflight} in flight`;
      case 'drained':
        return `drained ${p.completed}${p.cut ? `, cut ${p.cut}` : ''}`;
      case 'closing':
        return `closing ${p.name}`;
      case 'closed':
        return `closed ${p.name}`;
      case 'stopping':
        return p.delayMs > 0 ? 'still serving (its delay)' : 'stopping';
      case 'done':
        return 'exiting';
      default:
        continue;
    }
  }
  return null;
}

// What a program using graceful-supervisor/app said of its own shutdown, from its phases: "drained 5 in
// 722ms, closed postgres in 4ms, closed redis in 1ms" (null when it said nothing of it).
export function ownShutdown(facts: Facts): string | null {
  const words = facts.phases
    .map((r) => r.phase)
    .filter((p) => p.phase === 'drained' || p.phase === 'closed' || p.phase === 'forced' || (p.phase === 'done' && !p.ok))
    .map(brief);
  return words.length > 0 ? words.join(', ') : null;
}

// Why graceful stopped restarting the child, in words: the "giving up" warning and the
// report's restart.why. `requested` says which stop request it was, when one was the reason.
export function restartEndWhy(decision: Extract<Decision, { kind: 'stop' }>, restart: RestartPolicy, requested = 'a stop request'): string {
  switch (decision.reason) {
    case 'start-limit':
      return `${decision.unstableRuns} unstable runs within ${formatDuration(restart.windowMs)}, more than --max-restarts ${restart.maxRestarts}`;
    case 'requested':
      return requested;
    case 'no-restart':
      return 'no --restart';
    case 'succeeded':
      return 'it ended with success (--restart on-failure)';
  }
}

// Said after the summary when a Ctrl+C stopped a child that caught SIGINT and went on (a
// REPL, a shell) until it was killed: how to run such programs.
export function interactiveHint(facts: Facts): string {
  return `${subject(facts)} caught Ctrl+C (SIGINT) and kept running, as REPLs and shells do: run such programs with --interactive, so that Ctrl+C is theirs and only SIGTERM, a closed terminal or their own exit ends them`;
}

function verdictPaint(verdict: Verdict, paint: Paint): (t: string) => string {
  switch (verdict) {
    case 'clean':
    case 'exited':
      return paint.good;
    case 'signal-default':
    case 'failed':
      return paint.warn;
    default:
      return paint.bad;
  }
}

// Why the kill signal went out, from the facts (the grace period as it applied: an
// EXTEND_TIMEOUT_USEC moves the deadline, and this is the one figure both reports show).
function killWhy(facts: Facts, policy: Policy): string {
  const stop = facts.stop!;
  switch (stop.killReason) {
    case 'second-signal':
      return 'second Ctrl+C';
    case 'main-exited':
      return `the main process exited, kill mode ${policy.killMode}`;
    case 'app-exited':
      return `${facts.app ? describeLine(facts.app.command) : 'the app'} exited, kill mode ${policy.killMode}`;
    default:
      return stop.deadline === null ? 'kill' : `grace period of ${human(graceMs(stop)!)} over`;
  }
}

function preStopPhrase(p: NonNullable<NonNullable<Facts['stop']>['preStop']>): string {
  const took = p.endedAt !== null ? ` after ${human(p.endedAt - p.startedAt)}` : '';
  if (p.cancelled && p.endedAt === null) return 'pre-stop cancelled';
  if (p.error) return `pre-stop failed (${p.error})${took}`;
  if (p.cancelled) return `pre-stop cancelled${took}`;
  if (p.signal) return `pre-stop died of ${p.signal}${took}`;
  return p.code === 0 ? `pre-stop done${took}` : `pre-stop failed with code ${p.code}${took}`;
}

// Why a stop began: a signal graceful received, or a reason of its own.
function triggerPhrase(trigger: StopTrigger, policy: Policy): string {
  switch (trigger) {
    case 'ready-timeout':
      return `not ready within ${human(policy.readyTimeoutMs ?? 0)} (${policy.readyTimeoutFrom ?? '--ready-timeout'})`;
    case 'check':
      return 'stop asked by graceful check';
    case 'child-stopping':
      return 'it said it is stopping (STOPPING=1)';
    case 'memory-limit':
      return 'over --max-memory';
    case 'watchdog':
      return 'no WATCHDOG=1 within its watchdog period (WatchdogSec=)';
    case 'reload':
      return 'replaced by a new generation (reload)';
    case 'stack':
      return 'stop asked by graceful up';
    case 'child-exit':
      return 'the main process exited';
    case 'SIGTERM':
    case 'SIGINT':
    case 'SIGHUP':
      return `${trigger} received`;
  }
}

// The step lines printed off a terminal as the shutdown goes. `verbose` adds the lines
// for events that are not part of a shutdown (start, forwarded signals, tree scans).
export function stepLines(prev: State, event: Event, next: State, actions: readonly Action[], policy: Policy, verbose: boolean): string[] {
  return stepRecords(prev, event, next, actions, policy, verbose).map((r) => r.text);
}

// The same lines as facts (LogLine): each with its event's name and the figures its words
// hold, for the JSON log; the words are built from the same values in the same place.
export function stepRecords(prev: State, event: Event, next: State, actions: readonly Action[], policy: Policy, verbose: boolean): LogLine[] {
  const lines: LogLine[] = [];
  const push = (name: LogEvent, text: string, fields: Fields = {}, level: LogLine['level'] = 'info') => lines.push({ event: name, level, text, fields });
  const f = next.facts;
  const stop = f.stop;
  switch (event.type) {
    case 'started':
      if (verbose) {
        const where = f.terminal ? 'on its terminal, in graceful\'s process group (terminal mode)' : 'in its own session';
        push('started', `started ${subject(f)} ${where} (kill mode ${policy.killMode})`, { pid: f.pid, terminal: f.terminal, killMode: policy.killMode });
      }
      break;
    case 'ready':
      if (f.readyAt !== null && prev.facts.readyAt === null && f.startedAt !== null) {
        const readyMs = Math.round(f.readyAt - f.startedAt);
        push('ready', `${subject(f)} ready in ${human(readyMs)}`, { pid: f.pid, readyMs });
      }
      break;
    case 'stop-requested':
      if (prev.phase.kind !== 'running' && prev.phase.kind !== 'done' && prev.phase.kind !== 'starting') {
        const resent = actions.some((a) => a.type === 'send' && a.reason === 'stop');
        if (resent) push('stop-repeated', `${event.signal} received again: sent ${stop?.signal} again`, { pid: f.pid, received: event.signal, signal: stop?.signal ?? null, resent: true });
        else if (!actions.some((a) => a.type === 'send')) push('stop-repeated', `${event.signal} received again: already stopping`, { pid: f.pid, received: event.signal, signal: null, resent: false });
      }
      break;
    case 'pre-stop-exited': {
      const p = stop?.preStop;
      if (p && p.endedAt === event.at) {
        const failed = Boolean(p.error || p.signal || p.code !== 0);
        push('pre-stop-ended', failed ? `${preStopPhrase(p)}; stopping anyway` : preStopPhrase(p), { pid: f.pid, preStopMs: Math.round(p.endedAt - p.startedAt), code: p.code, signal: p.signal, error: p.error, ok: !failed }, failed ? 'warn' : 'info');
      }
      break;
    }
    case 'child-exited':
      if (event.survivors > 0 && !leavesRest(policy)) {
        push('main-exited', `${subject(f)} ${exitPhrase(f.exit!)}; ${event.survivors} process(es) of its tree remain`, { pid: f.pid, code: f.exit!.code, signal: f.exit!.signal, survivors: event.survivors });
      }
      break;
    case 'tree-empty':
      if (verbose) push('tree-gone', 'the rest of its tree is gone', { pid: f.pid, treeGoneAfterMs: stop ? Math.round(event.at - stop.requestedAt) : null });
      break;
    case 'forward':
    case 'suspend':
      if (verbose && event.delivered) push('signal-delivered', `${event.signal} reached ${subject(f)} from the terminal or the shell, with graceful: not sent again`, { pid: f.pid, signal: event.signal });
      break;
    case 'child-stopped':
      if (verbose && f.terminal) push('child-stopped', `${subject(f)} was stopped (job control): graceful stops with it`, { pid: f.pid });
      break;
    case 'app-phase': {
      // The program's own shutdown, step by step; its start (hello, opened, ready) and the
      // start of each close with --verbose only.
      const quiet = event.phase.phase === 'hello' || event.phase.phase === 'opened' || event.phase.phase === 'ready' || event.phase.phase === 'closing';
      if (!quiet || verbose) {
        push('app-phase', `${event.pid !== null && event.pid !== f.pid ? `pid ${event.pid}` : subject(f)}: ${describePhase(event.phase)}`, { pid: event.pid ?? f.pid, ...phaseFields(event.phase) });
      }
      break;
    }
    case 'spawn-failed':
    case 'timer':
    case 'stop':
    case 'child-stopping':
    case 'extend-timeout':
    case 'app-found':
    case 'app-exited':
      break;
  }
  if (!prev.facts.stop && stop && stop.trigger !== 'child-exit') {
    const grace = stop.deadline !== null ? `grace period ${human(graceMs(stop)!)}` : 'no kill (--no-kill)';
    push('stop-requested', `${triggerPhrase(stop.trigger, policy)}: stopping ${subject(f)}; ${grace}`, { pid: f.pid, trigger: stop.trigger, graceMs: graceMs(stop) });
  }
  // Terminal mode: the terminal itself gave the child the stop signal (Ctrl+C).
  if (stop?.delivered && stop.signal === stop.trigger && prev.facts.stop?.signal == null) {
    const leftMs = stop.deadline !== null ? Math.round(stop.deadline - event.at) : null;
    const left = leftMs !== null ? `; ${policy.killSignal} in ${human(leftMs)}` : '';
    push('signal-delivered', `${subject(f)} got ${stop.signal} from the terminal${left}`, { pid: f.pid, signal: stop.signal, killSignal: policy.killSignal, killInMs: leftMs });
  }
  const after = (at: number) => (stop ? Math.round(at - stop.requestedAt) : null);
  for (const a of actions) {
    if (a.type === 'run-pre-stop') push('pre-stop', `running pre-stop: ${a.command}`, { pid: f.pid, command: a.command });
    if (a.type === 'arm' && a.timer === 'stop-delay') {
      const auto = policy.stopDelayAuto;
      // auto: said once, when the wait begins; each new arrival moves the time silently.
      if (auto && event.type !== 'traffic') {
        push(
          'stop-delay',
          `waiting for the load balancer before signalling (--stop-delay auto): until no new work for ${human(auto.quietMs)}${auto.floorMs > 0 ? `, at least ${human(auto.floorMs)}` : ''}, at most ${human(auto.capMs)}`,
          { pid: f.pid, floorMs: auto.floorMs, quietMs: auto.quietMs, capMs: auto.capMs },
        );
      } else if (!auto) push('stop-delay', `waiting ${human(policy.stopDelayMs)} before signalling (--stop-delay)`, { pid: f.pid, stopDelayMs: policy.stopDelayMs });
    }
    if (a.type === 'cancel-pre-stop') push('pre-stop-cancelled', 'pre-stop cancelled', { pid: f.pid }, 'warn');
    if (a.type !== 'send') continue;
    switch (a.reason) {
      case 'stop': {
        if (event.type === 'stop-requested' && prev.phase.kind !== 'running') break; // said above
        if (a.target === 'outside-group' && !verbose) break; // the line above
        const leftMs = stop?.deadline != null ? Math.round(stop.deadline - event.at) : null;
        const left = leftMs !== null ? `; ${a.signal === policy.killSignal ? 'again' : policy.killSignal} in ${human(leftMs)}` : '';
        push('signal-sent', `sent ${a.signal} to ${who(f, a.target)}${left}`, { pid: f.pid, signal: a.signal, target: a.target, sentAfterMs: after(event.at), killSignal: policy.kill ? policy.killSignal : null, killInMs: leftMs });
        break;
      }
      case 'kill': {
        const why = event.type === 'stop-requested' ? `${event.signal} received again` : stop ? killWhy(f, policy) : 'kill';
        const reason = event.type === 'stop-requested' ? 'second-signal' : (stop?.killReason ?? null);
        push('kill-sent', `${why}: sent ${a.signal} to ${who(f, a.target)}`, { pid: f.pid, signal: a.signal, target: a.target, reason, sentAfterMs: after(event.at), graceMs: stop ? graceMs(stop) : null }, 'warn');
        break;
      }
      case 'forward':
      case 'suspend':
        if (verbose && a.target !== 'outside-group') push('forwarded', `forwarded ${a.signal} to ${who(f, a.target)}`, { pid: f.pid, signal: a.signal, target: a.target });
        break;
      case 'sigcont':
        break;
    }
  }
  return lines;
}

// A phase of graceful-supervisor/app as fields of its line: the protocol's own figures
// (docs/app-protocol.md), the nested per-source counts left out (the line counts them).
function phaseFields(phase: AppPhase): Fields {
  const fields: Fields = {};
  for (const [key, value] of Object.entries(phase)) {
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') fields[key] = value;
  }
  return fields;
}

// The countdown to `deadline`, in whole seconds, as the live lines show it: "12s left".
export function timeLeft(deadline: number, now: number): string {
  return `${Math.max(0, Math.ceil((deadline - now) / 1000))}s left`;
}

// What a second Ctrl+C does while graceful stops, as the live lines say it.
export const FORCE_HINT = 'Ctrl+C again to force';

// The live line shown on a terminal while stopping, or null when there is nothing to show:
// `command` (each argument by its base name) is shortened to fit the terminal's width with
// describeCommand, `what` (the countdown) is not. `hint` adds FORCE_HINT (graceful up says it
// once, for the whole stack, not on each program's row).
export function statusLine(state: State, policy: Policy, now: number, hint = policy.kill): { command: readonly string[]; pid: number | null; what: string } | null {
  const { phase, facts } = state;
  const stop = facts.stop;
  if (!stop) return null;
  const left = stop.deadline !== null ? `, ${timeLeft(stop.deadline, now)}` : '';
  const force = hint ? `, ${FORCE_HINT}` : '';
  const command = facts.command.map(basename);
  const line = (what: string) => ({ command, pid: facts.pid, what });
  switch (phase.kind) {
    case 'pre-stop':
      return line(`running pre-stop${left}${force}`);
    case 'delaying':
      return line(`serving until the stop signal (--stop-delay)${left}${force}`);
    case 'signalled': {
      // A program using graceful-supervisor/app says where its shutdown is: that is the line.
      const at = programStep(facts);
      return line(`${at ?? `${stop.signal} sent`}${left}${force}`);
    }
    case 'killed':
      return line(`${stop.killSignal} sent, waiting for it to exit`);
    case 'draining':
      return line(
        phase.killed
          ? `${stop.killSignal} sent to the rest of its tree`
          : `main process exited, waiting for the rest of its tree${left}${force}`,
      );
    case 'starting':
    case 'running':
    case 'done':
      return null;
  }
}
