// PURE: the generations of a reloadable program (graceful run --listen / --control). A
// zero-downtime reload starts a new generation of the program beside the one that serves,
// waits until the NEW one is ready, and only then stops the old one with its full stop
// sequence (machine.ts, through its own supervisor); a new one that fails to start or to
// become ready is stopped and the old one keeps serving. This layer decides what the
// generations do relative to each other: when one starts, when one is retired, what a stop
// of graceful means for each, when a crash restarts (restart.ts), what a reload's outcome
// is. step(state, event) -> { state, actions }, every event answered in every phase; the
// coordinator's shell (src/commands/run/generations.ts) turns the actions into supervisor calls.
import { ECHO_WINDOW_MS } from './machine.js';
import { decide, retain, type Decision, type RestartPolicy, type RunRecord } from './restart.js';
import type { OwnStop, StopSignal, StopTrigger } from './types.js';

export interface GenerationsPolicy {
  restart: RestartPolicy;
  /**
   * Without --ready, how long a new generation must have run to count as ready (einhorn and
   * Server::Starter wait 1 s the same way); null with --ready: its probe says.
   */
  settleMs: number | null;
}

/** What a generation is to the program as a whole. */
export type Role =
  /** Started, not ready yet: the first one, a restart, or a reload's new one. */
  | 'starting'
  /** Ready, and the one that serves: at most one generation at a time. */
  | 'serving'
  /** Replaced by a newer one: asked to stop, draining. */
  | 'retired'
  /** Its whole tree is gone. */
  | 'exited';

/** How a generation ended: graceful's status had it been the last, and what stopped it (null: it ended on its own). */
export interface GenerationExit {
  at: number;
  status: number;
  trigger: StopTrigger | null;
}

export interface Generation {
  /** 1 for the first, then one more for each restart or reload. */
  n: number;
  role: Role;
  /** Why it was started. */
  cause: 'first' | 'restart' | 'reload';
  spawnAt: number;
  pid: number | null;
  startedAt: number | null;
  readyAt: number | null;
  /** When it was retired (replaced by a newer generation). */
  retiredAt: number | null;
  exit: GenerationExit | null;
}

export type ReloadOutcome =
  /** The new generation is ready and serves; the one it replaced was asked to stop. */
  | 'switched'
  /** The new generation ended before it was ready; the old one kept serving. */
  | 'rolled-back'
  /** Nothing was switched and nothing serves the old way either: graceful was stopping, or no generation was serving. */
  | 'failed';

/** Why a reload did not switch. */
export type ReloadReason =
  /** The new generation ended before it was ready (a crash, --ready-timeout, a failed spawn): its end. */
  | { kind: 'exited'; status: number; trigger: StopTrigger | null }
  /** graceful was asked to stop (or gave up restarting) before the new generation was ready. */
  | { kind: 'stopping' };

export interface Reload {
  /** 1, 2, ... in the order they were asked for. */
  n: number;
  requestedAt: number;
  /** What asked for it first: a signal's name, or 'control' (graceful reload). */
  via: string;
  /** Further requests merged into this one (they came while another reload was under way). */
  merged: number;
  /** Control clients waiting for the outcome, by the shell's ids. */
  waiting: number[];
  /** Its new generation (null: none was started). */
  generation: number | null;
  /** The generation serving when it started, which it replaces (null: none served). */
  replaces: number | null;
  /** When its new generation was ready. */
  readyAt: number | null;
  /** When the outcome was known. */
  endedAt: number | null;
  /** When the generation it replaced was gone (drained). */
  drainedAt: number | null;
  outcome: ReloadOutcome | null;
  reason: ReloadReason | null;
}

/** Where the program as a whole is. Each phase answers every event (see step). */
export type GenPhase =
  /** Generations come and go; reloads are taken. */
  | { kind: 'running' }
  /** No generation runs: waiting out the restart delay (--restart) until `until`. */
  | { kind: 'waiting'; until: number }
  /**
   * No generation will be started any more: graceful was asked to stop (`trigger`, at `at`),
   * or (trigger null) the restart policy said to stop; waiting for the live ones to end.
   * `main`: the generation whose status graceful exits with.
   */
  | { kind: 'stopping'; trigger: StopSignal | OwnStop | null; at: number; main: number | null }
  /** Every generation is gone: graceful exits with `status`. */
  | { kind: 'done'; status: number };

