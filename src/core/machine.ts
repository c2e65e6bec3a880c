// PURE: the shutdown state machine. step(state, event) -> { state, actions }: it decides
// when each signal is sent and to whom; the shell (shell/supervisor.ts) only carries the
// actions out. No I/O and no clock here: every event carries its own time.
import { exitStatus } from './timeline.js';
import type { Action, AutoDelay, Event, Facts, MachinePhase, Policy, SignalName, State, Step, StopFacts, StopSignal, StopTrigger, Target, TrafficFacts } from './types.js';
import { isStopSignal } from './types.js';
import { ECHO_WINDOW_MS } from '../app/protocol.js';

// The first state of a run: the spawn of `command` was asked for at `at`.
export function initialState(command: readonly string[], at: number): State {
  return {
    phase: { kind: 'starting', pendingStop: null },
    facts: {
      command,
      spawnAt: at,
      pid: null,
      startedAt: null,
      spawnError: null,
      stop: null,
      exit: null,
      treeGoneAt: null,
      readyAt: null,
      readyDeadline: null,
      forwarded: {},
      app: null,
      phases: [],
      terminal: false,
    },
  };
}

// Where the stop signal goes (systemd: KillMode group sends it to the whole tree).
export function stopTarget(policy: Policy): Target {
  return policy.killMode === 'group' ? 'tree' : 'main';
}

// systemd's KillMode=process: graceful signals the main process only, and leaves the rest of
// its tree alone, even once the main process is gone. The one place that decides it.
export function leavesRest(policy: Policy): boolean {
  return policy.killMode === 'process';
}

// Where the kill signal goes (only KillMode=process spares the rest of the tree).
export function killTarget(policy: Policy): Target {
  return leavesRest(policy) ? 'main' : 'tree';
}

// Forwarded signals follow the stop signal: a terminal sends SIGWINCH or SIGHUP to a whole
// foreground process group, so in group mode the child's group gets them too.
export const forwardTarget = stopTarget;

// Where a stop signal still has to go when the terminal or the shell already sent it to
// graceful's process group (terminal mode), which holds the main process and the part of its
// tree that stayed in the group: nowhere for the main process (a second copy would be a
// second Ctrl+C), the processes outside the group for the tree, which a stop reaches whole.
// Each such signal reaches each process once.
function beyondGroup(target: Target | null): Target | null {
  return target === 'tree' || target === 'outside-group' ? 'outside-group' : null;
}

