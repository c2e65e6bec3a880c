// PURE: the order of a stack (graceful up). One machine and one supervisor per program
// stop each program; this layer above them decides when each one starts and when each one
// is asked to stop, relative to the others: step(state, event) -> { state, actions }, no
// I/O, no clock (every event carries `at`). The shell (src/commands/up/up.ts) turns the actions into
// supervisor calls and reports what the supervisors saw as events.
//
// The rules:
// - start: a process starts once each of its dependencies meets its condition (started,
//   ready, completed); independent ones start together.
// - stop: the reverse. A process is asked to stop once nothing that depends on it is still
//   up; independent branches stop together. The stack's deadline caps each grace period.
// - one ends on its own: restarted per its restart policy (core/restart.ts), its dependents
//   marked `restart` stopped first and started again once it meets their condition; else
//   the stack ends if --exit-with names it, its on_exit says so, or a process still waiting
//   to start needed it.
// - commands (graceful ctl, through up's control socket), while the stack is up:
//   stop NAME: refused while a process that depends on NAME runs, naming them; with
//     dependents, they are stopped first, in reverse order, then NAME. A stopped process is
//     held: not restarted by its policy, not started again until `start`; what depends on it
//     waits.
//   start NAME: starts it (and what it needs that was stopped) once its dependencies meet
//     their conditions.
//   restart NAME: its dependents marked `restart` are stopped first and follow it (as on a
//     crash restart); the others keep running and wait for it; then NAME stops through its
//     stop sequence and starts again. A restart is not a crash: its policy's history is not
//     touched.
import { EXIT } from './exit.js';
import { ECHO_WINDOW_MS } from './machine.js';
import { decide, retain, type RestartPolicy, type RunRecord } from './restart.js';
import type { StopSignal, StopTrigger } from './types.js';

/** What a dependent waits for (compose's service_started / service_healthy / service_completed_successfully). */
export type Condition =
  /** The dependency was spawned. */
  | 'started'
  /** Its ready probe succeeded. */
  | 'ready'
  /** It ran to its end with success (a migration, a build step). */
  | 'completed';

export interface Dependency {
  name: string;
  condition: Condition;
  /** When the dependency restarts, this process is stopped first and started again after it (compose's depends_on.restart). */
  restart: boolean;
}

/** What the end of a process (not restarted) does to the stack. */
export type OnExit =
  /** The stack stops, whatever its status. */
  | 'stop'
  /** The stack stops if it failed (the default); a success leaves the rest running. */
  | 'stop-on-failure'
  /** The rest keeps running. */
  | 'continue';

export interface StackProcess {
  name: string;
  dependsOn: readonly Dependency[];
  restart: RestartPolicy;
  onExit: OnExit;
  /** It has a ready probe (the condition `ready` needs one). */
  ready: boolean;
}

export interface StackPolicy {
  /** The processes of the stack, in the file's order. */
  processes: readonly StackProcess[];
  /** --exit-with: its end ends the stack, and its status is graceful's. */
  exitWith: string | null;
  /** The whole stop's deadline (--timeout, a platform's), or null. */
  deadlineMs: number | null;
}

/** Where one process is, as the stack sees it. */
export type ProcState =
  /** Not started: waiting for its dependencies' conditions (or, stopping, never started). */
  | { kind: 'waiting' }
  /** Asked to start; `startedAt` once spawned, `readyAt` once ready. */
  | { kind: 'running'; startedAt: number | null; readyAt: number | null }
  /** Asked to stop by the stack; its own stop sequence runs. `then`: what follows its end. */
  | { kind: 'stopping'; startedAt: number | null; requestedAt: number; then: 'end' | 'wait' }
  /** Ended on its own; starts again at `due` (its restart delay). */
  | { kind: 'restarting'; due: number }
  /** Ended, not to be started again. `stopped`: asked to by the stack. */
  | { kind: 'ended'; at: number; status: number; success: boolean; stopped: boolean };

export interface Proc {
  state: ProcState;
  /** Its runs, for the restart policy (trimmed by retain()). */
  history: RunRecord[];
  /** How many times it was started. */
  starts: number;
  /** Stopped for a dependency's restart: it waits, then starts again (see ProcState 'stopping'.then). */
  bounce: boolean;
  /** The status of its last run, if it ran. */
  lastStatus: number | null;
  /** Stopped by a command (graceful ctl stop): not started again until `start`. */
  held: boolean;
}

