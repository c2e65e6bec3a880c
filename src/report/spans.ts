// A run as OpenTelemetry spans, built after it ended from the facts its summary line and JSON
// report are built from (one timeline): the run, its start to ready, its stop and each phase
// of the stop (pre-stop, stop delay, drain, kill, tree wait), and the program's own phases
// from graceful-supervisor/app's status channel as children of the stop (stamped on graceful's
// clock). Then the OTLP/HTTP JSON body that carries them (docs/observability.md). PURE: the
// shell (shell/telemetry/otlp.ts) gives the ids and the wall clock, and sends the body.
import { appOutlived, timeline } from '../core/timeline.js';
import type { Facts, PhaseRecord, Policy } from '../core/types.js';

/** An attribute's value, as OTLP carries it. */
export type AttrValue = string | number | boolean;

/** One span: ids in lower-case hex (16 bytes for a trace, 8 for a span), times in wall-clock milliseconds. */
export interface Span {
  name: string;
  spanId: string;
  parentSpanId: string | null;
  startMs: number;
  endMs: number;
  attributes: Record<string, AttrValue | null>;
  /** Why the span failed (OTLP status ERROR), or null (UNSET). */
  error: string | null;
}

/** The run's place in a trace, fixed before its spawn (TRACEPARENT names it to the child). */
export interface RunTrace {
  traceId: string;
  /** The run span's id. */
  spanId: string;
  /** The span graceful's own TRACEPARENT named (a CI job, a deploy tool), or null: the run is the root. */
  parentSpanId: string | null;
}

// The W3C trace context that makes the program's spans children of its run span.
export function traceparent(run: RunTrace): string {
  return `00-${run.traceId}-${run.spanId}-01`;
}