// Advances the machine by one event. Every event is answered in every phase.
export function step(state: State, event: Event, policy: Policy): Step {
  const { phase } = state;
  switch (event.type) {
    case 'started':
      if (phase.kind !== 'starting') return same(state);
      {
        const next = withFacts(state, { pid: event.pid, startedAt: event.at, terminal: event.terminal ?? false }, { kind: 'running' });
        // A stop that arrived before the child existed starts as soon as it does, with its
        // deadline still counted from when it was asked for.
        if (phase.pendingStop) return beginStop(next, phase.pendingStop.signal, phase.pendingStop.at, policy, phase.pendingStop.delivered);
        if (policy.readyTimeoutMs === null) return same(next);
        const readyDeadline = event.at + policy.readyTimeoutMs;
        return { state: withFacts(next, { readyDeadline }), actions: [{ type: 'arm', timer: 'ready-timeout', at: readyDeadline }] };
      }

    case 'spawn-failed':
      if (phase.kind !== 'starting') return same(state);
      return finish(withFacts(state, { spawnError: { status: event.status, message: event.message } }), [], policy);

    case 'stop-requested':
      return onStopRequest(state, event.signal, event.at, policy, event.delivered ?? false);

    case 'stop':
      // graceful's own decision: a stop already under way needs no second one.
      if (phase.kind === 'running') return beginStop(state, event.trigger, event.at, policy);
      if (phase.kind === 'starting') return { state: { ...state, phase: { ...phase, pendingStop: phase.pendingStop ?? { signal: event.trigger, at: event.at, delivered: false } } }, actions: [] };
      return same(state);

    case 'force':
      return onForce(state, event.signal, event.at, policy);

    case 'ready':
      if (state.facts.readyAt !== null || state.facts.stop !== null || phase.kind !== 'running') return same(state);
      return { state: withFacts(state, { readyAt: event.at }), actions: [{ type: 'cancel', timer: 'ready-timeout' }] };

    case 'child-stopping':
      // It is shutting down on its own (sd_notify STOPPING=1): nothing to send, but the
      // grace period applies from now, as systemd's TimeoutStopSec does.
      if (phase.kind !== 'running') return same(state);
      {
        const stop = newStop('child-stopping', event.at, policy);
        const actions: Action[] = [{ type: 'cancel', timer: 'ready-timeout' }];
        if (stop.deadline !== null) actions.push({ type: 'arm', timer: 'deadline', at: stop.deadline });
        return { state: withFacts(state, { stop }, { kind: 'signalled' }), actions };
      }

    case 'extend-timeout':
      return extendTimeout(state, event.at + event.ms);

    case 'app-phase':
      return onAppPhase(state, event, policy);

    case 'forward':
    case 'suspend': {
      // Terminal mode: the child got the signal with graceful's group, and nothing more is
      // sent, as without graceful: what left the terminal's job (a daemon) is not the
      // terminal's to signal. A job-control stop is then the child's to take or not (vim
      // takes it, a REPL may not), and graceful follows it (child-stopped).
      const target = event.delivered ? null : liveTarget(phase, forwardTarget(policy));
      const actions: Action[] = [];
      let facts = state.facts;
      if (target) {
        const signal = event.type === 'forward' ? event.signal : 'SIGSTOP';
        actions.push({ type: 'send', signal, target, reason: event.type });
        facts = { ...facts, forwarded: { ...facts.forwarded, [event.signal]: (facts.forwarded[event.signal] ?? 0) + 1 } };
      }
      if (event.type === 'suspend' && !event.delivered) actions.push({ type: 'suspend-self' });
      return { state: { ...state, facts }, actions };
    }

    case 'child-stopped':
      // In terminal mode the shell waits on graceful, not on the child: graceful stops with
      // it, so that the shell sees the job stopped and its fg (SIGCONT to the job's process
      // group) resumes both. In a session of its own the child is stopped only by graceful
      // (which then stops already) or by someone else, which must not stop graceful.
      return state.facts.terminal && mainAlive(phase) ? { state, actions: [{ type: 'suspend-self' }] } : same(state);

    case 'timer':
      if (event.timer === 'stop-delay') {
        return phase.kind === 'delaying' ? sendStop(state, event.at, policy) : same(state);
      }
      if (event.timer === 'ready-timeout') {
        // Not ready in time (systemd's TimeoutStartSec, PM2's listen_timeout): stop it.
        const late = phase.kind === 'running' && state.facts.readyAt === null;
        return late ? beginStop(state, 'ready-timeout', event.at, policy) : same(state);
      }
      switch (phase.kind) {
        case 'pre-stop':
        case 'delaying':
        case 'signalled':
          return escalate(state, event.at, false, policy);
        case 'draining':
          return phase.killed ? same(state) : escalate(state, event.at, false, policy);
        case 'starting':
        case 'running':
        case 'killed':
        case 'done':
          return same(state); // a timer that fired after it stopped mattering
        default:
          return never(phase);
      }

    case 'pre-stop-exited': {
      const stop = state.facts.stop;
      if (!stop?.preStop || stop.preStop.endedAt !== null) return same(state);
      const preStop = { ...stop.preStop, endedAt: event.at, code: event.code, signal: event.signal, error: event.error };
      const next = withStop(state, { preStop });
      return phase.kind === 'pre-stop' ? afterPreStop(next, event.at, policy) : same(next);
    }

    case 'child-exited':
      return mainAlive(phase) ? onChildExit(state, event, policy) : same(state);

    case 'app-found':
      if (state.facts.app !== null || phase.kind === 'done' || event.pid === state.facts.pid) return same(state);
      return same(withFacts(state, { app: { pid: event.pid, command: event.command, foundAt: event.at, exit: null, signalSentAt: null } }));

    case 'app-exited':
      return onAppExit(state, event, policy);

    case 'tree-empty':
      if (phase.kind !== 'draining') return same(state);
      return finish(withFacts(state, { treeGoneAt: event.at }), [{ type: 'cancel', timer: 'deadline' }], policy);

    case 'traffic':
      return onTraffic(state, event, policy);

    default:
      return never(event);
  }
}