export interface GenState {
  phase: GenPhase;
  /** The live generations and the last KEPT finished ones, oldest first. */
  generations: Generation[];
  /** The reloads: the one under way, and the last KEPT finished ones, oldest first. */
  reloads: Reload[];
  /** Finished generations and reloads no longer listed (a long-lived graceful stays bounded). */
  omitted: { generations: number; reloads: number };
  /** The reload under way (its new generation not ready yet), by number. */
  current: number | null;
  /** Requests that came while a generation was starting: merged into one reload, taken after it. */
  queued: { at: number; via: string; count: number; waiting: number[] } | null;
  /** The restart policy's history (restart.ts), bounded by retain(). */
  history: RunRecord[];
  /** The restart policy's last word, when it said stop (for the report). */
  gaveUp: Extract<Decision, { kind: 'stop' }> | null;
  /** How many generations were started by the restart policy. */
  restarts: number;
  /** What graceful would exit with now: the status of the last generation that served, or failed with none serving. */
  status: number;
  /** The generation `status` is from (null: none ended yet). */
  statusFrom: number | null;
  nextGeneration: number;
  nextReload: number;
}

export type GenTimer = { timer: 'restart' } | { timer: 'settle'; generation: number };

export type GenEvent =
  /** Start the first generation. */
  | { type: 'begin'; at: number }
  /** A reload was asked for: by a signal (its name) or a control client (`client`: its id). */
  | { type: 'reload'; at: number; via: string; client: number | null }
  /** A generation's main process was spawned. */
  | { type: 'started'; at: number; generation: number; pid: number }
  /** A generation is ready (its --ready probe). */
  | { type: 'ready'; at: number; generation: number }
  /** A generation's supervisor is done: its tree is gone (or it never started). */
  | { type: 'exited'; at: number; generation: number; status: number; trigger: StopTrigger | null }
  /** graceful was asked to stop: a signal, or graceful check. */
  | { type: 'stop'; at: number; trigger: StopSignal | OwnStop }
  /** An armed timer fired. */
  | ({ type: 'timer'; at: number } & GenTimer);

export type GenAction =
  /** Start generation `generation` (a new supervisor, the held sockets, its own readiness probe). */
  | { type: 'start'; generation: number }
  /** Stop a replaced generation through its full stop sequence (OwnStop 'reload'). */
  | { type: 'retire'; generation: number }
  /** Pass a stop request of graceful's on to a generation's machine (as if it had received it). */
  | { type: 'stop'; generation: number; trigger: StopSignal | OwnStop }
  /** Tell the waiting control clients the outcome of reload `reload`. */
  | { type: 'answer'; reload: number; clients: number[] }
  | ({ type: 'arm'; at: number } & GenTimer)
  | ({ type: 'cancel' } & GenTimer)
  /** No generation will be started any more: graceful closes its own copies of the sockets. */
  | { type: 'release' }
  | { type: 'exit'; status: number };

export interface GenStep {
  state: GenState;
  actions: GenAction[];
}

// How many finished generations and reloads the state keeps for the report: a graceful
// that reloads every hour for a year must not grow with every reload.
export const KEPT = 100;

// Before the first generation: nothing started, nothing asked.
export function initialGenerations(): GenState {
  return {
    phase: { kind: 'running' },
    generations: [],
    reloads: [],
    omitted: { generations: 0, reloads: 0 },
    current: null,
    queued: null,
    history: [],
    gaveUp: null,
    restarts: 0,
    status: 0,
    statusFrom: null,
    nextGeneration: 1,
    nextReload: 1,
  };
}

// Is the generation's tree still there?
export function isLive(g: Generation): boolean {
  return g.role !== 'exited';
}

// The generation that serves now, if one does.
export function serving(state: GenState): Generation | null {
  return state.generations.find((g) => g.role === 'serving') ?? null;
}

// Advances the coordinator by one event.
export function stepGenerations(state: GenState, event: GenEvent, policy: GenerationsPolicy): GenStep {
  const { phase } = state;
  switch (event.type) {
    case 'begin':
      if (phase.kind !== 'running' || state.generations.length > 0) return same(state);
      return startGeneration(state, 'first', event.at);

    case 'reload':
      return onReload(state, event);

    case 'started': {
      const g = find(state, event.generation);
      if (!g || g.pid !== null) return same(state);
      const next = withGeneration(state, g.n, { pid: event.pid, startedAt: event.at });
      if (policy.settleMs === null || g.role !== 'starting') return same(next);
      return { state: next, actions: [{ type: 'arm', timer: 'settle', generation: g.n, at: event.at + policy.settleMs }] };
    }

    case 'ready':
      return onReady(state, event.generation, event.at);

    case 'exited':
      return onExit(state, event, policy);

    case 'stop':
      return onStop(state, event.trigger, event.at);

    case 'timer':
      if (event.timer === 'settle') {
        // Without --ready: still running after settleMs counts as ready.
        const g = find(state, event.generation);
        return g && g.role === 'starting' && g.startedAt !== null ? onReady(state, g.n, event.at) : same(state);
      }
      if (phase.kind !== 'waiting') return same(state);
      return startGeneration({ ...state, phase: { kind: 'running' }, restarts: state.restarts + 1 }, 'restart', event.at);

    default:
      return never(event);
  }
}