// A TRACEPARENT graceful was given, read: its trace and span ids; null if absent or malformed.
export function parseTraceparent(value: string | undefined): { traceId: string; spanId: string } | null {
  const m = /^[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-[\da-f]{2}$/.exec(value?.trim() ?? '');
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return null;
  return { traceId: m[1]!, spanId: m[2]! };
}

// The spans of a finished run. `wall` turns the run's clock into wall-clock milliseconds;
// `newId` makes a span id; `program` names the process in graceful up.
export function runSpans(facts: Facts, policy: Policy, status: number, run: RunTrace, wall: (at: number) => number, newId: () => string, program: string | null = null): Span[] {
  const tl = timeline(facts, policy);
  const { stop, exit, app } = facts;
  const spans: Span[] = [];
  const span = (name: string, parent: string, from: number, to: number, attributes: Span['attributes'] = {}, error: string | null = null): string => {
    const spanId = newId();
    spans.push({ name, spanId, parentSpanId: parent, startMs: wall(from), endMs: wall(Math.max(from, to)), attributes, error });
    return spanId;
  };
  const workEnd = exit ? (appOutlived(facts) && app?.exit ? app.exit.at : exit.at) : null;
  const end = Math.max(facts.spawnAt, exit?.at ?? facts.spawnAt, workEnd ?? facts.spawnAt, facts.treeGoneAt ?? facts.spawnAt);
  const failed = tl.verdict !== 'clean' && tl.verdict !== 'exited';
  spans.push({
    name: program ? `graceful run ${program}` : 'graceful run',
    spanId: run.spanId,
    parentSpanId: run.parentSpanId,
    startMs: wall(facts.spawnAt),
    endMs: wall(end),
    attributes: {
      'graceful.program': program,
      'process.pid': facts.pid,
      'process.command_line': facts.command.join(' '),
      'process.exit.code': exit?.code ?? null,
      'graceful.exit_signal': exit?.signal ?? null,
      'graceful.exit_status': status,
      'graceful.verdict': tl.verdict,
      'graceful.uptime_ms': tl.uptimeMs,
    },
    error: facts.spawnError ? facts.spawnError.message : failed ? `verdict ${tl.verdict}, exit status ${status}` : null,
  });
  if (facts.readyAt !== null && facts.startedAt !== null) span('ready', run.spanId, facts.spawnAt, facts.readyAt, { 'graceful.ready_ms': tl.readyMs });
  if (!stop || !exit) return spans;
  const stopEnd = Math.max(workEnd ?? exit.at, facts.treeGoneAt ?? exit.at);
  const stopId = span('stop', run.spanId, stop.requestedAt, stopEnd, {
    'graceful.trigger': stop.trigger,
    'graceful.grace_ms': tl.graceMs,
    'graceful.verdict': tl.verdict,
    'graceful.shutdown_ms': tl.shutdownMs,
    'graceful.stop_signal': stop.signal,
    'graceful.kill_signal': stop.killSentAt !== null ? stop.killSignal : null,
    'graceful.kill_reason': stop.killReason,
  }, tl.escalated ? `the kill signal was needed (${stop.killReason ?? 'deadline'})` : null);
  const pre = stop.preStop;
  if (pre) {
    const preEnd = pre.endedAt ?? stop.signalSentAt ?? stopEnd;
    span('pre-stop', stopId, pre.startedAt, preEnd, { 'graceful.pre_stop.code': pre.code, 'graceful.pre_stop.signal': pre.signal, 'graceful.pre_stop.cancelled': pre.cancelled }, pre.error ?? (pre.code !== 0 && pre.code !== null ? `exited with code ${pre.code}` : null));
  }
  if (policy.stopDelayMs > 0 && stop.signalSentAt !== null) span('stop delay', stopId, pre?.endedAt ?? stop.requestedAt, stop.signalSentAt, { 'graceful.stop_delay_ms': policy.stopDelayMs });
  if (stop.signalSentAt !== null) span('drain', stopId, stop.signalSentAt, stop.killSentAt ?? workEnd ?? exit.at, { 'graceful.stop_signal': stop.signal });
  if (stop.killSentAt !== null) span('kill', stopId, stop.killSentAt, Math.max(stop.killSentAt, workEnd ?? exit.at), { 'graceful.kill_signal': stop.killSignal, 'graceful.kill_reason': stop.killReason });
  if (facts.treeGoneAt !== null && facts.treeGoneAt > exit.at) span('tree wait', stopId, exit.at, facts.treeGoneAt);
  appSpans(facts.phases.filter((p) => p.at >= stop.requestedAt), stopId, span);
  return spans;
}

// The program's own shutdown (graceful-supervisor/app), from its phases: its whole shutdown,
// and within it the drain and each resource's close.
function appSpans(phases: readonly PhaseRecord[], parent: string, span: (name: string, parent: string, from: number, to: number, attributes?: Span['attributes'], error?: string | null) => string): void {
  const at = (name: string) => phases.find((p) => p.phase.phase === name);
  const stopping = at('stopping');
  if (!stopping) return;
  const last = at('done') ?? at('forced') ?? phases[phases.length - 1]!;
  const done = last.phase;
  const shutdownId = span('app shutdown', parent, stopping.at, last.at, { 'graceful.app.pid': stopping.pid }, done.phase === 'forced' ? `forced by ${done.signal}` : done.phase === 'done' && !done.ok ? 'not everything drained and closed' : null);
  const notAccepting = at('not-accepting');
  const drained = at('drained');
  if (notAccepting && drained && drained.phase.phase === 'drained' && notAccepting.phase.phase === 'not-accepting') {
    const d = drained.phase;
    span('app drain', shutdownId, notAccepting.at, drained.at, { 'graceful.app.inflight': notAccepting.phase.inflight, 'graceful.app.completed': d.completed, 'graceful.app.cut': d.cut }, d.cut > 0 ? `${d.cut} cut at the drain deadline` : null);
  }
  for (const closing of phases) {
    if (closing.phase.phase !== 'closing') continue;
    const name = closing.phase.name;
    const closed = phases.find((p) => p.at >= closing.at && p.phase.phase === 'closed' && p.phase.name === name);
    const outcome = closed?.phase.phase === 'closed' ? closed.phase : null;
    span(`app close ${name}`, shutdownId, closing.at, closed?.at ?? last.at, { 'graceful.app.resource': name, 'graceful.app.outcome': outcome?.outcome ?? null }, outcome && outcome.outcome !== 'closed' ? `${outcome.outcome}${outcome.error ? `: ${outcome.error}` : ''}` : null);
  }
}

// The body of an OTLP/HTTP JSON export (ExportTraceServiceRequest, the protobuf's JSON
// mapping with hex ids, as the OTLP specification says): the resource's attributes, the
// instrumentation scope `graceful` and its version, the spans.
export function otlpBody(spans: readonly Span[], traceId: string, resource: Readonly<Record<string, string>>, version: string): object {
  return {
    resourceSpans: [
      {
        resource: { attributes: attributes(resource) },
        scopeSpans: [
          {
            scope: { name: 'graceful', version },
            spans: spans.map((s) => ({
              traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              // SPAN_KIND_INTERNAL: graceful's own work, neither a request served nor made.
              kind: 1,
              startTimeUnixNano: nanos(s.startMs),
              endTimeUnixNano: nanos(s.endMs),
              attributes: attributes(s.attributes),
              // STATUS_CODE_ERROR (2) with its message, else UNSET (0).
              status: s.error ? { code: 2, message: s.error } : { code: 0 },
            })),
          },
        ],
      },
    ],
  };
}

// Attributes as OTLP's KeyValue list; a null value is left out.
function attributes(values: Readonly<Record<string, AttrValue | null>>): object[] {
  return Object.entries(values)
    .filter(([, v]) => v !== null)
    .map(([key, v]) => ({ key, value: typeof v === 'string' ? { stringValue: v } : typeof v === 'boolean' ? { boolValue: v } : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v } }));
}

// Wall-clock milliseconds to the decimal string of nanoseconds since the epoch (fixed64 in JSON).
function nanos(ms: number): string {
  return (BigInt(Math.round(ms * 1000)) * 1000n).toString();
}
