// The --ready probes: each calls `ready` once when the child is ready, and stops when
// aborted (a stop began, the child exited). tcp and http poll; log watches the child's
// output as it passes through to graceful's own stdout and stderr; ipc waits for
// process.send('ready'); notify listens on a private NOTIFY_SOCKET (shell/notify.ts).
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { ReadySpec } from '../../config/readiness.js';

// How often an exec probe runs again: a process per try (pg_isready takes ~10 ms), so
// less often than a connect; "ready in X ms" stays within a tenth of a second of the truth.
const EXEC_RETRY_MS = 100;
// A probe command that hangs (a DNS lookup, a server that accepts and never answers) is
// killed after this long and counts as "not ready yet".
const EXEC_TIMEOUT_MS = 5000;

// How often tcp and http are tried again: a server that is not listening refuses at once,
// so 25 ms between tries keeps "ready in X ms" within 25 ms of the truth at little cost.
const RETRY_MS = 25;
// A log line longer than this is matched on its first 64 KiB (a child printing a megabyte
// without a newline must not make graceful buffer it).
const MAX_LINE = 64 * 1024;

export interface ProbeContext {
  /** The child process, for ipc and piped output. */
  proc: ChildProcess;
  signal: AbortSignal;
  /** exec: variables added to graceful's environment, and the directory, as the child's. */
  env?: Record<string, string>;
  cwd?: string;
}

// Starts the probe for `spec`; calls `ready` at most once. node:http and node:net are
// loaded here, only for the probes that need them: they are not on graceful's start path.
export function probeReady(spec: ReadySpec, ctx: ProbeContext, ready: () => void): void {
  let done = false;
  const once = () => {
    if (done || ctx.signal.aborted) return;
    done = true;
    ready();
  };
  switch (spec.kind) {
    case 'tcp': {
      // getBuiltinModule, not import(): loaded only when probed, and no dynamic import in
      // the bundle (V8's code cache drops the script's import() callback; bin/graceful.js).
      const { connect } = process.getBuiltinModule('node:net');
      return retry(ctx.signal, (next) => {
        const socket = connect({ host: spec.host, port: spec.port });
        socket.once('connect', () => {
          socket.destroy();
          once();
        });
        socket.once('error', () => {
          socket.destroy();
          next();
        });
      });
    }
    case 'http': {
      const { request: httpRequest } = process.getBuiltinModule('node:http');
      return retry(ctx.signal, (next) => {
        // A connection per try (no agent): Node's global agent keeps connections alive, and a
        // probe of a held socket's per-generation path would then keep asking the generation
        // that accepted its first connection (the old one), never the new one.
        const req = httpRequest(spec.url, { method: 'GET', timeout: 2000, agent: false }, (res) => {
          res.resume();
          const ok = res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300;
          if (ok) once();
          else next();
        });
        req.once('error', next);
        req.once('timeout', () => req.destroy());
        req.end();
      });
    }
    case 'log':
      for (const stream of [ctx.proc.stdout, ctx.proc.stderr]) {
        if (stream) watchLines(stream, spec.pattern, once, ctx.signal);
      }
      return;
    case 'ipc': {
      const onMessage = (message: unknown) => {
        if (message === 'ready') {
          ctx.proc.off('message', onMessage);
          once();
        }
      };
      ctx.proc.on('message', onMessage);
      ctx.signal.addEventListener('abort', () => ctx.proc.off('message', onMessage), { once: true });
      return;
    }
    case 'exec': {
      const { spawn } = process.getBuiltinModule('node:child_process');
      const env = ctx.env && Object.keys(ctx.env).length > 0 ? { ...process.env, ...ctx.env } : process.env;
      return retry(
        ctx.signal,
        (next) => {
          // In a session of its own: a Ctrl+C meant for graceful does not reach it, and the
          // timeout kills it whole.
          const probe = spawn('sh', ['-c', spec.command], { stdio: 'ignore', env, cwd: ctx.cwd, detached: true });
          const timer = setTimeout(() => tryKillGroup(probe.pid), EXEC_TIMEOUT_MS);
          const stop = () => tryKillGroup(probe.pid);
          ctx.signal.addEventListener('abort', stop, { once: true });
          probe.once('error', () => {
            clearTimeout(timer);
            next();
          });
          probe.once('exit', (code) => {
            clearTimeout(timer);
            ctx.signal.removeEventListener('abort', stop);
            if (code === 0) once();
            else next();
          });
        },
        EXEC_RETRY_MS,
      );
    }
    case 'notify':
    case 'app':
      // Handled by the supervisor, which owns the sockets (they must exist before the spawn).
      return;
  }
}

// Calls `attempt(next)` until it stops calling `next`, `ms` apart, until aborted.
function retry(signal: AbortSignal, attempt: (next: () => void) => void, ms = RETRY_MS): void {
  const next = () => {
    if (signal.aborted) return;
    setTimeout(() => {
      if (!signal.aborted) attempt(next);
    }, ms);
  };
  attempt(next);
}

// SIGKILL to a probe's process group (it leads its own), if it still runs.
function tryKillGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // gone
  }
}

// Matches each line of `stream` against `pattern` until the first match. The bytes reach
// graceful's stdout/stderr through pipe() (set up by child.ts), untouched; this listener
// only reads them.
function watchLines(stream: Readable, pattern: RegExp, matched: () => void, signal: AbortSignal): void {
  const decoder = new StringDecoder('utf8');
  let partial = '';
  const onData = (chunk: Buffer) => {
    const text = partial + decoder.write(chunk);
    const lines = text.split('\n');
    partial = lines.pop()!.slice(0, MAX_LINE);
    if (lines.some((line) => pattern.test(line.slice(0, MAX_LINE)))) stop(true);
  };
  const stop = (hit: boolean) => {
    stream.off('data', onData);
    if (hit) matched();
  };
  stream.on('data', onData);
  signal.addEventListener('abort', () => stop(false), { once: true });
}