/** Why the stack stops. */
export type StackCause =
  /** graceful received SIGTERM, SIGINT (Ctrl+C) or, with a terminal gone, SIGHUP. */
  | { kind: 'signal'; signal: StopSignal }
  /** graceful check stops the stack once it is up. */
  | { kind: 'check' }
  /**
   * A process ended and was not restarted, and the stack cannot or should not go on:
   * `why` says which rule; `blocked`, a process that was waiting to start on it.
   */
  | { kind: 'ended'; name: string; status: number; why: EndReason; blocked: string | null };

/**
 * exit-with: --exit-with names it; on-exit: its on_exit says so; not-ready: not ready within
 * its ready timeout; not-started: it could not be spawned; gave-up: more unstable runs than
 * its max_restarts; unmet: it ended as a process waiting to start needed it up.
 */
export type EndReason = 'exit-with' | 'on-exit' | 'not-ready' | 'not-started' | 'gave-up' | 'unmet';

export type StackPhase =
  /** Starting and running: processes start as their dependencies allow. */
  | { kind: 'up' }
  /** The stack stops in reverse order; `deadline`: when every grace period must be over; `forced`: a second Ctrl+C killed what was left. */
  | { kind: 'stopping'; cause: StackCause; requestedAt: number; deadline: number | null; forced: boolean; interruptAt: number | null }
  /** Everything ended: graceful exits with `status`. */
  | { kind: 'done'; status: number };

export interface StackState {
  phase: StackPhase;
  procs: Record<string, Proc>;
  /** The processes in the order they ended during the stop (for the exit status and the report). */
  stopOrder: string[];
  /** The cause of the stop, kept once done. */
  cause: StackCause | null;
}

export type StackEvent =
  /** The process was spawned. */
  | { type: 'started'; at: number; name: string }
  /** Its ready probe succeeded. */
  | { type: 'ready'; at: number; name: string }
  /**
   * Its supervisor is done (main process and tree gone): `status` as graceful run would
   * exit, `success` if its policy counts it so, `trigger` what stopped it (null: ended on its
   * own), `startedAt` null if it never started.
   */
  | { type: 'ended'; at: number; name: string; status: number; success: boolean; trigger: StopTrigger | null; startedAt: number | null }
  /** graceful received a stop signal. */
  | { type: 'stop-requested'; at: number; signal: StopSignal }
  /** graceful check: stop the stack now. */
  | { type: 'check'; at: number }
  /** A restart delay is over. */
  | { type: 'timer'; at: number; name: string }
  /** graceful ctl asks for `command` (`client`: the shell's id of the asker). */
  | { type: 'command'; at: number; command: StackCommand; client: number };

/** What graceful ctl may ask of one process of a running stack. */
export type StackCommand =
  | { kind: 'stop'; name: string; dependents: boolean }
  | { kind: 'start'; name: string }
  | { kind: 'restart'; name: string };

/** Why a command was refused. */
export type Refusal =
  /** No such process in the stack. */
  | { kind: 'unknown'; name: string }
  /** The stack is stopping (or done): nothing starts, and everything stops already. */
  | { kind: 'stopping' }
  /** stop: processes that depend on it run; stop them first, or give --with-dependents. */
  | { kind: 'dependents'; name: string; running: string[] }
  /** stop: it is not running (its state). */
  | { kind: 'not-running'; name: string; state: ProcState['kind'] | 'held' }
  /** start: it runs already. */
  | { kind: 'running'; name: string }
  /** It is being stopped or restarted by the stack already. */
  | { kind: 'busy'; name: string };

/** The answer to a command: what it stops and starts (in order), or why not. */
export type CommandOutcome = { kind: 'accepted'; stops: string[]; starts: string[] } | { kind: 'refused'; refusal: Refusal };

export type StackAction =
  | { type: 'start'; name: string }
  /**
   * Ask it to stop: as if graceful got `trigger` (a signal), or for graceful's own reason
   * (check, stack); `graceMs` caps its grace period (the stack's deadline), null: its own.
   */
  | { type: 'stop'; name: string; trigger: StopSignal | 'check' | 'stack'; graceMs: number | null }
  /** The kill signal now (a second Ctrl+C). */
  | { type: 'force'; name: string; signal: StopSignal }
  /** Arm its restart timer. */
  | { type: 'arm'; name: string; at: number }
  /** Tell graceful ctl's client what its command does (or why not). */
  | { type: 'answer'; client: number; command: StackCommand; outcome: CommandOutcome }
  | { type: 'cancel'; name: string }
  | { type: 'exit'; status: number };

