// The control socket: how `graceful reload` reaches a running graceful and hears what its
// reload did (a signal cannot carry an answer back), and how `graceful ctl` steers a running
// `graceful up`. A Unix stream socket, mode 0600 in a directory only its user can enter; one
// line in (a request: its words, "reload", "restart api"), JSON lines out, the last one the
// outcome. Its default path is per user and per pid (<pid>.sock for run, <pid>.up.sock for
// up), so that the clients find the graceful systemd names in $MAINPID, or the only one running.
import { readdirSync, unlinkSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { join } from 'node:path';
import { removeSocketFile, runtimeDir } from './rundir.js';

// A request line longer than this is not graceful reload talking.
const MAX_REQUEST = 1024;

// The control socket of the graceful with pid `pid`, when it was given no --control.
export function defaultControlPath(pid: number, env: NodeJS.ProcessEnv = process.env): string {
  return join(runtimeDir(env), `${pid}.sock`);
}

/** A client waiting for an answer. */
export interface ControlClient {
  /** Sends one JSON line. */
  send(message: object): void;
  /** Sends the last JSON line and closes. */
  end(message: object): void;
}

export interface ControlServer {
  readonly path: string;
  close(): void;
}

// The control socket of the graceful up with pid `pid`, when it was given no --control.
export function defaultUpControlPath(pid: number, env: NodeJS.ProcessEnv = process.env): string {
  return join(runtimeDir(env), `${pid}.up.sock`);
}

/** What a control socket answers: each request's first word to its handler, with the other words. */
export type ControlHandlers = Record<string, (client: ControlClient, args: string[]) => void>;

// Listens at `path` (made 0600); calls the handler of each request's first word. Resolves
// with the server, or the reason it could not listen.
export async function serveControl(path: string, handlers: ControlHandlers, options: { keepAlive?: boolean } = {}): Promise<ControlServer | string> {
  const { createServer, connect } = process.getBuiltinModule('node:net');
  const onConnection = (socket: Socket) => {
    let line = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      line += chunk;
      const nl = line.indexOf('\n');
      if (nl === -1 && line.length < MAX_REQUEST) return;
      socket.removeAllListeners('data');
      const request = line.slice(0, nl === -1 ? MAX_REQUEST : nl).trim();
      const client: ControlClient = {
        send: (m) => void (socket.writable && socket.write(`${JSON.stringify(m)}\n`)),
        end: (m) => void (socket.writable && socket.end(`${JSON.stringify(m)}\n`)),
      };
      const [verb = '', ...args] = request.split(/\s+/);
      const handler = Object.hasOwn(handlers, verb) ? handlers[verb] : undefined;
      if (handler) handler(client, args);
      else client.end({ error: `unknown request ${JSON.stringify(request.slice(0, 40))}; this graceful understands ${Object.keys(handlers).map((k) => `"${k}"`).join(', ')}` });
    });
  };
  const listen = (): Promise<Server | NodeJS.ErrnoException> =>
    new Promise((resolve) => {
      const server = createServer(onConnection);
      server.once('error', (error: NodeJS.ErrnoException) => resolve(error));
      // The socket file is made by bind() inside listen(), with the umask: 0600 from birth,
      // no moment when another user could connect.
      const umask = process.umask(0o177);
      try {
        server.listen(path, () => resolve(server));
      } finally {
        process.umask(umask);
      }
    });
  let server = await listen();
  if (!('close' in server) && server.code === 'EADDRINUSE') {
    // A socket left by a graceful that was killed (nobody answers): replaced. A live one is
    // another graceful's.
    const live = await new Promise<boolean>((resolve) => {
      const probe = connect(path);
      probe.once('connect', () => (probe.destroy(), resolve(true)));
      probe.once('error', () => resolve(false));
    });
    if (live) return `another graceful listens at ${path}; give this one its own --control path`;
    try {
      unlinkSync(path);
    } catch {
      // gone meanwhile
    }
    server = await listen();
  }
  if (!('close' in server)) return `cannot listen at ${path} (${server.code ?? server.message})`;
  const listening = server;
  // The socket must not keep graceful alive once its program is gone; graceful up's keeps it
  // alive while every process is stopped by graceful ctl (the stack is up, waiting for start).
  if (!options.keepAlive) listening.unref();
  return {
    path,
    close() {
      listening.close();
      removeSocketFile(path);
    },
  };
}

// The default control sockets in `dir` whose graceful is still running: their pids (of
// graceful run with reloads on; with `kind` 'up', of graceful up).
export function runningGracefuls(dir: string, kind: 'run' | 'up' = 'run'): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((name) => (kind === 'up' ? /^(\d+)\.up\.sock$/ : /^(\d+)\.sock$/).exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'EPERM';
      }
    })
    .sort((a, b) => a - b);
}
