// --listen, --listen-pid, --reload-signal: parsing only (pure); the sockets themselves are
// made in shell/sockets/listen.ts, the reloads run in commands/run/generations.ts.
import { quote, UsageError } from './errors.js';
import { parsePort, type ReadySpec } from './readiness.js';
import { TRAPPED } from './signals.js';
import type { SignalName } from '../core/types.js';

/** A socket graceful binds, listens on and holds for every generation of the program. */
export type ListenSpec =
  /** A TCP socket on an IP address (an empty host: every IPv4 address). */
  | { name: string; kind: 'tcp'; host: string; family: 4 | 6; port: number }
  /** A Unix stream socket at a path. */
  | { name: string; kind: 'unix'; path: string };

/** The reload machinery of graceful run: on with --listen, --control, an explicit --reload-signal, or sockets from systemd. */
export interface ReloadOptions {
  listen: ListenSpec[];
  /** Set LISTEN_PID to the program's pid (through `sh -c 'exec'`, which keeps the pid), or leave it out. */
  listenPid: boolean;
  /** --control: the control socket's path; null: the default path for graceful's pid (shell/control.ts). */
  control: string | null;
  /** The signal that asks for a reload; null: none (every signal is passed on as before). */
  signal: SignalName | null;
  /** Sockets graceful itself was given by systemd (LISTEN_FDS for graceful's pid), passed on first. */
  inherited: { count: number; names: string[] } | null;
  /** The --ready text when it holds {generation}: each generation gets its own probe address. */
  readyTemplate: string | null;
  /** --instances: how many copies of the program share the sockets; 'max': the CPUs graceful may use (shell/process/cpus.ts). */
  instances: number | 'max';
}

// Parses --instances: a count from 1 to MAX_INSTANCES, or max.
export function parseInstances(input: string, what: string): number | 'max' {
  const raw = input.trim().toLowerCase();
  if (raw === 'max') return 'max';
  if (/^[1-9]\d{0,3}$/.test(raw) && Number(raw) <= MAX_INSTANCES) return Number(raw);
  throw new UsageError(what, `expected a number of instances from 1 to ${MAX_INSTANCES}, or max (one per CPU graceful may use), got ${quote(input)}`);
}

// More copies than this is a typo, not a deployment (each one is a whole program).
export const MAX_INSTANCES = 1024;

// Names as systemd allows them in LISTEN_FDNAMES (FileDescriptorName=): printable ASCII
// without ':' (the separator) or spaces, up to 255 characters.
const NAME = /^[\x21-\x39\x3b-\x7e]{1,255}$/;

// What sd_listen_fds_with_names() reports for a socket without a name.
export const UNNAMED = 'unknown';

const FORMS = 'tcp://HOST:PORT, tcp://[IPV6]:PORT or unix:/PATH, with an optional name= before it';

// Parses one --listen value: [name=]tcp://HOST:PORT or [name=]unix:/PATH.
export function parseListen(input: string, what: string): ListenSpec {
  const fail = (why: string): never => {
    throw new UsageError(what, `${why}; expected ${FORMS}, got ${quote(input)}`);
  };
  let text = input.trim();
  let name = UNNAMED;
  const eq = text.indexOf('=');
  if (eq !== -1 && !text.slice(0, eq).includes(':') && !text.slice(0, eq).includes('/')) {
    name = text.slice(0, eq);
    text = text.slice(eq + 1);
    if (!NAME.test(name)) fail('a name is printable ASCII without ":" or spaces');
  }
  if (text.startsWith('unix:')) {
    const path = text.slice(5);
    if (!path.startsWith('/')) fail('a Unix socket takes an absolute path');
    // sockaddr_un holds 108 bytes with the terminating NUL.
    if (Buffer.byteLength(path) > 107) fail('a Unix socket path is at most 107 bytes');
    return { name, kind: 'unix', path };
  }
  const m = /^tcp:\/\/(?:\[([0-9a-fA-F:.]+)\]|([^:/[\]]*)):(\d+)\/?$/.exec(text);
  if (!m) return fail(text.startsWith('tcp://') ? 'not a HOST:PORT' : 'unknown kind');
  const port = m[3] === '0' ? 0 : parsePort(m[3]!, what);
  if (m[1] !== undefined) {
    if (ipv6Bytes(m[1]) === null) fail('not an IPv6 address');
    return { name, kind: 'tcp', host: m[1], family: 6, port };
  }
  const host = m[2] === '' ? '0.0.0.0' : m[2] === 'localhost' ? '127.0.0.1' : m[2]!;
  // IP addresses only: resolving a name would make start-up wait on DNS, and a name with
  // several addresses has no one socket to hold.
  if (ipv4Bytes(host) === null) fail('the host is an IP address (or localhost), not a name');
  return { name, kind: 'tcp', host, family: 4, port };
}

