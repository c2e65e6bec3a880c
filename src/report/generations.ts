// What people and machines read about a reloadable program: one sentence per reload (the
// same one graceful prints, `graceful reload` prints and the JSON report carries), and each
// generation's and reload's entry in the JSON report. Rendered from the coordinator's
// state (core/generations.ts) and each generation's machine facts.
import type { GenState, Generation, Reload } from '../core/generations.js';
import type { Facts } from '../core/types.js';
import type { RunOptions } from '../config/options.js';
import { human, type Fields } from './human.js';
import { buildReport, summarizeRun, type Report, type RunSummary } from './json.js';

/** A generation's facts, with its clock's way to wall-clock time, once its supervisor is done (or as it stands). */
export interface GenerationFacts {
  facts: Facts;
  wall: (at: number) => number;
  status: number | null;
}

function who(g: Generation | null, n: number | null): string {
  if (n === null) return 'no generation';
  return g?.pid != null ? `generation ${n} (pid ${g.pid})` : `generation ${n}`;
}

// "generation 4 (4 instances, pids 11, 12, 13, 14)"
function whoAll(gs: readonly Generation[], n: number): string {
  const pids = gs.map((g) => g.pid).filter((p) => p !== null);
  return `generation ${n} (${gs.length} instance(s)${pids.length ? `, pid${pids.length > 1 ? 's' : ''} ${pids.join(', ')}` : ''})`;
}

// How a generation ended before it was ready, in a few words.
function endedUnready(reload: Reload, facts: Facts | null, readyTimeoutMs: number | null): string {
  const reason = reload.reason!;
  if (reason.kind === 'stopping') return 'graceful is stopping';
  if (reason.trigger === 'ready-timeout') return `was not ready within ${human(readyTimeoutMs ?? 0)} (--ready-timeout)`;
  if (facts?.spawnError) return `could not be started (${facts.spawnError.message})`;
  const exit = facts?.exit;
  if (exit?.signal) return `died of ${exit.signal} before it was ready`;
  if (exit) return `exited with code ${exit.code} before it was ready`;
  return `ended with status ${reason.status} before it was ready`;
}

// The sentence for a reload whose outcome is known.
export function reloadLine(state: GenState, reload: Reload, facts: (n: number, instance?: number) => Facts | null, readyTimeoutMs: number | null): string {
  if (reload.instances > 1) return reloadLineOfInstances(state, reload, facts, readyTimeoutMs);
  const gen = reload.generation !== null ? (state.generations.find((g) => g.n === reload.generation) ?? null) : null;
  const old = reload.replaces !== null ? (state.generations.find((g) => g.n === reload.replaces) ?? null) : null;
  const merged = reload.merged > 0 ? `, ${reload.merged} more request(s) merged into it` : '';
  const head = `reload ${reload.n} (${reload.via}${merged})`;
  switch (reload.outcome) {
    case 'switched': {
      const ready = gen?.readyAt != null && gen.startedAt !== null ? `, ready in ${human(gen.readyAt - gen.startedAt)}` : '';
      const after = reload.endedAt !== null ? ` ${human(reload.endedAt - reload.requestedAt)} after the request` : '';
      const rest = old === null ? '' : old.exit && old.exit.at <= (reload.endedAt ?? 0) ? `; ${who(old, old.n)} had ended already` : `; ${who(old, old.n)} drains`;
      return `${head}: switched${after} to ${who(gen, reload.generation)}${ready}${rest} [switched]`;
    }
    case 'rolled-back':
      return `${head}: rolled back: ${who(gen, reload.generation)} ${endedUnready(reload, gen && facts(gen.n), readyTimeoutMs)}; ${who(old, reload.replaces)} keeps serving [rolled-back]`;
    case 'failed':
      if (reload.reason?.kind === 'stopping') return `${head}: failed: graceful is stopping${reload.generation !== null ? `; ${who(gen, reload.generation)} is stopped too` : ''} [failed]`;
      return `${head}: failed: ${who(gen, reload.generation)} ${endedUnready(reload, gen && facts(gen.n), readyTimeoutMs)}, and no generation serves [failed]`;
    default:
      return `${head}: under way`;
  }
}

// A reload's figures, for its line in the JSON log (--log-format json) and the metrics.
export function reloadFields(r: Reload): Fields {
  return {
    reload: r.n,
    via: r.via,
    outcome: r.outcome,
    generation: r.generation,
    replaces: r.replaces,
    merged: r.merged,
    newReadyAfterMs: r.readyAt !== null ? Math.round(r.readyAt - r.requestedAt) : null,
    switchedAfterMs: r.endedAt !== null ? Math.round(r.endedAt - r.requestedAt) : null,
  };
}