export interface StackStep {
  state: StackState;
  actions: StackAction[];
}

// The stack before anything started (startStack() begins it).
export function initialStack(policy: StackPolicy): StackState {
  const procs: Record<string, Proc> = {};
  for (const p of policy.processes) procs[p.name] = { state: { kind: 'waiting' }, history: [], starts: 0, bounce: false, lastStatus: null, held: false };
  return { phase: { kind: 'up' }, procs, stopOrder: [], cause: null };
}

// Starts what can start at `at`: the processes without dependencies.
export function startStack(policy: StackPolicy, at: number): StackStep {
  return advance(initialStack(policy), [], at, policy);
}

// Advances the stack by one event.
export function stepStack(state: StackState, event: StackEvent, policy: StackPolicy): StackStep {
  if (state.phase.kind === 'done') return { state, actions: [] };
  const s = clone(state);
  const actions: StackAction[] = [];
  const at = event.at;
  switch (event.type) {
    case 'started': {
      const p = s.procs[event.name];
      if (p && (p.state.kind === 'running' || p.state.kind === 'stopping') && p.state.startedAt === null) p.state = { ...p.state, startedAt: at };
      break;
    }
    case 'ready': {
      const p = s.procs[event.name];
      if (p && p.state.kind === 'running' && p.state.readyAt === null) p.state = { ...p.state, readyAt: at };
      break;
    }
    case 'ended':
      onEnded(s, event, policy, actions);
      break;
    case 'stop-requested':
      if (s.phase.kind === 'up') beginStop(s, { kind: 'signal', signal: event.signal }, at, policy, actions);
      else if (s.phase.kind === 'stopping') onRepeat(s, event.signal, at, actions);
      break;
    case 'check':
      if (s.phase.kind === 'up') beginStop(s, { kind: 'check' }, at, policy, actions);
      break;
    case 'timer': {
      const p = s.procs[event.name];
      if (s.phase.kind === 'up' && p?.state.kind === 'restarting') p.state = { kind: 'waiting' };
      break;
    }
    case 'command':
      actions.push({ type: 'answer', client: event.client, command: event.command, outcome: onCommand(s, event.command, policy, actions) });
      break;
    default:
      return never(event);
  }
  return advance(s, actions, at, policy);
}

// A process's supervisor is done.
function onEnded(s: StackState, event: Extract<StackEvent, { type: 'ended' }>, policy: StackPolicy, actions: StackAction[]): void {
  const p = s.procs[event.name];
  if (!p || p.state.kind === 'ended' || p.state.kind === 'waiting' || p.state.kind === 'restarting') return;
  const { at, status, success } = event;
  p.lastStatus = status;
  const ended = (stopped: boolean): ProcState => ({ kind: 'ended', at, status, success, stopped });
  if (s.phase.kind === 'stopping') {
    s.stopOrder.push(event.name);
    p.state = ended(p.state.kind === 'stopping');
    return;
  }
  if (p.state.kind === 'stopping') {
    // Stopped by the stack for a dependency's restart, or by a command: it waits to start again.
    if (p.state.then === 'wait') {
      p.state = { kind: 'waiting' };
      p.bounce = false;
    } else p.state = ended(true);
    return;
  }
  // Ended on its own (or stopped by its own policy: not ready in time, over its memory limit).
  const spec = policy.processes.find((q) => q.name === event.name)!;
  const notStarted = event.startedAt === null;
  if (policy.exitWith === event.name) {
    p.state = ended(false);
    beginStop(s, { kind: 'ended', name: event.name, status, why: 'exit-with', blocked: null }, at, policy, actions);
    return;
  }
  if (!notStarted) {
    p.history.push({ startedAt: event.startedAt!, endedAt: at, status, trigger: event.trigger });
    const decision = decide(spec.restart, p.history, at);
    p.history = retain(p.history, spec.restart, at);
    if (decision.kind === 'restart') {
      p.state = { kind: 'restarting', due: at + decision.delayMs };
      actions.push({ type: 'arm', name: event.name, at: at + decision.delayMs });
      for (const name of bounceSet(event.name, policy)) {
        const q = s.procs[name]!;
        if (q.state.kind === 'running') q.bounce = true;
      }
      return;
    }
    p.state = ended(false);
    if (decision.reason === 'start-limit') {
      beginStop(s, { kind: 'ended', name: event.name, status, why: 'gave-up', blocked: null }, at, policy, actions);
      return;
    }
  } else p.state = ended(false);

  // A process still waiting to start that needed this one up can never start now.
  const blocked = policy.processes.find((q) => s.procs[q.name]!.state.kind === 'waiting' && q.dependsOn.some((d) => d.name === event.name && !metByEnded(d.condition, success)));
  const why: EndReason = notStarted ? 'not-started' : event.trigger === 'ready-timeout' ? 'not-ready' : blocked ? 'unmet' : 'on-exit';
  if (blocked || notStarted || event.trigger === 'ready-timeout') {
    beginStop(s, { kind: 'ended', name: event.name, status, why, blocked: blocked?.name ?? null }, at, policy, actions);
    return;
  }
  if (spec.onExit === 'stop' || (spec.onExit === 'stop-on-failure' && !success)) {
    beginStop(s, { kind: 'ended', name: event.name, status, why, blocked: null }, at, policy, actions);
  }
}