// The address as the user would write it (with the port graceful got, for port 0).
export function describeListen(spec: ListenSpec, port?: number): string {
  if (spec.kind === 'unix') return `unix:${spec.path}`;
  const host = spec.family === 6 ? `[${spec.host}]` : spec.host;
  return `tcp://${host}:${port ?? spec.port}`;
}

// The 4 bytes of a dotted IPv4 address, or null.
export function ipv4Bytes(host: string): number[] | null {
  const parts = host.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.map(Number);
}

// The 16 bytes of an IPv6 address (with ::, and a dotted IPv4 tail), or null.
export function ipv6Bytes(host: string): number[] | null {
  let text = host;
  const tail: number[] = [];
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = ipv4Bytes(dotted[2]!);
    if (!v4) return null;
    tail.push(v4[0]! * 256 + v4[1]!, v4[2]! * 256 + v4[3]!);
    text = dotted[1]!.endsWith('::') ? dotted[1]! : dotted[1]!.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (![...head, ...rest].every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  const given = head.length + rest.length + tail.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return null;
  const words = [...head.map((g) => parseInt(g, 16)), ...Array<number>(8 - given).fill(0), ...rest.map((g) => parseInt(g, 16)), ...tail];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

// Signals that may ask for a reload: those graceful passes on (a stop signal or a
// job-control one already means something else; SIGCONT resumes).
const RELOAD_SIGNALS = TRAPPED.filter((s) => s.disposition === 'forward' && s.name !== 'SIGCONT').map((s) => s.name);

// Parses --reload-signal: one of RELOAD_SIGNALS, or none.
export function parseReloadSignal(input: string, what: string): SignalName | null {
  const raw = input.trim().toUpperCase();
  if (raw === 'NONE') return null;
  const name = raw.startsWith('SIG') ? raw : `SIG${raw}`;
  const found = RELOAD_SIGNALS.find((s) => s === name);
  if (found) return found;
  throw new UsageError(what, `expected none or one of ${RELOAD_SIGNALS.join(', ')} (signals graceful passes on), got ${quote(input)}`);
}

/**
 * A --ready tcp or http probe on a held socket's port would be answered by whichever
 * generation accepts the connection, the old one too: it cannot tell that the NEW one is
 * ready. Returns the socket it would reach, or null. (A value with {generation} in it is
 * the user's way to reach the new one: a per-generation port, or a path the app answers
 * with 2xx only when the number is its own.)
 */
export function probesSharedSocket(readyText: string, ready: ReadySpec | null, listen: readonly ListenSpec[]): ListenSpec | null {
  if (!ready || (ready.kind !== 'tcp' && ready.kind !== 'http') || readyText.includes(GENERATION)) return null;
  const port = ready.kind === 'tcp' ? ready.port : Number(ready.url.port || (ready.url.protocol === 'https:' ? 443 : 80));
  return listen.find((l) => l.kind === 'tcp' && l.port === port) ?? null;
}

/** The placeholder of --ready for the generation's number (GRACEFUL_GENERATION). */
export const GENERATION = '{generation}';

// The --ready text for generation n.
export function readyFor(text: string, n: number): string {
  return text.replaceAll(GENERATION, String(n));
}

// Systemd's socket activation: the sockets graceful itself was given, if LISTEN_PID names it.
export function inheritedSockets(env: NodeJS.ProcessEnv, pid: number): ReloadOptions['inherited'] {
  const count = Number(env.LISTEN_FDS);
  if (env.LISTEN_PID !== String(pid) || !Number.isInteger(count) || count < 1) return null;
  const given = (env.LISTEN_FDNAMES ?? '').split(':');
  return { count, names: Array.from({ length: count }, (_, i) => (given[i] && NAME.test(given[i]!) ? given[i]! : UNNAMED)) };
}
