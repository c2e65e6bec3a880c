// PURE: the generations of a reloadable program (graceful run --listen / --control). A
// zero-downtime reload starts a new generation of the program beside the one that serves,
// waits until the NEW one is ready, and only then stops the old one with its full stop
// sequence (machine.ts, through its own supervisor); a new one that fails to start or to
// become ready is stopped and the old one keeps serving. This layer decides what the
// generations do relative to each other: when one starts, when one is retired, what a stop
// of graceful means for each, when a crash restarts (restart.ts), what a reload's outcome
// is. step(state, event) -> { state, actions }, every event answered in every phase; the
// coordinator's shell (src/commands/run/generations.ts) turns the actions into supervisor calls.
//
// --instances N: a generation is N instances of the program, each one a supervised program of
// its own (its machine, grace period, tree, report) in a slot 1..N, all on the held sockets.
// A reload replaces them one at a time: a new instance ready, then the one serving in its slot
// retired, then the next slot (empty slots are filled at once); a new instance that fails
// stops the reload there (see onExit). An instance that ends on its own while others serve is
// restarted alone, in its slot, as the restart policy says; the program as a whole restarts
// (or ends) only when none is left.
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

/** What an instance is to the program as a whole. */
export type Role =
  /** Started, not ready yet: the first one, a restart, or a reload's new one. */
  | 'starting'
  /** Ready, and serving: at most one instance per slot. */
  | 'serving'
  /** Replaced by a newer one (or scaled away): asked to stop, draining. */
  | 'retired'
  /** Its whole tree is gone. */
  | 'exited';

/** How an instance ended: graceful's status had it been the last, and what stopped it (null: it ended on its own). */
export interface GenerationExit {
  at: number;
  status: number;
  trigger: StopTrigger | null;
}

/**
 * One instance of one generation: one supervisor, one process tree. With --instances 1 (the
 * default) a generation has one instance, and this is the generation itself.
 */
export interface Generation {
  /** The generation: 1 for the first, then one more for each start of instances (a restart, a reload, a scale). */
  n: number;
  /** Its slot, 1..--instances (GRACEFUL_INSTANCE): a replacement takes the slot of the instance it replaces. */
  instance: number;
  role: Role;
  /** Why it was started. */
  cause: 'first' | 'restart' | 'reload' | 'scale';
  spawnAt: number;
  pid: number | null;
  startedAt: number | null;
  readyAt: number | null;
  /** When it was retired (replaced by a newer instance, or scaled away). */
  retiredAt: number | null;
  exit: GenerationExit | null;
}

/** An instance by its generation and slot. */
export interface Slot {
  n: number;
  instance: number;
}

export type ReloadOutcome =
  /** Every instance of the new generation is ready and serves; the ones they replaced were asked to stop. */
  | 'switched'
  /** A new instance ended before it was ready: the reload stopped there, and the old instances it had not replaced keep serving. */
  | 'rolled-back'
  /** Nothing was switched and nothing serves the old way either: graceful was stopping, or no generation was serving. */
  | 'failed';

/** Why a reload did not switch. */
export type ReloadReason =
  /** A new instance ended before it was ready (a crash, --ready-timeout, a failed spawn): its end. */
  | { kind: 'exited'; instance: number; status: number; trigger: StopTrigger | null }
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
  /** The generation serving (its first slot) when it started, which it replaces (null: none served). */
  replaces: number | null;
  /** The instances serving when it started, one per slot it replaces: drained once all are gone. */
  replacing: Slot[];
  /** How many instances the new generation has (--instances when it started). */
  instances: number;
  /** The slots whose new instance was started, in order. */
  started: number[];
  /** How many new instances are ready (each retired the one serving in its slot). */
  switched: number;
  /** When its last new instance was ready. */
  readyAt: number | null;
  /** When the outcome was known. */
  endedAt: number | null;
  /** When the instances it replaced were all gone (drained). */
  drainedAt: number | null;
  outcome: ReloadOutcome | null;
  reason: ReloadReason | null;
}

