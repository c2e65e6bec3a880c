// graceful up's own words: what the stack starts, a restart it will make, why it stops and in
// which order, a second Ctrl+C, and its last line. Pure: built from the stack's state
// (core/stack.ts) and each program's runs, so that a test reads them from facts.
import { isUp, levels, type Graph, type Refusal, type StackAction, type StackCause, type StackCommand, type StackEvent, type StackPolicy, type StackState } from '../../core/stack.js';
import { formatDuration } from '../../config/parse.js';
import { describeCommand, human, type Fields, type LogEvent } from '../../report/human.js';
import { restartReason } from '../../core/restart.js';
import type { ProcessRun } from '../../report/stack.js';
import type { UpOptions } from './options.js';
import type { Stack, StackEntry } from './stackfile.js';

/** What the stack's words read of one program: its entry in the file and its runs so far. */
export interface ProgramRuns {
  readonly entry: StackEntry;
  readonly runs: readonly ProcessRun[];
}

/** The programs of the stack by name, in the file's order. */
export type Programs = ReadonlyMap<string, ProgramRuns>;

/** A line of the stack's: about one program (its name in front), or the whole stack (null); its event and figures for the JSON log. */
export interface StackLine {
  name: string | null;
  text: string;
  event: LogEvent;
  fields: Fields;
}

// "stack.yml: 3 processes, started in order: db, redis; then api"
export function openingLine(stack: Stack): string {
  const n = stack.entries.length;
  return `${stack.file}: ${n} process${n > 1 ? 'es' : ''}, started in order: ${levels(stack.graph).map((l) => l.join(', ')).join('; then ')}`;
}

// Did the stack begin to stop with this step (it has a cause now, and had none)?
export function stopBegan(prev: StackState, next: StackState): boolean {
  return prev.cause === null && next.cause !== null;
}

// The stack's lines for one step of core/stack.ts (`event` took it from `prev` to `next`,
// deciding `actions`): what it starts, a restart it will make, why it stops and in which
// order, a second Ctrl+C.
export function stackLines(
  prev: StackState,
  event: StackEvent,
  next: StackState,
  actions: readonly StackAction[],
  programs: Programs,
  options: Pick<UpOptions, 'deadlineMs' | 'deadlineFrom'>,
): StackLine[] {
  const lines: StackLine[] = [];
  for (const a of actions) {
    if (a.type !== 'start') continue;
    const e = programs.get(a.name)!.entry;
    const after = e.dependsOn.map((d) => `${d.name} ${d.condition}`).join(', ');
    const again = next.procs[a.name]!.starts > 1 ? 'starting again' : 'starting';
    lines.push({ name: a.name, text: `${again} ${describeCommand(e.run.command)}${after ? ` (after ${after})` : ''}`, event: 'starting', fields: { starts: next.procs[a.name]!.starts, after: after || null } });
  }
  // A restart the stack will make.
  if (event.type === 'ended') {
    const before = prev.procs[event.name]!.state;
    const now = next.procs[event.name]!.state;
    if (before.kind !== 'restarting' && now.kind === 'restarting') {
      const waits = Object.entries(next.procs).filter(([, q]) => q.bounce).map(([n]) => n);
      const dependents = waits.length > 0 ? `; ${waits.join(', ')} ${waits.length > 1 ? 'stop' : 'stops'} first and ${waits.length > 1 ? 'start' : 'starts'} again after it` : '';
      lines.push({ name: event.name, text: `restarting in ${human(now.due - event.at)} (restart ${next.procs[event.name]!.starts})${dependents}`, event: 'restarting', fields: { reason: restartReason(event.trigger, event.status), delayMs: Math.round(now.due - event.at), restart: next.procs[event.name]!.starts, bounced: waits.join(' ') || null } });
    }
  }
  if (stopBegan(prev, next)) {
    const plan = stopPlan(next, programs);
    const why = causeLine(next.cause!, event.at, programs);
    const deadline = options.deadlineMs !== null ? `; all within ${formatDuration(options.deadlineMs)} (${options.deadlineFrom})` : '';
    lines.push({ name: null, text: plan ? `${why}: stopping the stack in reverse order: ${plan}${deadline}` : why, event: 'stack-stopping', fields: { cause: next.cause!.kind, deadlineMs: options.deadlineMs, order: plan || null } });
  }
  if (prev.phase.kind === 'stopping' && next.phase.kind === 'stopping' && !prev.phase.forced && next.phase.forced) {
    const left = actions.filter((a) => a.type === 'force').map((a) => a.name);
    lines.push({ name: null, text: `SIGINT received again: killing what is left at once: ${left.join(', ')}`, event: 'stack-forced', fields: { killed: left.join(' ') } });
  }
  return lines;
}

