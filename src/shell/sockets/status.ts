// graceful's end of the status channel (docs/app-protocol.md): a Unix stream socket in
// graceful's private runtime directory (rundir.ts), named to the child in
// GRACEFUL_STATUS_SOCKET, where a program using
// graceful-supervisor/app reports each phase of its life, one JSON line each, and where graceful tells
// it its deadline just before the stop signal. A program that does not use the library never
// connects, and costs graceful one listening socket, made through the FFI when the reaper has
// loaded it: a net.Server is only made for the first connection (sigio.ts says when), since
// one made at every start costs memory and loads Node's cluster module (bench/analysis.md,
// "Sockets"). The socket wakes graceful only when someone connects.
import type { Server, Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeDeadline, parsePhase, PLATFORM_VAR, STATUS_SOCKET_VAR, STOP_DELAY_VAR, STOP_TIMEOUT_VAR, type Phase } from '../../app/protocol.js';
import { loadedLibc } from '../process/ffi.js';
import { ownSocketPath, removeSocketFile } from './rundir.js';
import { onInput, removeSocket } from './sigio.js';

// A line longer than this is dropped (the protocol allows readers to).
const MAX_LINE = 64 * 1024;
// Connections waiting to be accepted: more programs than a supervised tree runs.
const BACKLOG = 64;

export interface StatusChannel {
  /** The variables for the child's environment. */
  readonly env: Record<string, string>;
  /** Writes the deadline message to every program connected ("my kill comes in `ms`"). */
  tellDeadline(ms: number): void;
  close(): void;
}

/** Where the program runs, for the library's default delay (docs/app-protocol.md). */
export interface StatusContext {
  /** `terminal`, the platform graceful recognised, or `unknown`. */
  platform: string;
  /** graceful's --stop-delay: it keeps the program serving before the signal itself. */
  stopDelayMs: number;
}

// Opens the channel; `phase` gets each line with the pid its connection said hello with.
// Null (graceful does without) when no private directory can be made.
export function openStatus(timeoutMs: number | null, phase: (pid: number | null, p: Phase) => void, context?: StatusContext): StatusChannel | null {
  // The runtime directory; where it cannot be trusted (another user made it), a private
  // directory of this run's own.
  let dir: string | null = null;
  let path = ownSocketPath('status');
  if (path === null) {
    try {
      dir = mkdtempSync(join(tmpdir(), 'graceful-status-'));
    } catch {
      return null;
    }
    path = join(dir, 'status');
  }
  const where = path;
  const remove = () => (dir === null ? removeSocketFile(where) : removeSocket(where, dir));
  const peers = new Set<Socket>();
  // The server for the socket, with what it does with each connection.
  const serve = (): Server => {
    const { createServer } = process.getBuiltinModule('node:net');
    const server: Server = createServer((socket) => {
      peers.add(socket);
      let pid: number | null = null;
      let partial = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop()!;
        if (partial.length > MAX_LINE) partial = '';
        for (const line of lines) {
          const p = line.length <= MAX_LINE ? parsePhase(line) : null;
          if (!p) continue;
          if (p.phase === 'hello') pid = p.pid;
          phase(pid, p);
        }
      });
      // The end of a connection is not the program's end: its exit status says that.
      socket.on('error', () => {});
      socket.on('close', () => peers.delete(socket));
    });
    server.on('error', () => {});
    return server;
  };
  // The socket itself, listening; the server for it at the first connection.
  let server: Server | null = null;
  const lib = loadedLibc();
  const fd = lib ? lib.listenStream(path, BACKLOG) : -1;
  let unwatch: (() => void) | null = null;
  if (fd >= 0) {
    unwatch = onInput(fd, () => {
      unwatch?.();
      unwatch = null;
      // libuv watches it from now on: no more signals.
      lib!.signalOnInput(fd, false);
      server = serve();
      server.listen({ fd });
    });
    if (!unwatch) {
      lib!.close(fd);
      rmSync(where, { force: true });
    }
  }
  if (!unwatch) {
    server = serve();
    server.listen(where);
  }
  const env: Record<string, string> = { [STATUS_SOCKET_VAR]: path };
  if (timeoutMs !== null) env[STOP_TIMEOUT_VAR] = String(timeoutMs);
  if (context) env[PLATFORM_VAR] = context.platform;
  if (context && context.stopDelayMs > 0) env[STOP_DELAY_VAR] = String(context.stopDelayMs);
  return {
    env,
    tellDeadline(ms) {
      const message = encodeDeadline(ms);
      for (const socket of peers) if (!socket.destroyed) socket.write(message);
    },
    close() {
      for (const socket of peers) socket.destroy();
      if (server) server.close();
      else {
        unwatch?.();
        lib!.close(fd);
      }
      remove();
    },
  };
}