// How many status-channel lines a run keeps: a life has a dozen, plus two per resource; a
// program that writes more must not grow graceful.
export const MAX_PHASES = 500;

// A phase reported by a program using graceful-supervisor/app. Recorded; `ready` is readiness with
// --ready app; a stop the program decides itself (`stopping` by shutdown()) starts the grace
// period, as sd_notify's STOPPING=1 does.
function onAppPhase(state: State, event: Extract<Event, { type: 'app-phase' }>, policy: Policy): Step {
  if (state.phase.kind === 'done') return same(state);
  const { phases } = state.facts;
  const recorded = phases.length < MAX_PHASES ? withFacts(state, { phases: [...phases, { at: event.at, pid: event.pid, phase: event.phase }] }) : state;
  if (event.phase.phase === 'ready' && policy.readyOnAppPhase) return step(recorded, { type: 'ready', at: event.at }, policy);
  if (event.phase.phase === 'stopping' && event.phase.trigger === 'shutdown') return step(recorded, { type: 'child-stopping', at: event.at }, policy);
  return same(recorded);
}

// EXTEND_TIMEOUT_USEC: the timeout of the current phase runs at least until `until`.
function extendTimeout(state: State, until: number): Step {
  const { phase, facts } = state;
  if (phase.kind === 'running' && facts.readyAt === null && facts.readyDeadline !== null && until > facts.readyDeadline) {
    return { state: withFacts(state, { readyDeadline: until }), actions: [{ type: 'arm', timer: 'ready-timeout', at: until }] };
  }
  const stopping = phase.kind === 'pre-stop' || phase.kind === 'delaying' || phase.kind === 'signalled' || (phase.kind === 'draining' && !phase.killed);
  const deadline = facts.stop?.deadline ?? null;
  if (stopping && deadline !== null && until > deadline) {
    return { state: withStop(state, { deadline: until }), actions: [{ type: 'arm', timer: 'deadline', at: until }] };
  }
  return same(state);
}

function onStopRequest(state: State, signal: StopSignal, at: number, policy: Policy, delivered: boolean): Step {
  const { phase } = state;
  switch (phase.kind) {
    case 'starting':
      return { state: { ...state, phase: { ...phase, pendingStop: phase.pendingStop ?? { signal, at, delivered } } }, actions: [] };
    case 'running':
      return beginStop(state, signal, at, policy, delivered);
    case 'pre-stop':
    case 'delaying':
    case 'signalled':
      // The usual "press Ctrl+C again to force"; a repeated SIGTERM (a platform retrying)
      // is passed on again once the child has been signalled, but never escalates.
      if (isForce(state, signal, at, policy)) return escalate(state, at, true, policy);
      if (isEcho(state, signal, at)) return repeatStop(state, null, signal, policy, delivered);
      return repeatStop(state, phase.kind === 'signalled' ? stopTarget(policy) : null, signal, policy, delivered);
    case 'draining':
      if (phase.killed) return repeatStop(state, null, signal, policy, delivered);
      if (isForce(state, signal, at, policy)) return escalate(state, at, true, policy);
      if (isEcho(state, signal, at)) return repeatStop(state, null, signal, policy, delivered);
      return repeatStop(state, 'tree', signal, policy, delivered);
    case 'killed':
      return repeatStop(state, null, signal, policy, delivered);
    case 'done':
      return same(state);
    default:
      return never(phase);
  }
}

