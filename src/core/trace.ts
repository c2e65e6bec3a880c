// PURE: what graceful check's preload (src/commands/check/preload.ts) recorded inside a Node
// program, parsed into its shutdown: listeners, requests served, outbound connections and
// who closed each one, files open at exit. Times are on the system's monotonic clock, the
// one graceful's own facts use, so both can be compared.

/** An outbound connection the program opened, and how it ended. */
export interface Connection {
  id: number;
  /** host:port as the program asked for it, or a Unix socket's path. */
  peer: string | null;
  /** The package that opened it (pg, @redis/client), from the call stack. */
  via: string | null;
  /** The address it connected to (an IP and port), when it did. */
  address: string | null;
  /** Its own address (an IP and port), when it connected: what the audit knows it by. */
  local: string | null;
  /** An HTTP client's connection: fetch()'s (undici's pool) or an http.Agent's; else null. */
  http: 'fetch' | 'agent' | null;
  openedAt: number;
  /** When the program called end() or destroy() on it; null if it never did. */
  releasedAt: number | null;
  /** How: end, destroy, or goodbye (its protocol's last message written: Postgres Terminate, Redis QUIT). */
  releasedHow: string | null;
  /** When the peer closed it, if it did before the program released it. */
  peerClosedAt: number | null;
  /** Still open when the program exited (or died): the kernel closed it. */
  leftToKernel: boolean;
}

export interface ProcessTrace {
  pid: number;
  argv: string[];
  listeners: { id: number; addr: string | null; openedAt: number; closedAt: number | null }[];
  requests: { id: number; startedAt: number; endedAt: number | null; status: number | null }[];
  connections: Connection[];
  signals: { name: string; at: number }[];
  /** The exit the program went through (an exit call, or an empty event loop); null if it died of a signal. */
  exit: { at: number; code: number; files: { fd: number; path: string }[] } | null;
}

// Parses one process's trace file (JSON lines; a torn last line is skipped).
export function parseTrace(text: string): ProcessTrace | null {
  let trace: ProcessTrace | null = null;
  const conns = new Map<number, Connection>();
  const listeners = new Map<number, ProcessTrace['listeners'][number]>();
  const requests = new Map<number, ProcessTrace['requests'][number]>();
  for (const line of text.split('\n')) {
    let r: any;
    try {
      r = JSON.parse(line);
    } catch {
      continue;
    }
    if (r.e === 'start') {
      trace = { pid: r.pid, argv: r.argv ?? [], listeners: [], requests: [], connections: [], signals: [], exit: null };
      continue;
    }
    if (!trace) continue;
    switch (r.e) {
      case 'connect':
        conns.set(r.id, {
          id: r.id,
          peer: r.peer ?? null,
          via: r.via ?? null,
          address: null,
          local: null,
          http: r.http === 'fetch' || r.http === 'agent' ? r.http : null,
          openedAt: r.t,
          releasedAt: null,
          releasedHow: null,
          peerClosedAt: null,
          leftToKernel: false,
        });
        break;
      case 'connected': {
        const c = conns.get(r.id);
        if (c) Object.assign(c, { address: r.peer ?? null, local: r.local ?? null });
        break;
      }
      case 'release': {
        const c = conns.get(r.id);
        if (c && c.releasedAt === null) Object.assign(c, { releasedAt: r.t, releasedHow: r.how ?? null });
        break;
      }
      case 'closed': {
        const c = conns.get(r.id);
        if (c && c.releasedAt === null) c.peerClosedAt = r.t;
        break;
      }
      case 'listen':
        listeners.set(r.id, { id: r.id, addr: r.addr ?? null, openedAt: r.t, closedAt: null });
        break;
      case 'unlisten': {
        const l = listeners.get(r.id);
        if (l && l.closedAt === null) l.closedAt = r.t;
        break;
      }
      case 'req':
        requests.set(r.id, { id: r.id, startedAt: r.t, endedAt: null, status: null });
        break;
      case 'res': {
        const q = requests.get(r.id);
        if (q && q.endedAt === null) Object.assign(q, { endedAt: r.t, status: r.status ?? null });
        break;
      }
      case 'signal':
        trace.signals.push({ name: r.name, at: r.t });
        break;
      case 'exit':
        trace.exit = { at: r.t, code: r.code, files: r.files ?? [] };
        for (const id of r.open ?? []) {
          const c = conns.get(id);
          if (c) c.leftToKernel = true;
        }
        break;
    }
  }
  if (!trace) return null;
  // Died of a signal: no exit record; what was neither released nor closed by its peer was
  // closed by the kernel.
  if (!trace.exit) for (const c of conns.values()) if (c.releasedAt === null && c.peerClosedAt === null) c.leftToKernel = true;
  trace.connections = [...conns.values()];
  trace.listeners = [...listeners.values()];
  trace.requests = [...requests.values()];
  return trace;
}