// The sentence for a reload of several instances (one at a time: see core/generations.ts).
function reloadLineOfInstances(state: GenState, reload: Reload, facts: (n: number, instance?: number) => Facts | null, readyTimeoutMs: number | null): string {
  const n = reload.generation;
  const gs = n === null ? [] : state.generations.filter((g) => g.n === n);
  const merged = reload.merged > 0 ? `, ${reload.merged} more request(s) merged into it` : '';
  const head = `reload ${reload.n} (${reload.via}${merged})`;
  const old = [...new Set(reload.replacing.map((s) => s.n))].map((g) => `generation ${g}`).join(', ');
  const left = reload.replacing.filter((s) => state.generations.some((g) => g.n === s.n && g.instance === s.instance && g.role !== 'exited')).length;
  switch (reload.outcome) {
    case 'switched': {
      const after = reload.endedAt !== null ? ` ${human(reload.endedAt - reload.requestedAt)} after the request` : '';
      const ready = gs.flatMap((g) => (g.readyAt !== null && g.startedAt !== null ? [g.readyAt - g.startedAt] : []));
      const readyIn = ready.length ? `, each ready in ${human(Math.min(...ready))}${Math.round(Math.max(...ready)) !== Math.round(Math.min(...ready)) ? `-${human(Math.max(...ready))}` : ''}` : '';
      const rest = reload.replacing.length === 0 ? '' : left > 0 ? `; ${old} drain${left > 1 ? '' : 's'} (${left} instance(s) still stopping)` : `; ${old} ended`;
      return `${head}: switched${after} to ${whoAll(gs, n!)}, one instance at a time${readyIn}${rest} [switched]`;
    }
    case 'rolled-back': {
      const failed = reload.reason?.kind === 'exited' ? gs.find((g) => g.instance === (reload.reason as { instance: number }).instance) ?? null : null;
      const what = failed ? `instance ${failed.instance} of generation ${n}${failed.pid !== null ? ` (pid ${failed.pid})` : ''} ${endedUnready(reload, facts(failed.n, failed.instance), readyTimeoutMs)}` : 'a new instance ended';
      const kept = reload.switched === 0 ? `no instance was replaced: ${old || 'the old ones'} keep${old.includes(',') ? '' : 's'} serving` : `the reload stopped after ${reload.switched} of ${reload.instances} instance(s): those serve generation ${n}, the ${reload.instances - reload.switched} other(s) still ${old}; reload again once fixed`;
      return `${head}: rolled back: ${what}; ${kept} [rolled-back]`;
    }
    case 'failed':
      if (reload.reason?.kind === 'stopping') return `${head}: failed: graceful is stopping${n !== null && gs.length ? `; generation ${n} is stopped too` : ''} [failed]`;
      return `${head}: failed: a new instance of generation ${n} ended before it was ready, and no instance serves [failed]`;
    default:
      return `${head}: under way (${reload.switched} of ${reload.instances} instance(s) switched)`;
  }
}

/** A generation in the JSON report: its run, when it was ready and retired, its stop sequence. */
export interface GenerationSummary extends RunSummary {
  generation: number;
  /** Its slot, 1..--instances. */
  instance: number;
  cause: Generation['cause'];
  role: Generation['role'];
  readyAt: string | null;
  /** From its start to ready. */
  readyAfterMs: number | null;
  /** When a newer generation replaced it. */
  retiredAt: string | null;
  stop: Report['stop'];
}

/** A reload in the JSON report. */
export interface ReloadSummary {
  reload: number;
  requestedAt: string;
  via: string;
  merged: number;
  generation: number | null;
  replaces: number | null;
  /** How many instances the new generation has, and how many of them became ready and replaced an old one. */
  instances: number;
  switched: number;
  /** From the request to the new generation ready. */
  newReadyAfterMs: number | null;
  /** From the switch to the replaced generation gone. */
  oldDrainedAfterMs: number | null;
  outcome: Reload['outcome'];
  reason: string | null;
  /** The sentence graceful printed. */
  summary: string;
}

// A generation's entry, from its facts (null: it has not started yet).
export function summarizeGeneration(g: Generation, f: GenerationFacts | null, options: RunOptions): GenerationSummary {
  const iso = (wall: (at: number) => number, at: number | null) => (at === null ? null : new Date(wall(at)).toISOString());
  const wall = f?.wall ?? ((at: number) => at);
  const run: RunSummary = f
    ? summarizeRun(f.facts, options.policy, f.wall)
    : { pid: g.pid, startedAt: new Date(wall(g.spawnAt)).toISOString(), endedAt: null, uptimeMs: null, exit: null, trigger: null, exitStatus: 0, verdict: 'not-started' };
  const stop = f ? buildReport(f.facts, options, f.status ?? 0, f.wall, { descendants: { atStop: null, atMainExit: [], atAppExit: null, killed: [], leaked: [] }, reaper: null }).stop : null;
  return {
    generation: g.n,
    instance: g.instance,
    cause: g.cause,
    role: g.role,
    ...run,
    readyAt: iso(wall, g.readyAt),
    readyAfterMs: g.readyAt !== null && g.startedAt !== null ? Math.round(g.readyAt - g.startedAt) : null,
    retiredAt: iso(wall, g.retiredAt),
    stop,
  };
}

// A reload's entry in the JSON report, with the sentence graceful printed for it.
export function summarizeReload(state: GenState, r: Reload, wall: (at: number) => number, facts: (n: number, instance?: number) => Facts | null, readyTimeoutMs: number | null): ReloadSummary {
  return {
    reload: r.n,
    requestedAt: new Date(wall(r.requestedAt)).toISOString(),
    via: r.via,
    merged: r.merged,
    generation: r.generation,
    replaces: r.replaces,
    instances: r.instances,
    switched: r.switched,
    newReadyAfterMs: r.readyAt !== null ? Math.round(r.readyAt - r.requestedAt) : null,
    oldDrainedAfterMs: r.drainedAt !== null && r.endedAt !== null ? Math.max(0, Math.round(r.drainedAt - r.endedAt)) : null,
    outcome: r.outcome,
    reason: r.reason === null ? null : r.reason.kind === 'stopping' ? 'graceful was stopping' : r.reason.trigger === 'ready-timeout' ? 'not ready in time' : `ended before it was ready (status ${r.reason.status})`,
    summary: reloadLine(state, r, facts, readyTimeoutMs),
  };
}
