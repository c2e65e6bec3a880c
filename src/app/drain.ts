// Sources of work and how each stops taking it, drains it, and cuts what is left at the
// drain deadline: Node's http/https servers (Express's too), http2, net and tls servers,
// Fastify, ws's WebSocketServer, and the generic hook for anything else (job workers).
// Recognised by their shape, not by instanceof: no module is loaded for it, and a server
// from another copy of Node's modules (a bundler, a test runner) is recognised all the same.
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';

import type { Drainable, FastifyLike, NetServerLike, Servable, ServeOptions, WebSocketServerLike } from './types.js';

export type { Drainable, FastifyLike, NetServerLike, Servable, WebSocketServerLike } from './types.js';

/** One source of work as the lifecycle drives it. */
export interface Source {
  readonly name: string;
  /** Stops taking work; resolves when it no longer accepts any. */
  stop(): Promise<void>;
  /** Resolves when the work in flight is over. Called after stop(). */
  drained(): Promise<void>;
  /** Abandons what is left. */
  cut(): Promise<void>;
  counts(): { inflight: number; completed: number; cut: number; ended: number };
  /** Its cut count is exact: a drain that ran out with nothing cut is clean (a WebSocket server's clients left at the deadline had their close frame). */
  readonly exact?: boolean;
}

// net.Server's close(), which http's close() calls after ending the idle connections.
const netClose = NetServer.prototype.close;

// The close code ws sends when the server goes away (RFC 6455, 7.4.1).
const GOING_AWAY = 1001;
// How long a WebSocket client has to answer the close frame before the server ends its
// socket (RFC 6455, 7.1.1: the server may close the TCP connection once the closing
// handshake is over or has gone unanswered). A live client answers within a round trip,
// a slow mobile network's included; one that vanished (a phone gone out of coverage, a
// laptop closed) never does. ws's own wait is 30 s, longer than most drains.
export const CLOSE_FRAME_TIMEOUT_MS = 5_000;

// Makes a Source of what serve() was given, or says what it should have been.
export function toSource(name: string, target: Servable, options: ServeOptions = {}): Source {
  const t = target as any;
  if (t === null || (typeof t !== 'object' && typeof t !== 'function')) throw new TypeError(usage(name, `got ${t === null ? 'null' : typeof t}`));
  if (typeof t === 'function' && typeof t.listen === 'function' && typeof t.close !== 'function') {
    throw new TypeError(usage(name, 'got an Express-style app: pass the server that app.listen() returns'));
  }
  if (isServer(t.server) && typeof t.close === 'function' && typeof t.addHook === 'function') return fastifySource(name, t);
  if (t.clients instanceof Set && typeof t.handleUpgrade === 'function') return webSocketSource(name, t, options.closeFrameTimeoutMs ?? CLOSE_FRAME_TIMEOUT_MS);
  if (isServer(t)) {
    // http2 first: a secure http2 server has closeIdleConnections() too (for allowHTTP1).
    if (/^Http2(Secure)?Server$/.test(t.constructor?.name ?? '')) return http2Source(name, t);
    if (typeof t.closeIdleConnections === 'function') return httpSource(name, t);
    return netSource(name, t);
  }
  if (typeof t.stop === 'function') return genericSource(name, t);
  if (t.clients === undefined && typeof t.handleUpgrade === 'function') {
    throw new TypeError(usage(name, 'got a WebSocketServer with clientTracking off: turn it on, or pass { stop, drained, cut }'));
  }
  throw new TypeError(usage(name, 'got an object with no stop() method'));
}

function usage(name: string, why: string): string {
  return `serve(${JSON.stringify(name)}): expected an http, https, http2, net or tls server, a Fastify instance, a ws WebSocketServer, or { stop, drained?, cut?, inflight? }; ${why}`;
}

function isServer(x: any): boolean {
  return x !== null && typeof x === 'object' && typeof x.listen === 'function' && typeof x.close === 'function' && typeof x.address === 'function' && typeof x.on === 'function';
}