// The kill now, asked from above (graceful up: a second Ctrl+C to the stack). The echo
// window is the coordinator's to judge: each program began its stop at its own time.
function onForce(state: State, signal: StopSignal, at: number, policy: Policy): Step {
  const { phase } = state;
  if (!policy.kill) return onStopRequest(state, signal, at, policy, false);
  switch (phase.kind) {
    case 'starting':
      return onStopRequest(state, signal, at, policy, false);
    case 'running': {
      const begun = beginStop(state, signal, at, policy);
      const killed = escalate(begun.state, at, true, policy);
      return { state: killed.state, actions: [...begun.actions, ...killed.actions] };
    }
    case 'pre-stop':
    case 'delaying':
    case 'signalled':
      return escalate(state, at, true, policy);
    case 'draining':
      return phase.killed ? same(state) : escalate(state, at, true, policy);
    case 'killed':
    case 'done':
      return same(state);
    default:
      return never(phase);
  }
}

// One Ctrl+C seen twice (app/protocol.ts, ECHO_WINDOW_MS): the same keypress.
export { ECHO_WINDOW_MS };

function isEcho(state: State, signal: SignalName, at: number): boolean {
  const stop = state.facts.stop!;
  return signal === stop.trigger && at - stop.requestedAt < ECHO_WINDOW_MS;
}

// A SIGINT while stopping is the "again to force" gesture, unless it is an echo of the first.
function isForce(state: State, signal: SignalName, at: number, policy: Policy): boolean {
  return signal === 'SIGINT' && policy.kill && !isEcho(state, signal, at);
}

// The facts of a stop requested at `at`, before any step of it was taken.
function newStop(trigger: StopTrigger, at: number, policy: Policy, delivered = false): StopFacts {
  return {
    trigger,
    requestedAt: at,
    deadline: policy.kill ? at + policy.timeoutMs : null,
    preStop: null,
    signal: null,
    signalSentAt: null,
    sigcontSentAt: null,
    repeats: 0,
    killSignal: null,
    killSentAt: null,
    forced: false,
    killReason: null,
    delivered,
    traffic: null,
  };
}

// Starts the shutdown sequence: pre-stop, stop delay, stop signal, countdown.
function beginStop(state: State, trigger: StopTrigger, at: number, policy: Policy, delivered = false): Step {
  const stop = newStop(trigger, at, policy, delivered);
  const actions: Action[] = [{ type: 'cancel', timer: 'ready-timeout' }];
  if (stop.deadline !== null) actions.push({ type: 'arm', timer: 'deadline', at: stop.deadline });
  if (policy.preStop !== null) {
    stop.preStop = { startedAt: at, endedAt: null, code: null, signal: null, error: null, cancelled: false };
    actions.push({ type: 'run-pre-stop', command: policy.preStop });
    return { state: withFacts(state, { stop }, { kind: 'pre-stop' }), actions };
  }
  // The signal first, the timers after: the child should not wait on graceful's bookkeeping
  // (the deadline is a time, not a delay, so arming it a little later changes nothing).
  return append(afterPreStop(withFacts(state, { stop }), at, policy), actions);
}

function afterPreStop(state: State, at: number, policy: Policy): Step {
  const auto = policy.stopDelayAuto ?? null;
  if (auto) {
    const traffic: TrafficFacts = { arrivals: 0, lastArrivalAt: null, watched: true, seenUntil: null };
    const next = withStop(state, { traffic }, { kind: 'delaying' });
    const sendAt = autoSendAt(next.facts.stop!, auto);
    if (sendAt <= at) return sendStop(next, at, policy);
    return { state: next, actions: [{ type: 'watch-traffic' }, { type: 'arm', timer: 'stop-delay', at: sendAt }] };
  }
  if (policy.stopDelayMs > 0) {
    return {
      state: { ...state, phase: { kind: 'delaying' } },
      actions: [{ type: 'arm', timer: 'stop-delay', at: at + policy.stopDelayMs }],
    };
  }
  return sendStop(state, at, policy);
}

