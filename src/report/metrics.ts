// What a fleet's Prometheus reads on GET /metrics (--health-port): each run's stop, restart,
// readiness and reload, counted from the same facts and timeline as the summary line and the
// JSON report (core/timeline.ts), and written in Prometheus' text exposition format (version
// 0.0.4). PURE: the shell (shell/probes/health.ts) records into it and serves what it renders.
//
// Written by hand, not with prom-client: the format is a few lines of text per family, and
// prom-client (15.1) costs 67 KB of bundle and ~28 ms to load, against nothing here
// (docs/observability.md, "Why no client library").
import { timeline } from '../core/timeline.js';
import type { RestartReason } from '../core/restart.js';
import type { Facts, Policy } from '../core/types.js';
import type { Reload } from '../core/generations.js';

/** Label names to values: the program (graceful up), the trigger, the verdict... */
export type Labels = Readonly<Record<string, string>>;

// Shutdown durations: a clean stop takes milliseconds to seconds; grace periods are 10 s
// (docker stop), 30 s (Kubernetes, graceful's default), 90 s (systemd): a bucket at each, so
// that "how many stops came within 5 s of their 30 s grace period" has an answer.
export const SHUTDOWN_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 20, 25, 30, 45, 60, 90, 120, 300] as const;
// Time to ready: a process starts in milliseconds to a minute (--ready-timeout's default 60 s).
export const READY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120] as const;

/** The metric families graceful exposes, each with its HELP text (docs/observability.md lists them from here). */
export const FAMILIES = {
  stops: { name: 'graceful_stops_total', type: 'counter', help: 'Stops of the supervised program, by what asked for them (trigger) and how they ended (verdict).' },
  exits: { name: 'graceful_exits_total', type: 'counter', help: 'Runs that ended without a stop request, by verdict (exited, crashed, not-started).' },
  shutdown: { name: 'graceful_shutdown_duration_seconds', type: 'histogram', help: "From a stop request to the end of the program's work (its exit, or its app's behind a launcher)." },
  lastShutdown: { name: 'graceful_last_shutdown_duration_seconds', type: 'gauge', help: 'The latest stop, from its request to the end of the work.' },
  kills: { name: 'graceful_kill_signals_total', type: 'counter', help: 'Kill signals graceful sent, by why (deadline: the grace period ran out; second-signal; main-exited and app-exited: kill mode mixed).' },
  restarts: { name: 'graceful_restarts_total', type: 'counter', help: 'Restarts of the program, by why its run ended (exited, crashed, memory-limit, ready-timeout).' },
  ready: { name: 'graceful_ready_duration_seconds', type: 'histogram', help: 'From the spawn to ready (--ready), per run.' },
  running: { name: 'graceful_children_running', type: 'gauge', help: 'Supervised programs whose main process runs now (with reloads: generations).' },
  orphans: { name: 'graceful_orphans_reaped_total', type: 'counter', help: 'Orphaned processes graceful reaped (as PID 1 or a child subreaper).' },
  reloads: { name: 'graceful_reloads_total', type: 'counter', help: 'Zero-downtime reloads (--listen, --control), by outcome (switched, rolled-back, failed).' },
  reloadDuration: { name: 'graceful_reload_duration_seconds', type: 'histogram', help: 'From a reload request to the switch to the new generation.' },
} as const;
type Family = keyof typeof FAMILIES;

const BUCKETS: Partial<Record<Family, readonly number[]>> = { shutdown: SHUTDOWN_BUCKETS, ready: READY_BUCKETS, reloadDuration: READY_BUCKETS };

/** A histogram's state for one set of labels. */
interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

/** What is read at scrape time rather than counted: the gauges of the moment. */
export interface Now {
  /** Programs running now, each with its labels (graceful run: one, unlabelled). */
  running: { labels: Labels; value: number }[];
  /** Orphans reaped so far by the process (one reaper for every program). */
  orphansReaped: number;
}

// The counters and histograms of one graceful process, keyed by their labels.
export class Metrics {
  readonly #values = new Map<Family, Map<string, { labels: Labels; value: number }>>();
  readonly #histograms = new Map<Family, Map<string, { labels: Labels; h: Histogram }>>();
  /** Families shown only once something uses them (reloads: with --listen). */
  readonly #shown = new Set<Family>(['stops', 'exits', 'shutdown', 'lastShutdown', 'kills', 'restarts', 'ready', 'running', 'orphans']);

  /** Shows the reload families (at 0) from the start: reloads are on. */
  reloadsOn(): void {
    this.#shown.add('reloads').add('reloadDuration');
  }