// A command of graceful ctl: changes the state (advance() then starts and stops in order),
// says what it will do.
function onCommand(s: StackState, command: StackCommand, policy: StackPolicy, actions: StackAction[]): CommandOutcome {
  const refuse = (refusal: Refusal): CommandOutcome => ({ kind: 'refused', refusal });
  const { name } = command;
  const p = s.procs[name];
  if (!p) return refuse({ kind: 'unknown', name });
  if (s.phase.kind !== 'up') return refuse({ kind: 'stopping' });
  const up = (n: string) => ['running', 'stopping'].includes(s.procs[n]!.state.kind);
  switch (command.kind) {
    case 'stop': {
      if (p.state.kind === 'stopping' || p.bounce) return refuse({ kind: 'busy', name });
      if (p.state.kind === 'restarting') {
        // Waiting out its restart delay: it is held where it is.
        actions.push({ type: 'cancel', name });
        p.state = { kind: 'waiting' };
        p.held = true;
        return { kind: 'accepted', stops: [], starts: [] };
      }
      if (p.state.kind !== 'running') return refuse({ kind: 'not-running', name, state: p.held ? 'held' : p.state.kind });
      const dependents = dependentsClosure(name, policy).filter(up);
      if (dependents.length > 0 && !command.dependents) return refuse({ kind: 'dependents', name, running: dependents });
      // Dependents first (the stack's stop order), then it: advance() stops each held one
      // once nothing that depends on it is up.
      for (const d of [...dependents, name]) s.procs[d]!.held = true;
      return { kind: 'accepted', stops: stopOrder([...dependents, name], policy), starts: [] };
    }
    case 'start': {
      if (p.state.kind === 'running') return refuse({ kind: 'running', name });
      if (p.state.kind === 'stopping' || p.bounce) return refuse({ kind: 'busy', name });
      // It, and what it needs that a command stopped: started in order by advance(). (A task
      // that completed stays completed: its condition is met.)
      const needed = [name, ...dependenciesClosure(name, policy).filter((n) => s.procs[n]!.held)].filter((n) => !up(n) && s.procs[n]!.state.kind !== 'restarting');
      for (const n of needed) {
        const q = s.procs[n]!;
        q.held = false;
        if (q.state.kind === 'ended') q.state = { kind: 'waiting' };
      }
      if (p.state.kind === 'restarting') {
        actions.push({ type: 'cancel', name });
        p.state = { kind: 'waiting' };
        needed.push(name);
      }
      return { kind: 'accepted', stops: [], starts: policy.processes.map((q) => q.name).filter((n) => needed.includes(n)) };
    }
    case 'restart': {
      if (p.state.kind === 'stopping' || p.bounce) return refuse({ kind: 'busy', name });
      if (p.state.kind !== 'running') return onCommand(s, { kind: 'start', name }, policy, actions);
      // As a crash restart does: its `restart: true` dependents stop first and follow it.
      const follow = bounceSet(name, policy).filter((n) => s.procs[n]!.state.kind === 'running');
      for (const n of [...follow, name]) s.procs[n]!.bounce = true;
      return { kind: 'accepted', stops: stopOrder([...follow, name], policy), starts: [name, ...follow.filter((n) => policy.processes.some((q) => q.name === n))].sort((a, b) => order(a, policy) - order(b, policy)) };
    }
    default:
      return never(command);
  }
}