// --stop-delay auto: when the stop signal goes, counted from the stop request: once nothing
// new has arrived for the quiet window, not before the floor, not after the cap. Without a
// watch (nothing to watch), the floor. The quiet window is over only once a reading begun
// after its end has shown nothing newer: a reading that comes late (a loaded machine, a
// table of thousands of sockets) must not pass for quiet. Seen in the fleet bench, at a
// load of 24 on 2 cores: the first reading took 2 s, the timer fired at the floor on no
// evidence, and the load balancer's next 100 requests were refused. Until then, the cap.
function autoSendAt(stop: StopFacts, auto: AutoDelay): number {
  const from = stop.requestedAt;
  const traffic = stop.traffic!;
  if (!traffic.watched) return from + auto.floorMs;
  const cap = from + auto.capMs;
  const quietFrom = Math.max(from, traffic.lastArrivalAt ?? from) + auto.quietMs;
  const quietAt = Math.min(cap, Math.max(from + auto.floorMs, quietFrom));
  return traffic.seenUntil !== null && traffic.seenUntil >= quietAt ? quietAt : cap;
}

// A reading of the traffic watch: while waiting, the stop signal moves to its new time.
function onTraffic(state: State, event: Extract<Event, { type: 'traffic' }>, policy: Policy): Step {
  const stop = state.facts.stop;
  if (state.phase.kind !== 'delaying' || !stop?.traffic || !policy.stopDelayAuto) return same(state);
  const traffic: TrafficFacts = { arrivals: event.arrivals, lastArrivalAt: event.lastArrivalAt, watched: event.watched, seenUntil: event.seenUntil };
  const next = withStop(state, { traffic });
  const sendAt = autoSendAt(next.facts.stop!, policy.stopDelayAuto);
  if (sendAt <= event.at) return sendStop(next, event.at, policy);
  return { state: next, actions: [{ type: 'arm', timer: 'stop-delay', at: sendAt }] };
}

// The signal the child is asked to stop with: --stop-signal, else the one graceful received
// (a hang-up, with --interactive: a shell ignores SIGTERM, and dies of SIGHUP).
function chosenStopSignal(stop: StopFacts, policy: Policy): SignalName {
  if (policy.stopSignal !== null) return policy.stopSignal;
  return isStopSignal(stop.trigger) ? stop.trigger : 'SIGTERM';
}

function sendStop(state: State, at: number, policy: Policy): Step {
  const stop = state.facts.stop!;
  const signal = chosenStopSignal(stop, policy);
  // Terminal mode, stopped by Ctrl+C: the child already has the SIGINT, since the request;
  // on a platform that signals every process (Heroku), so does the rest of the tree.
  const fromPlatform = policy.platformSignalsTree === true && signal === stop.trigger;
  const already = (stop.delivered || fromPlatform) && signal === stop.trigger;
  const target = fromPlatform ? null : already ? beyondGroup(stopTarget(policy)) : stopTarget(policy);
  const actions: Action[] = target ? [{ type: 'send', signal, target, reason: 'stop' }] : [];
  // A program that speaks graceful-supervisor/app's protocol is told its deadline first (the message is
  // then in its socket before the signal is: docs/app-protocol.md); others pay nothing.
  if (stop.deadline !== null && state.facts.phases.length > 0) actions.unshift({ type: 'tell-deadline', at: stop.deadline });
  // systemd follows the stop signal with SIGCONT so a stopped (SIGSTOP, Ctrl+Z) process
  // wakes up to handle it; pointless after an uncatchable signal.
  const sigcont = target !== null && policy.sigcont && signal !== 'SIGKILL' && signal !== 'SIGCONT';
  if (sigcont) actions.push({ type: 'send', signal: 'SIGCONT', target, reason: 'sigcont' });
  // --stop-delay auto: the wait is over; the watch stops.
  if (stop.traffic?.watched && state.phase.kind === 'delaying') actions.push({ type: 'unwatch-traffic' });
  return {
    state: withStop(state, { signal, signalSentAt: already ? stop.requestedAt : at, sigcontSentAt: sigcont ? at : null }, { kind: 'signalled' }),
    actions,
  };
}