function onReload(state: GenState, event: Extract<GenEvent, { type: 'reload' }>): GenStep {
  const { phase } = state;
  const clients = event.client === null ? [] : [event.client];
  switch (phase.kind) {
    case 'stopping':
    case 'done': {
      // Recorded, and answered at once: nothing will be started any more.
      const reload = newReload(state, event.at, event.via, clients, null);
      const failed: Reload = { ...reload, endedAt: event.at, outcome: 'failed', reason: { kind: 'stopping' } };
      return { state: addReload(state, failed), actions: [{ type: 'answer', reload: failed.n, clients }] };
    }
    case 'waiting': {
      // Nothing runs (a crash, waiting to restart): the reload starts the next generation now,
      // with the requests that were waiting for the one that failed.
      const q = state.queued;
      const next: GenState = { ...state, phase: { kind: 'running' }, queued: null };
      const step = q ? beginReload(next, q.at, q.via, q.count, [...q.waiting, ...clients]) : beginReload(next, event.at, event.via, 0, clients);
      return { state: step.state, actions: [{ type: 'cancel', timer: 'restart' }, ...step.actions] };
    }
    case 'running': {
      // A generation is starting (a reload's, the first, a restart): its code may predate the
      // request (a deploy that landed meanwhile), so the request is not folded into it; all
      // requests that come meanwhile are merged into ONE more reload, taken once it is decided.
      if (state.generations.some((g) => g.role === 'starting')) {
        const q = state.queued;
        const queued = q ? { ...q, count: q.count + 1, waiting: [...q.waiting, ...clients] } : { at: event.at, via: event.via, count: 1, waiting: clients };
        return same({ ...state, queued });
      }
      return beginReload(state, event.at, event.via, 0, clients);
    }
    default:
      return never(phase);
  }
}

// Starts a reload: its record, and its new generation.
function beginReload(state: GenState, at: number, via: string, merged: number, clients: number[]): GenStep {
  const reload = { ...newReload(state, at, via, clients, serving(state)?.n ?? null), merged };
  const started = startGeneration(addReload(state, reload), 'reload', at);
  const n = started.state.nextGeneration - 1;
  return { state: { ...withReload(started.state, reload.n, { generation: n }), current: reload.n }, actions: started.actions };
}

// Takes the merged requests, if any, once nothing is starting.
function takeQueued(step: GenStep, at: number): GenStep {
  const { state } = step;
  const q = state.queued;
  if (!q || state.phase.kind !== 'running' || state.generations.some((g) => g.role === 'starting')) return step;
  const next = beginReload({ ...state, queued: null }, at, q.via, q.count - 1, q.waiting);
  // The merged reload counts from its first request.
  const reloadN = next.state.current!;
  return { state: withReload(next.state, reloadN, { requestedAt: q.at }), actions: [...step.actions, ...next.actions] };
}

function onReady(state: GenState, n: number, at: number): GenStep {
  const g = find(state, n);
  if (!g || g.readyAt !== null) return same(state);
  let next = withGeneration(state, n, { readyAt: at });
  // Ready once a stop began, or after it ended: recorded, nothing switches.
  if (g.role !== 'starting' || state.phase.kind !== 'running') return same(next);
  // The switch: the new one serves, the one it replaces is retired through its full stop
  // sequence while the new one already takes the connections.
  const actions: GenAction[] = [];
  const old = serving(next);
  next = withGeneration(next, n, { role: 'serving' });
  if (old) {
    next = withGeneration(next, old.n, { role: 'retired', retiredAt: at });
    actions.push({ type: 'retire', generation: old.n });
  }
  actions.push({ type: 'cancel', timer: 'settle', generation: n });
  const reload = state.current !== null ? findReload(next, state.current) : null;
  if (reload && reload.generation === n) {
    next = { ...withReload(next, reload.n, { readyAt: at, endedAt: at, outcome: 'switched' }), current: null };
    // It replaced a generation that had ended meanwhile (a crash during the reload): nothing to drain.
    const replaced = reload.replaces !== null ? find(next, reload.replaces) : null;
    if (replaced?.exit) next = withReload(next, reload.n, { drainedAt: replaced.exit.at });
    actions.push({ type: 'answer', reload: reload.n, clients: reload.waiting });
  }
  return takeQueued({ state: trim(next), actions }, at);
}