// The processes that depend on `name`, transitively (any condition).
function dependentsClosure(name: string, policy: StackPolicy): string[] {
  const out: string[] = [];
  const visit = (of: string) => {
    for (const d of dependentsOf(of, policy)) {
      if (out.includes(d)) continue;
      out.push(d);
      visit(d);
    }
  };
  visit(name);
  return out;
}

// What `name` depends on, transitively.
function dependenciesClosure(name: string, policy: StackPolicy): string[] {
  const out: string[] = [];
  const visit = (of: string) => {
    for (const d of policy.processes.find((q) => q.name === of)?.dependsOn ?? []) {
      if (out.includes(d.name)) continue;
      out.push(d.name);
      visit(d.name);
    }
  };
  visit(name);
  return out;
}

// `names` in the order the stack stops them: the dependents first.
function stopOrder(names: string[], policy: StackPolicy): string[] {
  // 0: nothing among `names` depends on it (it stops first); else one more than its dependents'.
  const depth = (n: string): number => Math.max(0, ...dependentsOf(n, policy).filter((d) => names.includes(d)).map((d) => depth(d) + 1));
  return [...names].sort((a, b) => depth(a) - depth(b) || order(a, policy) - order(b, policy));
}

function order(name: string, policy: StackPolicy): number {
  return policy.processes.findIndex((q) => q.name === name);
}

// Is the process down for good or held by a command (its stop is over)?
export function isDown(state: StackState, name: string): boolean {
  const k = state.procs[name]?.state.kind;
  return k === 'ended' || k === 'waiting';
}

// Is the process up again: running, and ready where it has a probe?
export function isUp(state: StackState, name: string, policy: StackPolicy): boolean {
  const p = state.procs[name];
  if (!p || p.state.kind !== 'running' || p.bounce || p.state.startedAt === null) return false;
  return !policy.processes.find((q) => q.name === name)?.ready || p.state.readyAt !== null;
}

// A condition that a process which ended (and will not run again) still meets.
function metByEnded(condition: Condition, success: boolean): boolean {
  return success && (condition === 'completed' || condition === 'started');
}

// The processes to stop before `name` starts again: its dependents marked `restart`, and
// theirs, transitively.
export function bounceSet(name: string, policy: StackPolicy): string[] {
  const out: string[] = [];
  const visit = (of: string) => {
    for (const p of policy.processes) {
      if (out.includes(p.name)) continue;
      if (p.dependsOn.some((d) => d.name === of && d.restart)) {
        out.push(p.name);
        visit(p.name);
      }
    }
  };
  visit(name);
  return out;
}

function beginStop(s: StackState, cause: StackCause, at: number, policy: StackPolicy, actions: StackAction[]): void {
  s.phase = { kind: 'stopping', cause, requestedAt: at, deadline: policy.deadlineMs === null ? null : at + policy.deadlineMs, forced: false, interruptAt: cause.kind === 'signal' && cause.signal === 'SIGINT' ? at : null };
  s.cause = cause;
  for (const [name, p] of Object.entries(s.procs)) {
    // A restart that had not begun will not.
    if (p.state.kind === 'restarting') {
      actions.push({ type: 'cancel', name });
      p.state = { kind: 'ended', at, status: p.lastStatus ?? 0, success: p.lastStatus === 0, stopped: false };
    }
    // A process stopping for a restart now stops for good.
    if (p.state.kind === 'stopping') p.state = { ...p.state, then: 'end' };
  }
}

// Another stop signal while stopping: a Ctrl+C is "again to force", unless it is the echo
// of the first (one keypress seen twice: machine.ts, ECHO_WINDOW_MS).
function onRepeat(s: StackState, signal: StopSignal, at: number, actions: StackAction[]): void {
  const phase = s.phase as Extract<StackPhase, { kind: 'stopping' }>;
  if (signal !== 'SIGINT' || phase.forced) return;
  if (phase.interruptAt !== null && at - phase.interruptAt < ECHO_WINDOW_MS) return;
  s.phase = { ...phase, forced: true };
  for (const [name, p] of Object.entries(s.procs)) {
    if (p.state.kind === 'running' || p.state.kind === 'stopping') actions.push({ type: 'force', name, signal });
    if (p.state.kind === 'running') p.state = { kind: 'stopping', startedAt: p.state.startedAt, requestedAt: at, then: 'end' };
  }
}