// Another stop request while stopping: passed on as received (or as --stop-signal says)
// once the child has been signalled, and counted; where the terminal already sent it, not again.
function repeatStop(state: State, to: Target | null, received: SignalName, policy: Policy, delivered: boolean): Step {
  const stop = state.facts.stop!;
  const signal = policy.stopSignal ?? received;
  const target = policy.platformSignalsTree === true && signal === received ? null : delivered && signal === received ? beyondGroup(to) : to;
  const actions: Action[] = target && stop.signal ? [{ type: 'send', signal, target, reason: 'stop' }] : [];
  return { state: withStop(state, { repeats: stop.repeats + 1 }), actions };
}

// Sends the kill signal: the grace period ran out (`forced` false) or a second Ctrl+C came.
function escalate(state: State, at: number, forced: boolean, policy: Policy): Step {
  const { phase } = state;
  const actions: Action[] = [
    { type: 'cancel', timer: 'deadline' },
    { type: 'cancel', timer: 'stop-delay' },
  ];
  let preStop = state.facts.stop!.preStop;
  if (phase.kind === 'pre-stop' && preStop) {
    actions.push({ type: 'cancel-pre-stop' });
    preStop = { ...preStop, cancelled: true };
  }
  const mainGone = phase.kind === 'draining';
  actions.push({ type: 'send', signal: policy.killSignal, target: mainGone ? 'tree' : killTarget(policy), reason: 'kill' });
  const next: MachinePhase = mainGone ? { kind: 'draining', killed: true } : { kind: 'killed' };
  return {
    state: withStop(state, { killSignal: policy.killSignal, killSentAt: at, forced, killReason: forced ? 'second-signal' : 'deadline', preStop }, next),
    actions,
  };
}

function onChildExit(state: State, event: Extract<Event, { type: 'child-exited' }>, policy: Policy): Step {
  const { phase } = state;
  const exit = { at: event.at, code: event.code, signal: event.signal, signo: event.signo };
  let next = withFacts(state, { exit });
  // The app ended before its launcher (which waited for it, and reaped it): by this time.
  const found = next.facts.app;
  if (found && found.exit === null && event.appAlive === false) {
    next = withFacts(next, { app: { ...found, exit: { at: event.at, code: null, signal: null, signo: null, known: false, survivors: event.survivors } } });
  }
  const actions: Action[] = [
    { type: 'cancel', timer: 'stop-delay' },
    { type: 'cancel', timer: 'ready-timeout' },
  ];
  if (phase.kind === 'pre-stop') {
    // The hook prepares the child's stop; with the child gone it has nothing left to do.
    actions.push({ type: 'cancel-pre-stop' });
    next = withStop(next, { preStop: { ...next.facts.stop!.preStop!, cancelled: true } });
  }

  const app = next.facts.app;
  const appRuns = app !== null && app.exit === null && event.survivors > 0;
  if (appRuns && policy.followApp && next.facts.stop && policy.killMode !== 'group') {
    // graceful check: the launcher is gone (the check says what that does in a container);
    // the app is now judged as the main process would be. The deadline stays as armed.
    actions.push({ type: 'watch-tree' });
    let after: State = { ...next, phase: { kind: 'draining', killed: false } };
    if (event.appGotStop !== true && next.facts.stop.signal !== null) {
      actions.push({ type: 'send', signal: next.facts.stop.signal, target: 'app', reason: 'stop' });
      after = withFacts(after, { app: { ...app, signalSentAt: event.at } });
    }
    return { state: after, actions };
  }

  if (event.survivors === 0 || leavesRest(policy)) {
    return finish(next, [...actions, { type: 'cancel', timer: 'deadline' }, { type: 'cancel', timer: 'ready-timeout' }], policy);
  }

  // The main process is gone but part of its tree is not (tini and dumb-init exit here and
  // let the runtime SIGKILL the rest mid-cleanup). The rest gets what the main process got.
  actions.push({ type: 'watch-tree' });
  if (phase.kind === 'killed') {
    // Already killed as a tree; again for anything forked since.
    actions.push({ type: 'send', signal: policy.killSignal, target: 'tree', reason: 'kill' });
    return { state: { ...next, phase: { kind: 'draining', killed: true } }, actions };
  }
  if (!next.facts.stop) {
    // Ended on its own: the leftovers are stopped with the stop signal and a full grace period.
    next = withFacts(next, { stop: newStop('child-exit', event.at, policy) });
    if (next.facts.stop!.deadline !== null) actions.push({ type: 'arm', timer: 'deadline', at: next.facts.stop!.deadline });
  }
  if (policy.killMode === 'mixed') {
    // systemd's KillMode=mixed: once the main process is gone, the rest gets the kill signal.
    actions.push({ type: 'cancel', timer: 'deadline' }, { type: 'send', signal: policy.killSignal, target: 'tree', reason: 'kill' });
    next = withStop(next, { killSignal: policy.killSignal, killSentAt: event.at, killReason: 'main-exited' });
    return { state: { ...next, phase: { kind: 'draining', killed: true } }, actions };
  }
  // Group mode: the rest of the tree has the remainder of the grace period (already armed),
  // after the stop signal if the main process exited before it was sent.
  if (next.facts.stop!.signal === null) {
    const sent = sendStop(next, event.at, policy);
    return { state: { ...sent.state, phase: { kind: 'draining', killed: false } }, actions: [...actions, ...sent.actions] };
  }
  return { state: { ...next, phase: { kind: 'draining', killed: false } }, actions };
}