function onExit(state: GenState, event: Extract<GenEvent, { type: 'exited' }>, policy: GenerationsPolicy): GenStep {
  const g = find(state, event.generation);
  if (!g || g.exit) return same(state);
  const exit: GenerationExit = { at: event.at, status: event.status, trigger: event.trigger };
  let next = withGeneration(state, g.n, { role: 'exited', exit });
  const actions: GenAction[] = [{ type: 'cancel', timer: 'settle', generation: g.n }];
  // A replaced generation is drained: its reload says when.
  for (const r of next.reloads) if (r.replaces === g.n && r.outcome === 'switched' && r.drainedAt === null) next = withReload(next, r.n, { drainedAt: event.at });
  const { phase } = next;
  switch (phase.kind) {
    case 'done':
      return same(state);
    case 'waiting':
      // Only a retired generation can still end while nothing else runs.
      return { state: trim(next), actions };
    case 'stopping': {
      if (phase.main === g.n) next = { ...next, status: event.status, statusFrom: g.n };
      return finishIfEmpty({ state: trim(next), actions });
    }
    case 'running': {
      if (g.role === 'retired') return { state: trim(next), actions };
      const reload = state.current !== null ? findReload(next, state.current) : null;
      if (g.role === 'starting' && reload && reload.generation === g.n) {
        // The new generation ended before it was ready: rolled back while the old one serves.
        const still = serving(next);
        const outcome: ReloadOutcome = still ? 'rolled-back' : 'failed';
        next = { ...withReload(next, reload.n, { endedAt: event.at, outcome, reason: { kind: 'exited', status: event.status, trigger: event.trigger } }), current: null };
        actions.push({ type: 'answer', reload: reload.n, clients: reload.waiting });
        if (still) return takeQueued({ state: trim(next), actions }, event.at);
        // Nothing serves (the old one ended meanwhile): the restart policy decides.
        return afterEnd(next, g, exit, actions, policy);
      }
      if (g.role === 'serving' && next.generations.some((o) => o.role === 'starting')) {
        // It ended while its successor starts: the successor takes over when ready.
        return { state: trim({ ...next, status: event.status, statusFrom: g.n }), actions };
      }
      // The generation that served (or the first one, or a restart, before it was ready)
      // ended with nothing to take over: as graceful run without --listen, the restart policy.
      return afterEnd(next, g, exit, actions, policy);
    }
    default:
      return never(phase);
  }
}

// The program ended with nothing to replace it: restart after the delay, or stop for good.
function afterEnd(state: GenState, g: Generation, exit: GenerationExit, actions: GenAction[], policy: GenerationsPolicy): GenStep {
  const record: RunRecord = {
    startedAt: g.startedAt ?? g.spawnAt,
    endedAt: exit.at,
    status: exit.status,
    trigger: exit.trigger === 'child-exit' ? null : exit.trigger,
  };
  const history = [...state.history, record];
  const decision = decide(policy.restart, history, exit.at);
  let next: GenState = { ...state, history: retain(history, policy.restart, exit.at), status: exit.status, statusFrom: g.n };
  if (decision.kind === 'restart') {
    const until = exit.at + decision.delayMs;
    next = { ...next, phase: { kind: 'waiting', until } };
    return { state: trim(next), actions: [...actions, { type: 'arm', timer: 'restart', at: until }] };
  }
  next = { ...next, gaveUp: decision, phase: { kind: 'stopping', trigger: null, at: exit.at, main: null } };
  return finishIfEmpty(failQueued({ state: trim(next), actions: [...actions, { type: 'release' }] }, exit.at));
}

