// --ready: how graceful knows that the child is ready to work. Parsing only (pure); the
// probes themselves are in shell/ready.ts.
import { quote, UsageError } from './errors.js';

export type ReadySpec =
  /** A TCP connection to host:port is accepted. */
  | { kind: 'tcp'; host: string; port: number }
  /** GET url answers 2xx. */
  | { kind: 'http'; url: URL }
  /** A line of the child's output (stdout or stderr) matches. */
  | { kind: 'log'; pattern: RegExp }
  /** The child calls process.send('ready') (PM2's wait_ready). */
  | { kind: 'ipc' }
  /** The child sends READY=1 to $NOTIFY_SOCKET (systemd's sd_notify). */
  | { kind: 'notify' }
  /** A program using graceful-supervisor/app calls life.ready() (its ready phase on the status channel). */
  | { kind: 'app' }
  /** A command (sh -c) exits 0: pg_isready, redis-cli ping, a health script. */
  | { kind: 'exec'; command: string };

const FORMS = 'tcp:PORT, tcp:HOST:PORT, http://HOST:PORT/PATH, log:REGEX, exec:COMMAND, ipc, notify or app';

// Parses a --ready value.
export function parseReady(input: string, what: string): ReadySpec {
  const text = input.trim();
  const fail = (why: string): never => {
    throw new UsageError(what, `${why}; expected ${FORMS}, got ${quote(input)}`);
  };
  if (text === 'ipc') return { kind: 'ipc' };
  if (text === 'notify') return { kind: 'notify' };
  if (text === 'app') return { kind: 'app' };
  if (text.startsWith('log:')) {
    const source = text.slice(4);
    if (source === '') fail('an empty pattern matches anything');
    try {
      return { kind: 'log', pattern: new RegExp(source) };
    } catch (error) {
      return fail(`not a regular expression (${(error as Error).message})`);
    }
  }
  if (text.startsWith('exec:')) {
    const command = text.slice(5).trim();
    if (command === '') fail('an empty command');
    return { kind: 'exec', command };
  }
  if (text.startsWith('tcp:')) {
    const rest = text.slice(4);
    const m = /^(?:\[([^\]]+)\]:|([^:]+):)?(\d+)$/.exec(rest);
    if (!m) return fail('not a port');
    return { kind: 'tcp', host: m[1] ?? m[2] ?? '127.0.0.1', port: parsePort(m[3]!, what) };
  }
  if (/^https?:\/\//.test(text)) {
    try {
      return { kind: 'http', url: new URL(text) };
    } catch {
      return fail('not a URL');
    }
  }
  return fail('unknown kind');
}

// Parses a TCP port, 1 to 65535.
export function parsePort(input: string, what: string): number {
  const port = /^\d+$/.test(input.trim()) ? Number(input) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new UsageError(what, `expected a port from 1 to 65535, got ${quote(input)}`);
  return port;
}

// The spec as the user would write it, for reports.
export function describeReady(spec: ReadySpec): string {
  switch (spec.kind) {
    case 'tcp':
      return `tcp:${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${spec.port}`;
    case 'http':
      return withoutCredentials(spec.url);
    case 'log':
      return `log:${spec.pattern.source}`;
    case 'exec':
      return `exec:${spec.command}`;
    case 'ipc':
    case 'notify':
    case 'app':
      return spec.kind;
  }
}

// A URL as reports and log lines show it: never with a user name or password in it.
export function withoutCredentials(url: URL): string {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}