// The app behind a launcher ended. Recorded; and when graceful check follows it after its
// launcher's exit, its end is the main process's end: kill mode mixed then kills the rest,
// kill mode process leaves it and is done.
function onAppExit(state: State, event: Extract<Event, { type: 'app-exited' }>, policy: Policy): Step {
  const app = state.facts.app;
  if (!app || app.exit !== null || state.phase.kind === 'done') return same(state);
  const exit = { at: event.at, code: event.code, signal: event.signal, signo: event.signo, known: event.known, survivors: event.survivors };
  const next = withFacts(state, { app: { ...app, exit } });
  const following = policy.followApp && state.facts.exit !== null && state.phase.kind === 'draining' && !state.phase.killed;
  if (!following || policy.killMode === 'group') return same(next);
  if (event.survivors === 0 || leavesRest(policy)) {
    return finish(next, [{ type: 'cancel', timer: 'deadline' }], policy);
  }
  return {
    state: withStop(next, { killSignal: policy.killSignal, killSentAt: event.at, killReason: 'app-exited' }, { kind: 'draining', killed: true }),
    actions: [{ type: 'cancel', timer: 'deadline' }, { type: 'send', signal: policy.killSignal, target: 'tree', reason: 'kill' }],
  };
}

function finish(state: State, actions: Action[], policy: Policy): Step {
  const status = exitStatus(state.facts, policy);
  return { state: { ...state, phase: { kind: 'done', status } }, actions: [...actions, { type: 'exit', status }] };
}

// Is the main process there to be signalled (spawned, not yet exited) in this phase?
function mainAlive(phase: MachinePhase): boolean {
  switch (phase.kind) {
    case 'running':
    case 'pre-stop':
    case 'delaying':
    case 'signalled':
    case 'killed':
      return true;
    case 'starting':
    case 'draining':
    case 'done':
      return false;
    default:
      return never(phase);
  }
}

// The target a forwarded signal can still reach in this phase, if any: once the main
// process is gone, only the rest of its tree.
function liveTarget(phase: MachinePhase, target: Target): Target | null {
  if (mainAlive(phase)) return target;
  return phase.kind === 'draining' && target === 'tree' ? 'tree' : null;
}

function withFacts(state: State, facts: Partial<Facts>, phase: MachinePhase = state.phase): State {
  return { phase, facts: { ...state.facts, ...facts } };
}

function withStop(state: State, stop: Partial<StopFacts>, phase: MachinePhase = state.phase): State {
  return withFacts(state, { stop: { ...state.facts.stop!, ...stop } }, phase);
}

function append(next: Step, actions: Action[]): Step {
  return { state: next.state, actions: [...next.actions, ...actions] };
}

function same(state: State): Step {
  return { state, actions: [] };
}

function never(value: never): never {
  throw new Error(`unhandled: ${JSON.stringify(value)}`);
}