// After every event: start what may start, stop what may stop, finish when nothing is left.
function advance(s: StackState, actions: StackAction[], at: number, policy: StackPolicy): StackStep {
  const { phase } = s;
  const up = (name: string) => {
    const k = s.procs[name]!.state.kind;
    return k === 'running' || k === 'stopping';
  };
  if (phase.kind === 'up') {
    for (const spec of policy.processes) {
      const p = s.procs[spec.name]!;
      if (p.state.kind === 'waiting' && canStart(s, spec, policy)) {
        p.state = { kind: 'running', startedAt: null, readyAt: null };
        p.starts++;
        actions.push({ type: 'start', name: spec.name });
      }
    }
    // Dependents stopping for a restart, and processes stopped by a command: each once its
    // own dependents stopping with it are down (the stack's stop order).
    for (const spec of policy.processes) {
      const p = s.procs[spec.name]!;
      if (p.state.kind !== 'running' || (!p.bounce && !p.held)) continue;
      const waitFor = dependentsOf(spec.name, policy).filter((d) => (s.procs[d]!.bounce || s.procs[d]!.held) && up(d));
      if (waitFor.length > 0) continue;
      p.state = { kind: 'stopping', startedAt: p.state.startedAt, requestedAt: at, then: 'wait' };
      actions.push({ type: 'stop', name: spec.name, trigger: 'stack', graceMs: null });
    }
    const done = Object.values(s.procs).every((p) => p.state.kind === 'ended');
    if (done) {
      const status = Object.values(s.procs).find((p) => p.lastStatus)?.lastStatus ?? 0;
      return finish(s, actions, status);
    }
    return { state: s, actions };
  }
  if (phase.kind !== 'stopping') return { state: s, actions };
  // Reverse order: a process stops once nothing that depends on it is up.
  for (const spec of policy.processes) {
    const p = s.procs[spec.name]!;
    if (p.state.kind !== 'running') continue;
    if (!phase.forced && dependentsOf(spec.name, policy).some(up)) continue;
    const trigger = phase.cause.kind === 'signal' ? phase.cause.signal : phase.cause.kind === 'check' ? 'check' : 'stack';
    const graceMs = phase.deadline === null ? null : Math.max(0, phase.deadline - at);
    p.state = { kind: 'stopping', startedAt: p.state.startedAt, requestedAt: at, then: 'end' };
    actions.push({ type: 'stop', name: spec.name, trigger, graceMs });
  }
  if (Object.values(s.procs).some((p) => p.state.kind === 'running' || p.state.kind === 'stopping')) return { state: s, actions };
  return finish(s, actions, stackStatus(s, policy, phase.cause));
}

// May this waiting process start: each dependency meets its condition, and nothing that
// depends on it is still up from before its restart ("dependents stopped first").
function canStart(s: StackState, spec: StackProcess, policy: StackPolicy): boolean {
  const met = spec.dependsOn.every((d) => {
    const dep = s.procs[d.name]!;
    const st = dep.state;
    if (st.kind === 'ended') return metByEnded(d.condition, st.success);
    // One going down for a restart (or a command) meets nothing until it is up again.
    if (st.kind !== 'running' || dep.bounce || dep.held) return false;
    if (d.condition === 'started') return st.startedAt !== null;
    if (d.condition === 'ready') return st.readyAt !== null;
    return false;
  });
  if (!met || s.procs[spec.name]!.held) return false;
  return !dependentsOf(spec.name, policy).some((d) => {
    const q = s.procs[d]!;
    return q.bounce && (q.state.kind === 'running' || q.state.kind === 'stopping');
  });
}

// graceful's exit status: --exit-with's process's; else the cause's; else, after a stop
// request, the first failure in the order they stopped (0 if none).
function stackStatus(s: StackState, policy: StackPolicy, cause: StackCause): number {
  if (policy.exitWith !== null) {
    const last = s.procs[policy.exitWith]?.lastStatus ?? null;
    if (last !== null) return last;
  }
  if (cause.kind === 'ended') return cause.status !== 0 ? cause.status : cause.why === 'unmet' ? EXIT.unmetDependency : EXIT.ok;
  for (const name of s.stopOrder) {
    const p = s.procs[name]!;
    if (p.state.kind === 'ended' && !p.state.success) return p.state.status || EXIT.stackFailed;
  }
  return EXIT.ok;
}

function finish(s: StackState, actions: StackAction[], status: number): StackStep {
  s.phase = { kind: 'done', status };
  actions.push({ type: 'exit', status });
  return { state: s, actions };
}

