// Traces (issue 27): with the standard OpenTelemetry environment set (an OTLP endpoint), each
// run is exported as spans (report/spans.ts) over OTLP/HTTP with the JSON encoding, and the
// child gets a TRACEPARENT naming its run span, so that the program's own spans join the
// trace. Loaded only when the environment asks for it. Written on node:http rather than the
// OpenTelemetry JS SDK: the SDK and its exporter are 268 KB minified (graceful's whole bundle
// is 330 KB), eleven packages that every install of graceful would carry, and ~40 ms to load;
// what graceful sends is a few spans once a run is over (docs/observability.md, "Why not the
// OpenTelemetry SDK").
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Facts, Policy } from '../../core/types.js';
import { otlpBody, parseTraceparent, runSpans, traceparent, type RunTrace } from '../../report/spans.js';

declare const __VERSION__: string;
// The version the build stamps in (scripts/build.js); the tests run the sources.
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0';
// OTEL_EXPORTER_OTLP_TIMEOUT's default, as the specification sets it.
const DEFAULT_TIMEOUT_MS = 10_000;

/** What the environment says of the export. */
export interface TraceConfig {
  /** The full URL spans are POSTed to (…/v1/traces). */
  url: URL;
  headers: Record<string, string>;
  timeoutMs: number;
  /** The resource: service.name and OTEL_RESOURCE_ATTRIBUTES. */
  resource: Record<string, string>;
  /** The trace graceful was started in (its own TRACEPARENT), or null. */
  parent: { traceId: string; spanId: string } | null;
}

// Reads the OpenTelemetry environment (the SDK's variable names and meanings); null when no
// OTLP endpoint is set or traces are off, or a one-line reason when it cannot be used.
export function traceConfig(env: NodeJS.ProcessEnv): TraceConfig | string | null {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return null;
  const specific = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!specific && !base) return null;
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL;
  if (protocol === 'grpc') return `OTEL_EXPORTER_OTLP_PROTOCOL=grpc: graceful sends OTLP over HTTP (JSON) only; point OTEL_EXPORTER_OTLP_ENDPOINT at the collector's HTTP port (4318); traces are off`;
  // The signal-specific endpoint is used as it is; the general one gets /v1/traces appended.
  const raw = specific || `${base!.replace(/\/+$/, '')}/v1/traces`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `${specific ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT'}=${JSON.stringify(specific || base)} is not a URL; traces are off`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `${raw}: expected an http:// or https:// URL; traces are off`;
  const timeout = Number(env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT || env.OTEL_EXPORTER_OTLP_TIMEOUT || DEFAULT_TIMEOUT_MS);
  const resource = pairs(env.OTEL_RESOURCE_ATTRIBUTES);
  resource['service.name'] = env.OTEL_SERVICE_NAME || resource['service.name'] || 'graceful';
  return {
    url,
    headers: { ...pairs(env.OTEL_EXPORTER_OTLP_HEADERS), ...pairs(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) },
    timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : DEFAULT_TIMEOUT_MS,
    resource,
    parent: parseTraceparent(env.TRACEPARENT),
  };
}

// "k1=v1,k2=v2" (percent-encoded values), as OTEL_RESOURCE_ATTRIBUTES and the headers are written.
function pairs(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of (text ?? '').split(',')) {
    const eq = item.indexOf('=');
    if (eq <= 0) continue;
    const key = item.slice(0, eq).trim();
    try {
      out[key] = decodeURIComponent(item.slice(eq + 1).trim());
    } catch {
      out[key] = item.slice(eq + 1).trim();
    }
  }
  return out;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

// Exports each finished run; graceful waits for what is on its way before it exits.
export class Tracer {
  readonly #pending = new Set<Promise<void>>();
  /** The first failure, said once (warn). */
  #failed = false;

  constructor(
    readonly config: TraceConfig,
    private readonly warn: (text: string) => void,
  ) {}

  // A run about to start: its trace (graceful's own, when it was given one) and its span id.
  newRun(): RunTrace {
    const parent = this.config.parent;
    return { traceId: parent?.traceId ?? hex(16), spanId: hex(8), parentSpanId: parent?.spanId ?? null };
  }

  /** The child's environment for a run: TRACEPARENT names its run span. */
  env(run: RunTrace): Record<string, string> {
    return { TRACEPARENT: traceparent(run) };
  }

  // A run is over: its spans go out now (graceful's exit waits for them: flush()).
  runEnded(run: RunTrace, facts: Facts, policy: Policy, status: number, wall: (at: number) => number, program: string | null = null): void {
    const spans = runSpans(facts, policy, status, run, wall, () => hex(8), program);
    const body = JSON.stringify(otlpBody(spans, run.traceId, this.config.resource, VERSION));
    const sent = this.#post(body).then(
      () => {},
      (error: Error) => {
        if (this.#failed) return;
        this.#failed = true;
        this.warn(`traces: could not export to ${this.config.url.href} (${error.message}); the run goes on without them`);
      },
    );
    this.#pending.add(sent);
    void sent.finally(() => this.#pending.delete(sent));
  }

  /** Resolves once every export has been answered or has failed (each is bounded by its timeout). */
  async flush(): Promise<void> {
    await Promise.all([...this.#pending]);
  }

  // One POST, bounded by the timeout; rejects on an answer that is not 2xx.
  #post(body: string): Promise<void> {
    const { url, headers, timeoutMs } = this.config;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: timeoutMs }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode! >= 200 && res.statusCode! < 300 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs}ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}

// The tracer the environment asks for, or null; a reason it cannot be used goes to `warn`.
export function startTracing(env: NodeJS.ProcessEnv, warn: (text: string) => void): Tracer | null {
  const config = traceConfig(env);
  if (typeof config === 'string') {
    warn(config);
    return null;
  }
  return config && new Tracer(config, warn);
}