// Why the stack stops, in a sentence (`at`: when the cause came).
export function causeLine(cause: StackCause, at: number, programs: Programs): string {
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
export function stopPlan(s: StackState, programs: Programs): string {
  const entries = [...programs.values()].map((p) => p.entry);
  const running = entries.map((e) => e.name).filter((n) => ['running', 'stopping'].includes(s.procs[n]!.state.kind));
  const dependents = (n: string) => entries.filter((e) => running.includes(e.name) && e.dependsOn.some((d) => d.name === n)).map((e) => e.name);
  const below: Graph = { names: running, deps: dependents };
  return levels(below).map((level) => level.join(', ')).join('; then ');
}

// graceful up's last line (without --check): how the stack ended, how long its stop took
// (`stop`: when it began and ended), what stopped in which order, graceful's exit status.
export function endLine(state: StackState, status: number, stop: { began: number | null; ended: number | null }): string {
  const took = stop.began !== null && stop.ended !== null ? ` in ${human(stop.ended - stop.began)}` : '';
  const stopped = state.stopOrder;
  const what = state.cause === null ? 'every process ended on its own' : stopped.length > 0 ? `${stopped.join(', ')} in that order` : 'nothing was running';
  return `stack ${state.cause?.kind === 'signal' || state.cause?.kind === 'check' ? 'stopped' : 'ended'}${took}: ${what}; exit status ${status}`;
}

// The figures of endLine, for the JSON log: the stop's duration, the order, the exit status.
export function endFields(state: StackState, status: number, stop: { began: number | null; ended: number | null }): Fields {
  return {
    cause: state.cause?.kind ?? null,
    stopMs: stop.began !== null && stop.ended !== null ? Math.round(stop.ended - stop.began) : null,
    stopOrder: state.stopOrder.join(' ') || null,
    exitStatus: status,
  };
}

// ---------------------------------------------------------------- graceful ctl

// "stop api" / "stop redis --with-dependents"
export function describeCommandOf(command: StackCommand): string {
  return `${command.kind} ${command.name}${command.kind === 'stop' && command.dependents ? ' --with-dependents' : ''}`;
}

// Why a command was refused, and what to type instead.
export function refusalText(refusal: Refusal, names: readonly string[]): string {
  switch (refusal.kind) {
    case 'unknown':
      return `no process ${JSON.stringify(refusal.name)} in the stack (${names.join(', ')})`;
    case 'stopping':
      return 'the stack is stopping';
    case 'dependents':
      return `${refusal.running.join(', ')} depend${refusal.running.length > 1 ? '' : 's'} on ${refusal.name} and run${refusal.running.length > 1 ? '' : 's'}: stop ${refusal.running.length > 1 ? 'them' : 'it'} first, or give --with-dependents to stop ${refusal.running.length > 1 ? 'them' : 'it'} before ${refusal.name}`;
    case 'not-running':
      return `${refusal.name} is not running (${refusal.state === 'held' ? 'stopped by graceful ctl' : refusal.state})`;
    case 'running':
      return `${refusal.name} is running already`;
    case 'busy':
      return `${refusal.name} is being stopped or restarted already`;
    default:
      return never(refusal);
  }
}

// The stack's line when a command is accepted: what it stops and starts, in order.
export function acceptedLine(command: StackCommand, stops: readonly string[], starts: readonly string[]): string {
  const parts: string[] = [];
  if (stops.length > 0) parts.push(`stopping ${stops.join(', then ')}`);
  if (starts.length > 0) parts.push(`starting ${starts.join(', then ')}`);
  return `graceful ctl ${describeCommandOf(command)}: ${parts.join('; then ') || 'held where it is (it was waiting to restart)'}`;
}

/** One program as graceful ctl status shows it. */
export interface StatusRow {
  name: string;
  state: string;
  pid: number | null;
  ready: boolean | null;
  uptimeMs: number | null;
  restarts: number;
}

// A program's state in a word or two, from the stack's view of it.
export function stateWord(state: StackState, name: string, policy: StackPolicy): string {
  const p = state.procs[name]!;
  const st = p.state;
  switch (st.kind) {
    case 'waiting': {
      if (p.held) return 'stopped (graceful ctl)';
      const spec = policy.processes.find((q) => q.name === name)!;
      const unmet = spec.dependsOn.filter((d) => !isUp(state, d.name, policy)).map((d) => d.name);
      return unmet.length ? `waiting for ${unmet.join(', ')}` : 'waiting';
    }
    case 'running':
      if (p.bounce) return 'restarting (graceful ctl)';
      if (p.held) return 'stopping (graceful ctl)';
      if (st.startedAt === null) return 'starting';
      return policy.processes.find((q) => q.name === name)!.ready && st.readyAt === null ? 'started, not ready' : policy.processes.find((q) => q.name === name)!.ready ? 'ready' : 'running';
    case 'stopping':
      return p.bounce ? 'restarting (graceful ctl)' : p.held ? 'stopping (graceful ctl)' : 'stopping';
    case 'restarting':
      return 'waiting to restart';
    case 'ended':
      return `ended (status ${st.status})`;
    default:
      return never(st);
  }
}

// graceful ctl status, as text: a header and a row per program.
export function statusTable(rows: readonly StatusRow[]): string[] {
  const cells = rows.map((r) => [r.name, r.state, r.pid === null ? '-' : String(r.pid), r.ready === null ? '-' : r.ready ? 'yes' : 'no', r.uptimeMs === null ? '-' : human(r.uptimeMs), String(r.restarts)]);
  const head = ['NAME', 'STATE', 'PID', 'READY', 'UPTIME', 'RESTARTS'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [head, ...cells].map((c) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!))).join('  '));
}

function never(value: never): never {
  throw new Error(`unhandled: ${JSON.stringify(value)}`);
}