// The processes that depend on `name` (any condition).
export function dependentsOf(name: string, policy: StackPolicy): string[] {
  return policy.processes.filter((p) => p.dependsOn.some((d) => d.name === name)).map((p) => p.name);
}

function clone(s: StackState): StackState {
  const procs: Record<string, Proc> = {};
  for (const [name, p] of Object.entries(s.procs)) procs[name] = { ...p, state: { ...p.state }, history: [...p.history] };
  return { ...s, procs, stopOrder: [...s.stopOrder] };
}

function never(value: never): never {
  throw new Error(`unhandled: ${JSON.stringify(value)}`);
}

// ---------------------------------------------------------------- the file's graph, at load

/** A dependency graph as the file gives it: names and their depends_on. */
export interface Graph {
  names: readonly string[];
  deps: (name: string) => readonly string[];
}

// What is wrong with the graph, in one line, or null: a name depends_on that is not in the
// file, a process that depends on itself, a cycle (named in full: a -> b -> a).
export function graphProblem(graph: Graph): string | null {
  for (const name of graph.names) {
    for (const dep of graph.deps(name)) {
      if (dep === name) return `${name} depends on itself`;
      if (!graph.names.includes(dep)) return `${name} depends on ${JSON.stringify(dep)}, which is not a process of the file (${graph.names.join(', ')})`;
    }
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  let cycle: string[] | null = null;
  const visit = (name: string): void => {
    if (cycle) return;
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      cycle = [...path.slice(path.indexOf(name)), name];
      return;
    }
    state.set(name, 'visiting');
    path.push(name);
    for (const dep of graph.deps(name)) visit(dep);
    path.pop();
    state.set(name, 'done');
  };
  for (const name of graph.names) visit(name);
  if (cycle) return `a dependency cycle: ${(cycle as string[]).join(' -> ')}; one of them must not wait for the other`;
  return null;
}

// The levels of the stack: level 0 depends on nothing, level n on something of level n-1.
// The start goes up the levels, the stop down them.
export function levels(graph: Graph): string[][] {
  const level = new Map<string, number>();
  const of = (name: string): number => {
    const known = level.get(name);
    if (known !== undefined) return known;
    const l = Math.max(-1, ...graph.deps(name).map(of)) + 1;
    level.set(name, l);
    return l;
  };
  const out: string[][] = [];
  for (const name of graph.names) (out[of(name)] ??= []).push(name);
  return out;
}

// The longest chain of grace periods, stopped one after the other: the least time an
// ordered stop may need when every process uses its whole grace period. With `cost` the
// grace period of each process (null: never killed).
export function longestChain(graph: Graph, cost: (name: string) => number | null): { ms: number | null; chain: string[] } {
  const memo = new Map<string, { ms: number | null; chain: string[] }>();
  const dependents = (name: string) => graph.names.filter((n) => graph.deps(n).includes(name));
  // A chain stops from the top: a process, then (after it) what it depends on.
  const from = (name: string): { ms: number | null; chain: string[] } => {
    const known = memo.get(name);
    if (known) return known;
    let best: { ms: number | null; chain: string[] } = { ms: 0, chain: [] };
    for (const dep of graph.deps(name)) {
      const c = from(dep);
      if (best.ms !== null && (c.ms === null || c.ms > best.ms)) best = c;
    }
    const own = cost(name);
    const result = { ms: own === null || best.ms === null ? null : own + best.ms, chain: [name, ...best.chain] };
    memo.set(name, result);
    return result;
  };
  let best: { ms: number | null; chain: string[] } = { ms: 0, chain: [] };
  for (const name of graph.names.filter((n) => dependents(n).length === 0)) {
    const c = from(name);
    if (best.ms !== null && (c.ms === null || c.ms > best.ms)) best = c;
  }
  return best;
}

// The processes to run for `wanted` names: them and everything they depend on,
// transitively, in the file's order (all of them when none is named).
export function selectProcesses(graph: Graph, wanted: readonly string[]): string[] {
  if (wanted.length === 0) return [...graph.names];
  const keep = new Set<string>();
  const visit = (name: string) => {
    if (keep.has(name)) return;
    keep.add(name);
    for (const dep of graph.deps(name)) visit(dep);
  };
  for (const name of wanted) visit(name);
  return graph.names.filter((n) => keep.has(n));
}