// How long the listener keeps accepting what the kernel has queued before it closes, when
// connections keep coming (a client hammering without keep-alive, a load balancer that has
// not yet seen readiness fail): then some are reset at the close, whatever is done.
const ACCEPT_QUEUE_MAX_MS = 100;

// Resolves at a moment when the kernel's accept queue is empty, as nearly as Node can tell:
// closing a listening socket resets every connection still in its accept queue (the
// kernel completed the handshake, the client may have sent its request, and nobody will
// ever read it: the client sees ECONNRESET, not ECONNREFUSED). libuv accepts everything
// queued each time the loop polls; this waits for a turn of the loop whose poll accepted
// nothing, and resolves in the check phase right after it, so that the close that follows
// at once leaves the kernel only the microseconds since that poll to queue a connection.
export function acceptQueueDrained(server: NetServerLike, maxMs = ACCEPT_QUEUE_MAX_MS): Promise<void> {
  const { listening } = server as { listening?: boolean };
  if (listening === false) return Promise.resolve();
  return new Promise((resolve) => {
    let accepted = 0;
    const count = () => accepted++;
    server.on('connection', count);
    const until = performance.now() + maxMs;
    const turn = () => {
      if (accepted === 0 || performance.now() > until) {
        (server as { off?: (event: string, listener: () => void) => void }).off?.('connection', count);
        resolve();
        return;
      }
      accepted = 0;
      setImmediate(turn);
    };
    // The first turn counts: what was queued before the stop is accepted in its poll.
    accepted = 1;
    setImmediate(turn);
  });
}

// The listener's close alone (net.Server's: http's ends the idle connections first, see
// httpSource), as a promise that settles when every connection has ended, or at once when
// the server was not listening.
function closeListener(server: NetServerLike): Promise<void> {
  return new Promise((resolve) => {
    try {
      netClose.call(server as NetServer, () => resolve());
    } catch {
      resolve();
    }
  });
}