/** Where the program as a whole is. Each phase answers every event (see step). */
export type GenPhase =
  /** Generations come and go; reloads are taken. */
  | { kind: 'running' }
  /** No instance runs: waiting out the restart delay (--restart) until `until`. */
  | { kind: 'waiting'; until: number }
  /**
   * No instance will be started any more: graceful was asked to stop (`trigger`, at `at`),
   * or (trigger null) the restart policy said to stop; waiting for the live ones to end.
   * `main`: the instances whose statuses graceful exits with (the first failure among them).
   */
  | { kind: 'stopping'; trigger: StopSignal | OwnStop | null; at: number; main: Slot[] }
  /** Every instance is gone: graceful exits with `status`. */
  | { kind: 'done'; status: number };

export interface GenState {
  phase: GenPhase;
  /** How many instances the program runs (--instances; scale changes it). */
  instances: number;
  /** The live instances and the last KEPT finished ones, oldest first. */
  generations: Generation[];
  /** The reloads: the one under way, and the last KEPT finished ones, oldest first. */
  reloads: Reload[];
  /** Finished instances and reloads no longer listed (a long-lived graceful stays bounded). */
  omitted: { generations: number; reloads: number };
  /** The reload under way (not all its new instances ready yet), by number. */
  current: number | null;
  /** Requests that came while an instance was starting: merged into one reload, taken after it. */
  queued: { at: number; via: string; count: number; waiting: number[] } | null;
  /** Slots whose instance ended while others serve: each restarts alone at `until` (--restart). */
  slotRestarts: { instance: number; until: number }[];
  /** The restart policy's history (restart.ts), bounded by retain(). */
  history: RunRecord[];
  /** The restart policy's last word, when it said stop (for the report). */
  gaveUp: Extract<Decision, { kind: 'stop' }> | null;
  /** How many instances were started by the restart policy. */
  restarts: number;
  /** What graceful would exit with now: the status of the last instance that served, or failed with none serving. */
  status: number;
  /** The generation `status` is from (null: none ended yet). */
  statusFrom: number | null;
  nextGeneration: number;
  nextReload: number;
}

export type GenTimer =
  /** The program's restart delay (nothing runs); with `instance`, one slot's. */
  | { timer: 'restart'; instance: number | null }
  | { timer: 'settle'; generation: number; instance: number };

export type GenEvent =
  /** Start the first generation. */
  | { type: 'begin'; at: number }
  /** A reload was asked for: by a signal (its name) or a control client (`client`: its id). */
  | { type: 'reload'; at: number; via: string; client: number | null }
  /** Run this many instances from now on (graceful up's scale). */
  | { type: 'scale'; at: number; instances: number }
  /** An instance's main process was spawned. */
  | { type: 'started'; at: number; generation: number; instance: number; pid: number }
  /** An instance is ready (its --ready probe). */
  | { type: 'ready'; at: number; generation: number; instance: number }
  /** An instance's supervisor is done: its tree is gone (or it never started). */
  | { type: 'exited'; at: number; generation: number; instance: number; status: number; trigger: StopTrigger | null }
  /** graceful was asked to stop: a signal, or graceful check. */
  | { type: 'stop'; at: number; trigger: StopSignal | OwnStop }
  /** An armed timer fired. */
  | ({ type: 'timer'; at: number } & GenTimer);

export type GenAction =
  /** Start an instance (a new supervisor, the held sockets, its own readiness probe). */
  | { type: 'start'; generation: number; instance: number }
  /** Stop a replaced (or scaled away) instance through its full stop sequence (OwnStop 'reload'). */
  | { type: 'retire'; generation: number; instance: number }
  /** Pass a stop request of graceful's on to an instance's machine (as if it had received it). */
  | { type: 'stop'; generation: number; instance: number; trigger: StopSignal | OwnStop }
  /** Tell the waiting control clients the outcome of reload `reload`. */
  | { type: 'answer'; reload: number; clients: number[] }
  | ({ type: 'arm'; at: number } & GenTimer)
  | ({ type: 'cancel' } & GenTimer)
  /** No instance will be started any more: graceful closes its own copies of the sockets. */
  | { type: 'release' }
  | { type: 'exit'; status: number };

export interface GenStep {
  state: GenState;
  actions: GenAction[];
}

// How many finished instances and reloads the state keeps for the report: a graceful
// that reloads every hour for a year must not grow with every reload.
export const KEPT = 100;

