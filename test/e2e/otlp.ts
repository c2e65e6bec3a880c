// An OTLP/HTTP receiver for the trace tests: it takes POST /v1/traces as a collector's otlphttp
// receiver does, and decodes each JSON body with the official OpenTelemetry protocol
// definitions (the opentelemetry-proto messages, compiled by protobufjs, as
// @opentelemetry/otlp-transformer 0.57 ships them): hex ids to bytes, the message built from
// the JSON, encoded to the protobuf wire format and decoded back. A field the definitions do
// not have, or of the wrong type, is lost on that way, and the receiver answers 400 and
// records the difference: graceful's body must survive the round trip whole.
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const root: any = require('@opentelemetry/otlp-transformer/build/src/generated/root');
const Request = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

/** A span as the receiver decoded it (ids back in hex). */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: Record<string, unknown> }[];
  status: { code: number; message: string };
  /** The attributes as a plain object (string, bool, int as number, double). */
  attrs: Record<string, string | number | boolean>;
  /** Start and end in wall-clock milliseconds. */
  startMs: number;
  endMs: number;
}

export interface Export {
  resource: Record<string, string | number | boolean>;
  scope: { name: string; version: string };
  spans: ReceivedSpan[];
}

export interface Receiver {
  url: string;
  exports: Export[];
  /** Bodies the definitions did not take whole, with what was lost. */
  rejected: string[];
  /** Waits (bounded) for `n` exports; says what it saw when it times out. */
  waitFor(n: number, ms?: number): Promise<Export[]>;
  close(): Promise<void>;
}

const ID_KEYS = new Set(['traceId', 'spanId', 'parentSpanId']);

// The JSON mapping's hex ids as bytes (OTLP's one departure from proto3's JSON mapping).
function idsToBytes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(idsToBytes);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (ID_KEYS.has(k)) {
      if (typeof v !== 'string' || !/^([\da-f]{2})*$/.test(v)) throw new Error(`${k} is not lower-case hex: ${JSON.stringify(v)}`);
      out[k] = Buffer.from(v, 'hex');
    } else out[k] = idsToBytes(v);
  }
  return out;
}

// Every value of `sent` is in `got` (which has the defaults too): nothing was dropped or changed.
function lost(sent: unknown, got: unknown, path: string, out: string[]): void {
  if (sent !== null && typeof sent === 'object') {
    if (Array.isArray(sent)) {
      if (!Array.isArray(got) || got.length !== sent.length) return void out.push(`${path}: an array of ${sent.length}, decoded as ${JSON.stringify(got)}`);
      sent.forEach((v, i) => lost(v, got[i], `${path}[${i}]`, out));
      return;
    }
    for (const [k, v] of Object.entries(sent)) lost(v, (got as Record<string, unknown> | undefined)?.[k], `${path}.${k}`, out);
    return;
  }
  if (String(sent) !== String(got)) out.push(`${path}: sent ${JSON.stringify(sent)}, decoded ${JSON.stringify(got)}`);
}

function attrValue(v: Record<string, unknown>): string | number | boolean {
  if ('stringValue' in v) return v.stringValue as string;
  if ('boolValue' in v) return v.boolValue as boolean;
  if ('intValue' in v) return Number(v.intValue);
  return v.doubleValue as number;
}

const plain = (list: { key: string; value: Record<string, unknown> }[]) => Object.fromEntries(list.map((a) => [a.key, attrValue(a.value)]));

// Decodes one body as the receiver does; throws with what was lost.
export function decode(body: string): Export[] {
  const sent = JSON.parse(body);
  const message = Request.fromObject(idsToBytes(sent));
  const decoded = Request.toObject(Request.decode(Request.encode(message).finish()), { longs: String, enums: Number, bytes: String, defaults: true, arrays: true });
  const hexed = JSON.parse(JSON.stringify(decoded, (k, v) => (ID_KEYS.has(k) && typeof v === 'string' ? Buffer.from(v, 'base64').toString('hex') : v)));
  const problems: string[] = [];
  lost(sent, hexed, 'body', problems);
  if (problems.length > 0) throw new Error(problems.join('; '));
  return hexed.resourceSpans.flatMap((rs: { resource: { attributes: { key: string; value: Record<string, unknown> }[] }; scopeSpans: { scope: { name: string; version: string }; spans: ReceivedSpan[] }[] }) =>
    rs.scopeSpans.map((ss) => ({
      resource: plain(rs.resource.attributes),
      scope: ss.scope,
      spans: ss.spans.map((s) => ({ ...s, attrs: plain(s.attributes), startMs: Number(BigInt(s.startTimeUnixNano) / 1000n) / 1000, endMs: Number(BigInt(s.endTimeUnixNano) / 1000n) / 1000 })),
    })),
  );
}

// Listens on loopback; the caller closes it.
export async function startReceiver(): Promise<Receiver> {
  const exports: Export[] = [];
  const rejected: string[] = [];
  const waiters: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !String(req.headers['content-type']).startsWith('application/json')) {
        rejected.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
        res.writeHead(404).end();
      } else {
        try {
          exports.push(...decode(body));
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } catch (error) {
          rejected.push((error as Error).message);
          res.writeHead(400).end();
        }
      }
      for (const wake of waiters.splice(0)) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    exports,
    rejected,
    async waitFor(n, ms = 10_000) {
      const deadline = performance.now() + ms;
      while (exports.length < n) {
        const left = deadline - performance.now();
        if (left <= 0) throw new Error(`timed out after ${ms}ms waiting for ${n} export(s); got ${exports.length}, rejected: ${rejected.join(' | ') || 'none'}`);
        await new Promise<void>((wake) => {
          const t = setTimeout(wake, left);
          waiters.push(() => {
            clearTimeout(t);
            wake();
          });
        });
      }
      return exports;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