// server.close(), as a promise that also settles when the server was not listening.
function closeServer(server: NetServerLike): Promise<void> {
  return new Promise((resolve) => {
    try {
      server.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

/**
 * Requests of an HTTP/1 server: counted, and told `Connection: close` once the drain has
 * begun, so that a kept-alive connection ends with its response instead of holding the
 * server open until keepAliveTimeout (Node's server.close() only ends idle connections).
 */
class Requests {
  readonly active = new Set<ServerResponse>();
  draining = false;
  completed = 0;
  inflightAtStop = 0;

  constructor(server: NetServerLike, afterResponse: (socket: Socket) => void, track: (socket: Socket, delta: 1 | -1) => void = () => undefined) {
    // Prepended: the header must be set before the application's handler writes its own.
    (server as HttpServer).prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      if (req.httpVersionMajor >= 2) return; // http2's compatibility API: sessions are closed instead
      const socket = req.socket;
      this.active.add(res);
      track(socket, 1);
      if (this.draining) closeAfter(res);
      res.once('close', () => {
        this.active.delete(res);
        track(socket, -1);
        if (!this.draining) return;
        if (res.writableFinished) this.completed++;
        afterResponse(socket);
      });
    });
  }

  startDrain(): void {
    this.draining = true;
    this.inflightAtStop = this.active.size;
    for (const res of this.active) closeAfter(res);
  }
}

// Asks Node to end the connection after this response, when its headers are not out yet.
function closeAfter(res: ServerResponse): void {
  if (res.headersSent) return;
  try {
    res.setHeader('Connection', 'close');
  } catch {
    // the headers went out meanwhile: the connection is ended once idle instead
  }
}

// How long a connection that was accepted but has not sent a request has, once the drain
// began, before it is ended as idle: its request is normally on its way already (a client
// sends it right after the handshake); one opened ahead of need (a browser's preconnect)
// never sends one and must not hold the drain.
export const FIRST_REQUEST_MS = 1_000;

// http.Server and https.Server (Express's app.listen() returns one). The listener closes
// once the kernel's accept queue is empty (acceptQueueDrained); responses in flight get
// Connection: close, and Node ends their connections after them; a connection kept alive
// after a response is ended as soon as it is idle; one accepted that has not sent its
// request yet has FIRST_REQUEST_MS to send it; at the deadline closeAllConnections() cuts
// the rest. Node's own closeIdleConnections() is not used before then (server.close()
// calls it): it also ends connections whose request has arrived and is not answered yet,
// and the client sees a reset (measured: 1 request in 3 runs of bench/library, issue 25).
function httpSource(name: string, server: HttpServer): Source {
  // Each connection seen: how many requests it carries now, and how many it has carried.
  const connections = new Map<Socket, { active: number; served: number }>();
  const endIfIdle = (socket: Socket) => {
    const c = connections.get(socket);
    // writableEnded: Node is already ending it (a response with Connection: close).
    if (c && c.active === 0 && c.served > 0 && !socket.writableEnded) socket.destroy();
  };
  server.on('connection', (socket: Socket) => {
    connections.set(socket, { active: 0, served: 0 });
    socket.once('close', () => connections.delete(socket));
  });
  const requests = new Requests(server, endIfIdle, (socket, delta) => {
    let c = connections.get(socket);
    // Accepted before serve() was called: known from its first request on.
    if (!c && !socket.destroyed) connections.set(socket, (c = { active: 0, served: 0 }));
    if (!c) return;
    c.active += delta;
    if (delta < 0) c.served++;
  });
  let closed: Promise<void> = Promise.resolve();
  let cut = 0;
  let fallback: ReturnType<typeof setTimeout> | undefined;
  return {
    name,
    async stop() {
      requests.startDrain();
      await acceptQueueDrained(server);
      closed = closeListener(server).then(() => clearTimeout(fallback));
      for (const socket of connections.keys()) endIfIdle(socket);
      // Then whatever is still idle: connections that never sent a request.
      fallback = setTimeout(() => server.closeIdleConnections(), FIRST_REQUEST_MS);
      fallback.unref();
    },
    drained: () => closed,
    async cut() {
      clearTimeout(fallback);
      cut = requests.active.size;
      server.closeAllConnections();
    },
    counts: () => ({ inflight: requests.inflightAtStop, completed: requests.completed, cut, ended: 0 }),
  };
}

// Fastify: fastify.close() stops listening, answers 503 to requests that come on kept-alive
// connections meanwhile, waits for those in flight and runs the onClose hooks of its
// plugins. Its server's idle connections are ended as for a Node server, so that a
// connection kept alive after its response does not hold close() for keepAliveTimeout.
function fastifySource(name: string, app: FastifyLike): Source {
  const server = app.server as HttpServer;
  const endIdle = () => server.closeIdleConnections?.();
  const requests = new Requests(server, endIdle);
  let closed: Promise<void> = Promise.resolve();
  let [cut, done] = [0, false];
  return {
    name,
    async stop() {
      requests.startDrain();
      await acceptQueueDrained(server);
      closed = Promise.resolve(app.close()).then(() => undefined);
      endIdle();
      // close() stops listening after its preClose hooks, and says nothing when: wait for
      // the listener to be gone, for close() itself, or for the cut.
      void closed.then(() => (done = true), () => (done = true));
      while (server.listening && !done) await new Promise((r) => setTimeout(r, 1));
    },
    drained: () => closed,
    async cut() {
      done = true;
      cut = requests.active.size;
      server.closeAllConnections?.();
    },
    counts: () => ({ inflight: requests.inflightAtStop, completed: requests.completed, cut, ended: 0 }),
  };
}

// http2 servers: each session is closed (GOAWAY: no new streams, those open finish), the
// listener too; at the deadline the sessions are destroyed. The HTTP/1 connections of a
// secure server with allowHTTP1 are handled as an HTTP/1 server's are: Connection: close
// on the responses in flight, and closeIdleConnections() (a secure http2 server has it).
function http2Source(name: string, server: NetServerLike): Source {
  const sessions = new Set<{ close(): void; destroy(): void; closed: boolean }>();
  const sockets = new Set<Socket>();
  const streams = new Set<unknown>();
  let [draining, inflightAtStop, completed, cut] = [false, 0, 0, 0];
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    if (draining) session.close();
  });
  server.on('stream', (stream) => {
    streams.add(stream);
    stream.once('close', () => {
      streams.delete(stream);
      if (draining && stream.rstCode === 0) completed++;
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const endIdle = () => (server as Partial<HttpServer>).closeIdleConnections?.();
  const http1 = new Requests(server, endIdle);
  let closed: Promise<void> = Promise.resolve();
  return {
    name,
    async stop() {
      draining = true;
      http1.startDrain();
      await acceptQueueDrained(server);
      inflightAtStop = streams.size + http1.inflightAtStop;
      closed = closeServer(server);
      for (const session of sessions) session.close();
      endIdle();
    },
    drained: () => closed,
    async cut() {
      cut = streams.size + http1.active.size;
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
    },
    counts: () => ({ inflight: inflightAtStop, completed: completed + http1.completed, cut, ended: 0 }),
  };
}

// net and tls servers: the listener is closed; a connection is work in flight until it
// ends (the protocol is the program's, so idleness cannot be told); at the deadline the
// connections left are destroyed.
function netSource(name: string, server: NetServerLike): Source {
  const sockets = new Set<Socket>();
  let [inflightAtStop, cut] = [0, 0];
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  let closed: Promise<void> = Promise.resolve();
  return {
    name,
    async stop() {
      await acceptQueueDrained(server);
      inflightAtStop = sockets.size;
      closed = closeServer(server);
    },
    drained: () => closed,
    async cut() {
      cut = sockets.size;
      for (const socket of sockets) socket.destroy();
    },
    // No connection comes after the stop, and each one then either ended or was cut. (A
    // socket's 'close' comes a turn after the server's: it cannot be counted there.)
    counts: () => ({ inflight: inflightAtStop, completed: inflightAtStop - cut, cut, ended: 0 }),
  };
}

// ws's WebSocketServer: it stops taking upgrades, every client is sent a close frame (1001,
// going away) and the drain waits for the closing handshakes. A client that has not
// answered within `answerMs` (or by the drain deadline, if that comes first) has its
// socket ended: it was told to go, nothing of its work is lost, and it counts as `ended`,
// not as cut (issue 25: one vanished phone turned a clean deploy into a failure). The HTTP
// server it is attached to is served separately.
function webSocketSource(name: string, wss: WebSocketServerLike, answerMs: number): Source {
  let [inflightAtStop, completed, ended, ending] = [0, 0, 0, false];
  let drained: Promise<void> = Promise.resolve();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const endAll = () => {
    ending = true;
    for (const client of wss.clients) client.terminate();
  };
  return {
    name,
    exact: true,
    async stop() {
      const clients = [...wss.clients];
      inflightAtStop = clients.length;
      drained = Promise.all(
        clients.map((c) => new Promise<void>((resolve) => c.once('close', () => {
          if (ending) ended++;
          else completed++;
          resolve();
        }))),
      ).then(() => clearTimeout(timer));
      // ws 8: close() stops accepting and leaves the clients to the caller.
      wss.close();
      for (const client of clients) client.close(GOING_AWAY, 'server shutting down');
      if (clients.length > 0) timer = setTimeout(endAll, Math.max(0, answerMs));
    },
    drained: () => drained,
    async cut() {
      clearTimeout(timer);
      endAll();
    },
    counts: () => ({ inflight: inflightAtStop, completed, cut: 0, ended }),
  };
}

// The generic hook. Counts come from inflight(), when given.
function genericSource(name: string, work: Drainable): Source {
  let stopping: Promise<void> = Promise.resolve();
  let [inflightAtStop, cut] = [0, 0];
  const now = () => {
    try {
      return work.inflight ? work.inflight() : 0;
    } catch {
      return 0; // a count is for the report: it must not stop the shutdown
    }
  };
  return {
    name,
    async stop() {
      inflightAtStop = now();
      stopping = Promise.resolve(work.stop()).then(() => undefined);
      await stopping;
    },
    async drained() {
      await stopping;
      if (work.drained) await work.drained();
    },
    async cut() {
      cut = now();
      await work.cut?.();
    },
    counts: () => ({ inflight: inflightAtStop, completed: Math.max(0, inflightAtStop - cut), cut, ended: 0 }),
  };
}