// Before the first generation: nothing started, nothing asked.
export function initialGenerations(instances = 1): GenState {
  return {
    phase: { kind: 'running' },
    instances,
    generations: [],
    reloads: [],
    omitted: { generations: 0, reloads: 0 },
    current: null,
    queued: null,
    slotRestarts: [],
    history: [],
    gaveUp: null,
    restarts: 0,
    status: 0,
    statusFrom: null,
    nextGeneration: 1,
    nextReload: 1,
  };
}

// Is the instance's tree still there?
export function isLive(g: Generation): boolean {
  return g.role !== 'exited';
}

// The first instance that serves now (the lowest slot), if one does.
export function serving(state: GenState): Generation | null {
  return servingAll(state)[0] ?? null;
}

// Every instance that serves now, by slot.
export function servingAll(state: GenState): Generation[] {
  return state.generations.filter((g) => g.role === 'serving').sort((a, b) => a.instance - b.instance);
}

// Advances the coordinator by one event.
export function stepGenerations(state: GenState, event: GenEvent, policy: GenerationsPolicy): GenStep {
  const { phase } = state;
  switch (event.type) {
    case 'begin':
      if (phase.kind !== 'running' || state.generations.length > 0) return same(state);
      return startGeneration(state, 'first', event.at, slots(state.instances));

    case 'reload':
      return onReload(state, event);

    case 'scale':
      return onScale(state, event.instances, event.at);

    case 'started': {
      const g = find(state, event.generation, event.instance);
      if (!g || g.pid !== null) return same(state);
      const next = withGeneration(state, g, { pid: event.pid, startedAt: event.at });
      if (policy.settleMs === null || g.role !== 'starting') return same(next);
      return { state: next, actions: [{ type: 'arm', timer: 'settle', generation: g.n, instance: g.instance, at: event.at + policy.settleMs }] };
    }

    case 'ready':
      return onReady(state, event.generation, event.instance, event.at);

    case 'exited':
      return onExit(state, event, policy);

    case 'stop':
      return onStop(state, event.trigger, event.at);

    case 'timer':
      if (event.timer === 'settle') {
        // Without --ready: still running after settleMs counts as ready.
        const g = find(state, event.generation, event.instance);
        return g && g.role === 'starting' && g.startedAt !== null ? onReady(state, g.n, g.instance, event.at) : same(state);
      }
      if (event.instance !== null) {
        // One slot's restart delay is over: a new instance in it, the others untouched.
        const pending = state.slotRestarts.find((r) => r.instance === event.instance);
        if (!pending || phase.kind !== 'running') return same(state);
        const next = { ...state, slotRestarts: state.slotRestarts.filter((r) => r !== pending), restarts: state.restarts + 1 };
        // A reload or a scale filled the slot meanwhile, or scaled it away.
        if (event.instance > state.instances || liveIn(next, event.instance)) return same(next);
        return startGeneration(next, 'restart', event.at, [event.instance]);
      }
      if (phase.kind !== 'waiting') return same(state);
      return startGeneration({ ...state, phase: { kind: 'running' }, restarts: state.restarts + 1 }, 'restart', event.at, slots(state.instances));

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
      const reload = newReload(state, event.at, event.via, clients);
      const failed: Reload = { ...reload, endedAt: event.at, outcome: 'failed', reason: { kind: 'stopping' } };
      return { state: addReload(state, failed), actions: [{ type: 'answer', reload: failed.n, clients }] };
    }
    case 'waiting': {
      // Nothing runs (a crash, waiting to restart): the reload starts the next generation now,
      // with the requests that were waiting for the one that failed.
      const q = state.queued;
      const next: GenState = { ...state, phase: { kind: 'running' }, queued: null };
      const step = q ? beginReload(next, q.at, q.via, q.count, [...q.waiting, ...clients]) : beginReload(next, event.at, event.via, 0, clients);
      return { state: step.state, actions: [{ type: 'cancel', timer: 'restart', instance: null }, ...step.actions] };
    }
    case 'running': {
      // An instance is starting (a reload's, the first, a restart): its code may predate the
      // request (a deploy that landed meanwhile), so the request is not folded into it; all
      // requests that come meanwhile are merged into ONE more reload, taken once it is decided.
      if (state.current !== null || state.generations.some((g) => g.role === 'starting')) {
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

// Starts a reload: its record, and its first new instances (see startNext).
function beginReload(state: GenState, at: number, via: string, merged: number, clients: number[]): GenStep {
  const n = state.nextGeneration;
  const replacing = servingAll(state).filter((g) => g.instance <= state.instances).map((g) => ({ n: g.n, instance: g.instance }));
  const reload: Reload = { ...newReload(state, at, via, clients), merged, generation: n, replaces: replacing[0]?.n ?? null, replacing, instances: state.instances };
  const next: GenState = { ...addReload(state, reload), nextGeneration: n + 1, current: reload.n };
  return startNext(next, reload.n, at, []);
}

// The reload's next new instances: every slot nothing serves at once, and the next slot that
// one serves when no new instance of the reload is starting: at most one serving slot is
// being replaced at a time, so N-1 instances serve throughout.
function startNext(state: GenState, reloadN: number, at: number, actions: GenAction[]): GenStep {
  const r = findReload(state, reloadN)!;
  const n = r.generation!;
  const todo = slots(r.instances).filter((i) => !r.started.includes(i));
  const empty = todo.filter((i) => !state.generations.some((g) => g.instance === i && g.role === 'serving'));
  const starting = state.generations.some((g) => g.n === n && g.role === 'starting');
  const occupied = todo.find((i) => !empty.includes(i));
  const take = starting || empty.length > 0 || occupied === undefined ? empty : [occupied];
  let next = state;
  for (const i of take) next = addInstance(next, n, i, 'reload', at);
  next = withReload(next, reloadN, { started: [...r.started, ...take] });
  return { state: next, actions: [...actions, ...take.map((i): GenAction => ({ type: 'start', generation: n, instance: i }))] };
}

// Takes the merged requests, if any, once nothing is starting.
function takeQueued(step: GenStep, at: number): GenStep {
  const { state } = step;
  const q = state.queued;
  if (!q || state.phase.kind !== 'running' || state.current !== null || state.generations.some((g) => g.role === 'starting')) return step;
  const next = beginReload({ ...state, queued: null }, at, q.via, q.count - 1, q.waiting);
  // The merged reload counts from its first request.
  const reloadN = next.state.current!;
  return { state: withReload(next.state, reloadN, { requestedAt: q.at }), actions: [...step.actions, ...next.actions] };
}

function onReady(state: GenState, n: number, instance: number, at: number): GenStep {
  const g = find(state, n, instance);
  if (!g || g.readyAt !== null) return same(state);
  let next = withGeneration(state, g, { readyAt: at });
  // Ready once a stop began, or after it ended: recorded, nothing switches.
  if (g.role !== 'starting' || state.phase.kind !== 'running') return same(next);
  // The switch of one slot: the new instance serves, the one it replaces is retired through
  // its full stop sequence while the new one already takes the connections.
  const actions: GenAction[] = [];
  const old = next.generations.find((o) => o.instance === instance && o.role === 'serving');
  next = withGeneration(next, g, { role: 'serving' });
  if (old) {
    next = withGeneration(next, old, { role: 'retired', retiredAt: at });
    actions.push({ type: 'retire', generation: old.n, instance: old.instance });
  }
  actions.push({ type: 'cancel', timer: 'settle', generation: n, instance });
  const reload = state.current !== null ? findReload(next, state.current) : null;
  if (reload && reload.generation === n) {
    next = withReload(next, reload.n, { switched: reload.switched + 1 });
    if (reload.switched + 1 < reload.instances) return startNextStep(next, reload.n, at, actions);
    next = { ...withReload(next, reload.n, { readyAt: at, endedAt: at, outcome: 'switched' }), current: null };
    next = markDrained(next);
    actions.push({ type: 'answer', reload: reload.n, clients: reload.waiting });
  }
  return takeQueued({ state: trim(next), actions }, at);
}

function startNextStep(state: GenState, reloadN: number, at: number, actions: GenAction[]): GenStep {
  const step = startNext(state, reloadN, at, actions);
  return { state: trim(step.state), actions: step.actions };
}

// Reloads that switched and whose replaced instances are all gone now: drained.
function markDrained(state: GenState): GenState {
  let next = state;
  for (const r of state.reloads) {
    if (r.outcome !== 'switched' || r.drainedAt !== null) continue;
    const ends = r.replacing.map((s) => find(state, s.n, s.instance)?.exit?.at ?? (find(state, s.n, s.instance) ? null : r.endedAt));
    if (ends.some((e) => e === null)) continue;
    next = withReload(next, r.n, { drainedAt: ends.length === 0 ? null : Math.max(...(ends as number[])) });
  }
  return next;
}

function onExit(state: GenState, event: Extract<GenEvent, { type: 'exited' }>, policy: GenerationsPolicy): GenStep {
  const g = find(state, event.generation, event.instance);
  if (!g || g.exit) return same(state);
  const exit: GenerationExit = { at: event.at, status: event.status, trigger: event.trigger };
  let next = markDrained(withGeneration(state, g, { role: 'exited', exit }));
  const actions: GenAction[] = [{ type: 'cancel', timer: 'settle', generation: g.n, instance: g.instance }];
  const { phase } = next;
  switch (phase.kind) {
    case 'done':
      return same(state);
    case 'waiting':
      // Only a retired instance can still end while nothing else runs.
      return { state: trim(next), actions };
    case 'stopping': {
      // The first failure among the instances that served is graceful's status (the
      // stop cleared it: see onStop).
      const main = phase.main.some((s) => s.n === g.n && s.instance === g.instance);
      if (main && (next.statusFrom === null || next.status === 0)) next = { ...next, status: event.status, statusFrom: g.n };
      return finishIfEmpty({ state: trim(next), actions });
    }
    case 'running': {
      if (g.role === 'retired') return { state: trim(next), actions };
      const reload = state.current !== null ? findReload(next, state.current) : null;
      if (g.role === 'starting' && reload && reload.generation === g.n) {
        // A new instance ended before it was ready: the reload stops here. The old instances
        // of the slots not switched yet were never touched and keep serving; those already
        // switched keep their new (ready) instances: graceful cannot bring back old code, and
        // a reload after the fix replaces them all.
        const still = servingAll(next).length > 0;
        const outcome: ReloadOutcome = still ? 'rolled-back' : 'failed';
        next = { ...withReload(next, reload.n, { endedAt: event.at, outcome, reason: { kind: 'exited', instance: g.instance, status: event.status, trigger: event.trigger } }), current: null };
        actions.push({ type: 'answer', reload: reload.n, clients: reload.waiting });
        if (still) return takeQueued({ state: trim(next), actions }, event.at);
        // Nothing serves (the old ones ended meanwhile): the restart policy decides.
        return afterEnd(next, g, exit, actions, policy);
      }
      if (reload && reload.started.includes(g.instance) && next.generations.some((o) => o.instance === g.instance && o.n === reload.generation && o.role === 'starting')) {
        // Its replacement is starting already (N = 1: the successor takes over when ready).
        return { state: trim({ ...next, status: event.status, statusFrom: g.n }), actions };
      }
      const others = next.generations.some((o) => o.role === 'starting' || o.role === 'serving') || next.slotRestarts.length > 0;
      // The program's last instance (or its only one) ended with nothing to take over: as
      // graceful run without --listen, the restart policy.
      if (!others) return afterEnd(next, g, exit, actions, policy);
      return afterInstanceEnd(next, g, exit, actions, policy);
    }
    default:
      return never(phase);
  }
}

// One instance ended on its own while others serve: its slot restarts alone after the
// delay, as the restart policy says; or stays empty (the others keep serving).
function afterInstanceEnd(state: GenState, g: Generation, exit: GenerationExit, actions: GenAction[], policy: GenerationsPolicy): GenStep {
  const history = [...state.history, recordOf(g, exit)];
  const decision = decide(policy.restart, history, exit.at);
  let next: GenState = { ...state, history: retain(history, policy.restart, exit.at), status: exit.status, statusFrom: g.n };
  if (decision.kind === 'restart' && g.instance <= next.instances) {
    const until = exit.at + decision.delayMs;
    next = { ...next, slotRestarts: [...next.slotRestarts, { instance: g.instance, until }] };
    return { state: trim(next), actions: [...actions, { type: 'arm', timer: 'restart', instance: g.instance, at: until }] };
  }
  if (decision.kind === 'stop') next = { ...next, gaveUp: decision };
  return { state: trim(next), actions };
}

function recordOf(g: Generation, exit: GenerationExit): RunRecord {
  return { startedAt: g.startedAt ?? g.spawnAt, endedAt: exit.at, status: exit.status, trigger: exit.trigger === 'child-exit' ? null : exit.trigger };
}

// The program ended with nothing to replace it: restart after the delay, or stop for good.
function afterEnd(state: GenState, g: Generation, exit: GenerationExit, actions: GenAction[], policy: GenerationsPolicy): GenStep {
  const history = [...state.history, recordOf(g, exit)];
  const decision = decide(policy.restart, history, exit.at);
  let next: GenState = { ...state, history: retain(history, policy.restart, exit.at), status: exit.status, statusFrom: g.n };
  if (decision.kind === 'restart') {
    const until = exit.at + decision.delayMs;
    next = { ...next, phase: { kind: 'waiting', until } };
    return { state: trim(next), actions: [...actions, { type: 'arm', timer: 'restart', instance: null, at: until }] };
  }
  next = { ...next, gaveUp: decision, phase: { kind: 'stopping', trigger: null, at: exit.at, main: [] } };
  return finishIfEmpty(failQueued({ state: trim(next), actions: [...actions, { type: 'release' }] }, exit.at));
}

// Scale to `count` instances: new slots start at once (one new generation); slots past the
// count are retired, the highest first, through their full stop sequence. Not during a
// reload (its slots were counted when it began): the shell says so.
function onScale(state: GenState, count: number, at: number): GenStep {
  if (state.phase.kind === 'stopping' || state.phase.kind === 'done' || state.current !== null || count < 1 || count === state.instances) return same(state);
  const was = state.instances;
  let next: GenState = { ...state, instances: count };
  const actions: GenAction[] = [];
  if (state.phase.kind === 'waiting') return same(next);
  if (count > was) {
    const added = slots(count).filter((i) => i > was && !liveIn(next, i));
    if (added.length === 0) return same(next);
    return startGeneration(next, 'scale', at, added);
  }
  for (const g of [...next.generations].reverse()) {
    if (g.instance <= count || (g.role !== 'serving' && g.role !== 'starting')) continue;
    next = withGeneration(next, g, { role: 'retired', retiredAt: at });
    actions.push({ type: 'retire', generation: g.n, instance: g.instance });
  }
  for (const r of next.slotRestarts.filter((r) => r.instance > count)) actions.push({ type: 'cancel', timer: 'restart', instance: r.instance });
  next = { ...next, slotRestarts: next.slotRestarts.filter((r) => r.instance <= count) };
  return { state: next, actions };
}

function onStop(state: GenState, trigger: StopSignal | OwnStop, at: number): GenStep {
  const { phase } = state;
  const live = state.generations.filter(isLive);
  switch (phase.kind) {
    case 'done':
      return same(state);
    case 'stopping': {
      // Again: each machine answers a repeat as it does alone (sent again, or a second Ctrl+C
      // that forces the kill). A retired instance was not stopped by the first request,
      // which it would have taken for the force gesture; a later SIGINT is that gesture.
      const first = phase.trigger === null ? { ...phase, trigger, at } : phase;
      const force = phase.trigger !== null && trigger === 'SIGINT' && at - phase.at >= ECHO_WINDOW_MS;
      const actions: GenAction[] = live
        .filter((g) => g.role !== 'retired' || force)
        .map((g) => ({ type: 'stop', generation: g.n, instance: g.instance, trigger }));
      return { state: { ...state, phase: first }, actions };
    }
    case 'waiting':
    case 'running': {
      // The instances that serve are those whose status graceful exits with; with none
      // serving yet, the newest one starting.
      const servingNow = servingAll(state);
      const newest = [...live].reverse().find((g) => g.role === 'starting');
      const main = (servingNow.length > 0 ? servingNow : newest ? [newest] : []).map((g) => ({ n: g.n, instance: g.instance }));
      let next: GenState = { ...state, phase: { kind: 'stopping', trigger, at, main }, slotRestarts: [] };
      // Graceful's status will be theirs: what ended before the stop no longer counts.
      if (main.length > 0) next = { ...next, status: 0, statusFrom: null };
      const actions: GenAction[] = [{ type: 'release' }];
      if (phase.kind === 'waiting') actions.push({ type: 'cancel', timer: 'restart', instance: null });
      for (const r of state.slotRestarts) actions.push({ type: 'cancel', timer: 'restart', instance: r.instance });
      // Retired ones are already stopping, with their own grace period.
      for (const g of live) if (g.role !== 'retired') actions.push({ type: 'stop', generation: g.n, instance: g.instance, trigger });
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
  const reload = newReload(step.state, q.at, q.via, q.waiting);
  const failed: Reload = { ...reload, merged: q.count - 1, endedAt: at, outcome: 'failed', reason: { kind: 'stopping' } };
  return { state: addReload({ ...step.state, queued: null }, failed), actions: [...step.actions, { type: 'answer', reload: failed.n, clients: q.waiting }] };
}

function finishIfEmpty(step: GenStep): GenStep {
  const { state } = step;
  if (state.phase.kind !== 'stopping' || state.generations.some(isLive)) return step;
  return { state: { ...state, phase: { kind: 'done', status: state.status } }, actions: [...step.actions, { type: 'exit', status: state.status }] };
}

// Starts a new generation in the given slots.
function startGeneration(state: GenState, cause: Generation['cause'], at: number, instances: number[]): GenStep {
  const n = state.nextGeneration;
  let next: GenState = { ...state, nextGeneration: n + 1 };
  for (const i of instances) next = addInstance(next, n, i, cause, at);
  return { state: next, actions: instances.map((i) => ({ type: 'start', generation: n, instance: i })) };
}

function addInstance(state: GenState, n: number, instance: number, cause: Generation['cause'], at: number): GenState {
  const g: Generation = { n, instance, role: 'starting', cause, spawnAt: at, pid: null, startedAt: null, readyAt: null, retiredAt: null, exit: null };
  return { ...state, generations: [...state.generations, g] };
}

// Slots 1..count.
function slots(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i + 1);
}

// Is an instance starting or serving in the slot?
function liveIn(state: GenState, instance: number): boolean {
  return state.generations.some((g) => g.instance === instance && (g.role === 'starting' || g.role === 'serving'));
}

function newReload(state: GenState, at: number, via: string, waiting: number[]): Reload {
  return {
    n: state.nextReload,
    requestedAt: at,
    via,
    merged: 0,
    waiting,
    generation: null,
    replaces: null,
    replacing: [],
    instances: state.instances,
    started: [],
    switched: 0,
    readyAt: null,
    endedAt: null,
    drainedAt: null,
    outcome: null,
    reason: null,
  };
}

function addReload(state: GenState, reload: Reload): GenState {
  return { ...state, reloads: [...state.reloads, reload], nextReload: Math.max(state.nextReload, reload.n + 1) };
}

// Keeps the live instances, the reload under way, and the last KEPT finished of each.
function trim(state: GenState): GenState {
  let { generations, reloads, omitted } = state;
  const finished = generations.filter((g) => !isLive(g));
  if (finished.length > KEPT) {
    const drop = new Set(finished.slice(0, finished.length - KEPT));
    generations = generations.filter((g) => !drop.has(g));
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

// Instance `instance` of generation n, while the state lists it (the first instance by default).
export function find(state: GenState, n: number, instance = 1): Generation | null {
  return state.generations.find((g) => g.n === n && g.instance === instance) ?? null;
}

// The instances of generation n that the state lists.
export function instancesOf(state: GenState, n: number): Generation[] {
  return state.generations.filter((g) => g.n === n);
}

// Reload n, while the state lists it.
export function findReload(state: GenState, n: number): Reload | null {
  return state.reloads.find((r) => r.n === n) ?? null;
}

function withGeneration(state: GenState, which: Slot, change: Partial<Generation>): GenState {
  return { ...state, generations: state.generations.map((g) => (g.n === which.n && g.instance === which.instance ? { ...g, ...change } : g)) };
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