// Well-known services, by port and by Unix socket name, for naming a connection.
const SERVICES_BY_PORT: Record<number, string> = {
  5432: 'postgres',
  6379: 'redis',
  3306: 'mysql',
  27017: 'mongodb',
  5672: 'amqp',
  9092: 'kafka',
  11211: 'memcached',
};
const SERVICES_BY_PATH: [RegExp, string][] = [
  [/\.s\.PGSQL\.\d+$/, 'postgres'],
  [/redis[^/]*\.sock$/, 'redis'],
  [/mysqld?\.sock$/, 'mysql'],
  [/mongodb-\d+\.sock$/, 'mongodb'],
  [/memcached[^/]*\.sock$/, 'memcached'],
];

// Client packages, by the service they speak to.
const SERVICES_BY_PACKAGE: Record<string, string> = {
  pg: 'postgres',
  postgres: 'postgres',
  'pg-native': 'postgres',
  redis: 'redis',
  '@redis/client': 'redis',
  ioredis: 'redis',
  mysql: 'mysql',
  mysql2: 'mysql',
  mongodb: 'mongodb',
  amqplib: 'amqp',
  kafkajs: 'kafka',
  memjs: 'memcached',
  memcached: 'memcached',
};

// A peer address as people know it: "postgres 127.0.0.1:5432" by its well-known port or
// socket name, or by `service` (what listens there, when graceful could see it); else the
// bare address.
export function describePeer(peer: string, service?: string | null): string {
  const port = Number(/:(\d+)$/.exec(peer)?.[1]);
  const name = service ?? SERVICES_BY_PORT[port] ?? SERVICES_BY_PATH.find(([re]) => re.test(peer))?.[1];
  return name ? `${name} ${peer}` : peer;
}

// "redis 127.0.0.1:6379", "postgres /run/postgresql/.s.PGSQL.5432", or the bare address.
export function describeConnection(c: Connection): string {
  const where = c.address ?? c.peer ?? '?';
  const port = Number(/:(\d+)$/.exec(c.peer ?? c.address ?? '')?.[1]);
  const service =
    SERVICES_BY_PACKAGE[c.via ?? ''] ?? SERVICES_BY_PORT[port] ?? SERVICES_BY_PATH.find(([re]) => re.test(c.peer ?? ''))?.[1];
  return service ? `${service} ${where}` : where;
}

/** When each step of the shutdown happened, from the trace, relative to nothing (absolute times). */
export interface ShutdownOrder {
  /** Was a listener open at `from`? (A worker that never listened has no listener to close first.) */
  listening: boolean;
  /** The first listener closed at or after `from` (null: none was, before exit). */
  listenerClosedAt: number | null;
  /** Requests in flight at `from`, and when the last of them ended (null: one never did). */
  inflight: number;
  inflightDoneAt: number | null;
  /** Connections open at `from`, in the order they were opened, with when they were let go. */
  dependencies: { connection: Connection; releasedAt: number | null }[];
}

// The order of the shutdown that began at `from` (the stop signal's time).
export function shutdownOrder(trace: ProcessTrace, from: number): ShutdownOrder {
  const end = (c: Connection) => c.releasedAt ?? c.peerClosedAt;
  const closes = trace.listeners.map((l) => l.closedAt).filter((t): t is number => t !== null && t >= from);
  const inflight = trace.requests.filter((q) => q.startedAt < from && (q.endedAt === null || q.endedAt >= from));
  const ends = inflight.map((q) => q.endedAt);
  return {
    listening: trace.listeners.some((l) => l.openedAt < from && (l.closedAt === null || l.closedAt >= from)),
    listenerClosedAt: closes.length > 0 ? Math.min(...closes) : null,
    inflight: inflight.length,
    inflightDoneAt: ends.length === 0 ? null : ends.includes(null) ? null : Math.max(...(ends as number[])),
    dependencies: trace.connections
      .filter((c) => c.openedAt < from && (end(c) === null || end(c)! >= from))
      .sort((a, b) => a.openedAt - b.openedAt)
      .map((connection) => ({ connection, releasedAt: end(connection) })),
  };
}