function onStop(state: GenState, trigger: StopSignal | OwnStop, at: number): GenStep {
  const { phase } = state;
  const live = state.generations.filter(isLive);
  switch (phase.kind) {
    case 'done':
      return same(state);
    case 'stopping': {
      // Again: each machine answers a repeat as it does alone (sent again, or a second Ctrl+C
      // that forces the kill). A retired generation was not stopped by the first request,
      // which it would have taken for the force gesture; a later SIGINT is that gesture.
      const first = phase.trigger === null ? { ...phase, trigger, at } : phase;
      const force = phase.trigger !== null && trigger === 'SIGINT' && at - phase.at >= ECHO_WINDOW_MS;
      const actions: GenAction[] = live
        .filter((g) => g.role !== 'retired' || force)
        .map((g) => ({ type: 'stop', generation: g.n, trigger }));
      return { state: { ...state, phase: first }, actions };
    }
    case 'waiting':
    case 'running': {
      // The generation that serves is the one whose status graceful exits with; with none
      // serving yet, the newest one starting.
      const main = serving(state)?.n ?? [...live].reverse().find((g) => g.role === 'starting')?.n ?? null;
      let next: GenState = { ...state, phase: { kind: 'stopping', trigger, at, main } };
      const actions: GenAction[] = [{ type: 'release' }];
      if (phase.kind === 'waiting') actions.push({ type: 'cancel', timer: 'restart' });
      // Retired ones are already stopping, with their own grace period.
      for (const g of live) if (g.role !== 'retired') actions.push({ type: 'stop', generation: g.n, trigger });
      if (state.current !== null) {
        const r = findReload(next, state.current)!;
        next = { ...withReload(next, r.n, { endedAt: at, outcome: 'failed', reason: { kind: 'stopping' } }), current: null };
        actions.push({ type: 'answer', reload: r.n, clients: r.waiting });
      }
      return finishIfEmpty(failQueued({ state: next, actions }, at));
    }
    default:
      return never(phase);
  }
}

// Merged requests that will never be taken: recorded as failed, and answered.
function failQueued(step: GenStep, at: number): GenStep {
  const q = step.state.queued;
  if (!q) return step;
  const reload = newReload(step.state, q.at, q.via, q.waiting, null);
  const failed: Reload = { ...reload, merged: q.count - 1, endedAt: at, outcome: 'failed', reason: { kind: 'stopping' } };
  return { state: addReload({ ...step.state, queued: null }, failed), actions: [...step.actions, { type: 'answer', reload: failed.n, clients: q.waiting }] };
}

function finishIfEmpty(step: GenStep): GenStep {
  const { state } = step;
  if (state.phase.kind !== 'stopping' || state.generations.some(isLive)) return step;
  return { state: { ...state, phase: { kind: 'done', status: state.status } }, actions: [...step.actions, { type: 'exit', status: state.status }] };
}

function startGeneration(state: GenState, cause: Generation['cause'], at: number): GenStep {
  const n = state.nextGeneration;
  const g: Generation = { n, role: 'starting', cause, spawnAt: at, pid: null, startedAt: null, readyAt: null, retiredAt: null, exit: null };
  return { state: { ...state, generations: [...state.generations, g], nextGeneration: n + 1 }, actions: [{ type: 'start', generation: n }] };
}

function newReload(state: GenState, at: number, via: string, waiting: number[], replaces: number | null): Reload {
  return { n: state.nextReload, requestedAt: at, via, merged: 0, waiting, generation: null, replaces, readyAt: null, endedAt: null, drainedAt: null, outcome: null, reason: null };
}

function addReload(state: GenState, reload: Reload): GenState {
  return { ...state, reloads: [...state.reloads, reload], nextReload: Math.max(state.nextReload, reload.n + 1) };
}

// Keeps the live generations, the reload under way, and the last KEPT finished of each.
function trim(state: GenState): GenState {
  let { generations, reloads, omitted } = state;
  const finished = generations.filter((g) => !isLive(g));
  if (finished.length > KEPT) {
    const drop = new Set(finished.slice(0, finished.length - KEPT).map((g) => g.n));
    generations = generations.filter((g) => !drop.has(g.n));
    omitted = { ...omitted, generations: omitted.generations + drop.size };
  }
  const done = reloads.filter((r) => r.outcome !== null && (r.outcome !== 'switched' || r.drainedAt !== null));
  if (done.length > KEPT) {
    const drop = new Set(done.slice(0, done.length - KEPT).map((r) => r.n));
    reloads = reloads.filter((r) => !drop.has(r.n));
    omitted = { ...omitted, reloads: omitted.reloads + drop.size };
  }
  return generations === state.generations && reloads === state.reloads ? state : { ...state, generations, reloads, omitted };
}

// Generation n, while the state lists it.
export function find(state: GenState, n: number): Generation | null {
  return state.generations.find((g) => g.n === n) ?? null;
}

// Reload n, while the state lists it.
export function findReload(state: GenState, n: number): Reload | null {
  return state.reloads.find((r) => r.n === n) ?? null;
}

function withGeneration(state: GenState, n: number, change: Partial<Generation>): GenState {
  return { ...state, generations: state.generations.map((g) => (g.n === n ? { ...g, ...change } : g)) };
}

function withReload(state: GenState, n: number, change: Partial<Reload>): GenState {
  return { ...state, reloads: state.reloads.map((r) => (r.n === n ? { ...r, ...change } : r)) };
}

function same(state: GenState): GenStep {
  return { state, actions: [] };
}

function never(value: never): never {
  throw new Error(`unhandled: ${JSON.stringify(value)}`);
}