  // A run is over: its stop (trigger, verdict, duration, kill) or its own end, from its timeline.
  runEnded(facts: Facts, policy: Policy, labels: Labels = {}): void {
    if (facts.spawnError) return this.#add('exits', { ...labels, verdict: 'not-started' });
    const tl = timeline(facts, policy);
    if (tl.requested && facts.stop) {
      this.#add('stops', { ...labels, trigger: facts.stop.trigger, verdict: tl.verdict });
      if (tl.shutdownMs !== null) {
        this.#observe('shutdown', labels, tl.shutdownMs / 1000);
        this.#set('lastShutdown', labels, tl.shutdownMs / 1000);
      }
    } else {
      this.#add('exits', { ...labels, verdict: tl.verdict });
    }
    if (facts.stop?.killSentAt != null) this.#add('kills', { ...labels, reason: facts.stop.killReason ?? 'deadline' });
  }

  // The program is ready: `ms` from its spawn.
  ready(ms: number, labels: Labels = {}): void {
    this.#observe('ready', labels, ms / 1000);
  }

  restarted(reason: RestartReason, labels: Labels = {}): void {
    this.#add('restarts', { ...labels, reason });
  }

  // A reload's outcome is known.
  reloaded(reload: Reload, labels: Labels = {}): void {
    if (reload.outcome === null) return;
    this.reloadsOn();
    this.#add('reloads', { ...labels, outcome: reload.outcome });
    if (reload.outcome === 'switched' && reload.endedAt !== null) this.#observe('reloadDuration', labels, (reload.endedAt - reload.requestedAt) / 1000);
  }

  // The text exposition format: every family shown, with HELP and TYPE, then its samples.
  render(now: Now): string {
    const out: string[] = [];
    for (const key of Object.keys(FAMILIES) as Family[]) {
      if (!this.#shown.has(key)) continue;
      const { name, type, help } = FAMILIES[key];
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      if (key === 'running') for (const r of now.running) out.push(sample(name, r.labels, r.value));
      else if (key === 'orphans') out.push(sample(name, {}, now.orphansReaped));
      else if (type === 'histogram') {
        const bounds = BUCKETS[key]!;
        for (const { labels, h } of this.#histograms.get(key)?.values() ?? []) {
          let cumulative = 0;
          bounds.forEach((le, i) => {
            cumulative += h.counts[i]!;
            out.push(sample(`${name}_bucket`, { ...labels, le: String(le) }, cumulative));
          });
          out.push(sample(`${name}_bucket`, { ...labels, le: '+Inf' }, h.count), sample(`${name}_sum`, labels, h.sum), sample(`${name}_count`, labels, h.count));
        }
      } else {
        for (const { labels, value } of this.#values.get(key)?.values() ?? []) out.push(sample(name, labels, value));
      }
    }
    return `${out.join('\n')}\n`;
  }

  #entry(family: Family, labels: Labels): { labels: Labels; value: number } {
    let series = this.#values.get(family);
    if (!series) this.#values.set(family, (series = new Map()));
    const key = labelText(labels);
    let entry = series.get(key);
    if (!entry) series.set(key, (entry = { labels, value: 0 }));
    return entry;
  }

  #add(family: Family, labels: Labels): void {
    this.#entry(family, labels).value++;
  }

  #set(family: Family, labels: Labels, value: number): void {
    this.#entry(family, labels).value = value;
  }

  #observe(family: Family, labels: Labels, value: number): void {
    const bounds = BUCKETS[family]!;
    let series = this.#histograms.get(family);
    if (!series) this.#histograms.set(family, (series = new Map()));
    const key = labelText(labels);
    let entry = series.get(key);
    if (!entry) series.set(key, (entry = { labels, h: { counts: bounds.map(() => 0), sum: 0, count: 0 } }));
    const i = bounds.findIndex((le) => value <= le);
    if (i !== -1) entry.h.counts[i]!++;
    entry.h.sum += value;
    entry.h.count++;
  }
}

// One sample line: name{labels} value.
function sample(name: string, labels: Labels, value: number): string {
  return `${name}${labelText(labels)} ${formatValue(value)}`;
}

// {a="x",b="y"}, or nothing without labels; values escaped as the format says (\\, \", \n).
function labelText(labels: Labels): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return pairs.length > 0 ? `{${pairs.join(',')}}` : '';
}

// Seconds to the millisecond (graceful's clock's precision on every figure), counts as they are.
function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Math.round(value * 1000) / 1000);
}
