// The reload tests' own HTTP client (not graceful's): a request stream of kept-alive and
// new-connection clients that records which pids answered, one GET, graceful reload as a
// user runs it, the fixture's behaviour file, and whether a port still accepts.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { exitOf, start, tempDir, type Run } from './harness.js';

export type Target = { port: number } | { socketPath: string };

export interface StreamResult {
  answered: number;
  failed: string[];
  retried: number;
  /** The pids that answered, in the order they first did. */
  pids: number[];
  longestPauseMs: number;
}

// This test's own request stream: clients that keep one connection alive and clients that
// open one per request, each sending the next request as soon as the last is answered. A
// request on a kept-alive connection that the server closed before answering is sent again
// once (RFC 9112, 9.3.1: what HTTP clients do for idempotent requests) and counted.
export function requestStream(target: Target, clients = { keepAlive: 2, fresh: 2 }) {
  const result: StreamResult = { answered: 0, failed: [], retried: 0, pids: [], longestPauseMs: 0 };
  let running = true;
  let last = performance.now();
  const once = (agent: http.Agent | false) =>
    new Promise<{ body: string | null; error: string | null; reused: boolean; answering: boolean }>((resolve) => {
      let answering = false;
      const req = http.request({ ...target, host: '127.0.0.1', path: '/', agent, timeout: 10_000, headers: agent ? {} : { connection: 'close' } }, (res) => {
        answering = true;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ body: res.statusCode === 200 ? body : null, error: res.statusCode === 200 ? null : `HTTP ${res.statusCode}`, reused: req.reusedSocket, answering }));
      });
      // A request unanswered for 10 s fails, saying where the kernel has its connection (in
      // the held socket's queue, accepted by a generation, closed by one) and what listens.
      let local: number | undefined;
      req.on('socket', (socket) => {
        if (socket.connecting) socket.once('connect', () => (local = socket.localPort));
        else local = socket.localPort;
      });
      req.on('timeout', () => req.destroy(new Error(`timed out; the kernel: ${kernelView(local, 'port' in target ? target.port : null)}`)));
      req.on('error', (e: NodeJS.ErrnoException) => resolve({ body: null, error: e.code ?? e.message, reused: req.reusedSocket, answering }));
      req.end();
    });
  const loop = async (keepAlive: boolean) => {
    const agent = keepAlive ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : false;
    while (running) {
      const sent = performance.now();
      let r = await once(agent);
      if (r.error && r.reused && !r.answering && (r.error === 'ECONNRESET' || r.error === 'EPIPE')) {
        result.retried++;
        r = await once(agent);
      }
      if (r.body === null) {
        result.failed.push(`${keepAlive ? 'kept-alive' : 'new connection'}: ${r.error}`);
        continue;
      }
      const now = performance.now();
      result.longestPauseMs = Math.max(result.longestPauseMs, now - Math.max(last, sent));
      last = Math.max(last, now);
      result.answered++;
      const pid = Number(r.body.split(' ')[0]);
      if (!result.pids.includes(pid)) result.pids.push(pid);
    }
    if (agent) agent.destroy();
  };
  const loops = [...Array.from({ length: clients.keepAlive }, () => loop(true)), ...Array.from({ length: clients.fresh }, () => loop(false))];
  return {
    result,
    async stop(): Promise<StreamResult> {
      running = false;
      await Promise.all(loops);
      return result;
    },
    // Resolves once `n` more requests have been answered.
    async answeredMore(n: number, ms = 10_000): Promise<void> {
      const goal = result.answered + n;
      const deadline = performance.now() + ms;
      while (result.answered < goal) {
        if (performance.now() > deadline) throw new Error(`the stream got ${result.answered - goal + n} of ${n} answers in ${ms}ms; failures: ${result.failed.join('; ')}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  };
}

// One GET: the body ("<pid> <generation>"), or the error.
export function get(target: Target, path = '/'): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get({ ...target, host: '127.0.0.1', path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`));
  });
}

// What ss says of the connection from local port `local`, and of the listening socket on `port`.
function kernelView(local: number | undefined, port: number | null): string {
  const ss = (args: string[]) => (spawnSync('ss', args, { encoding: 'utf8' }).stdout ?? '').split('\n').slice(1).join(' | ').replace(/\s+/g, ' ').trim();
  const connection = local === undefined ? 'not connected' : ss(['-tanpi', `( sport = :${local} or dport = :${local} )`]) || 'no such connection';
  return `${connection}; listening: ${port === null ? '?' : ss(['-ltnp', `( sport = :${port} )`])}`;
}

// `graceful reload --pid <graceful>`: its exit status and what it said; `why`, for a failure,
// with what the graceful being reloaded said too (its control socket, its generations).
export async function reload(graceful: Run): Promise<{ code: number | null; text: string; why: string }> {
  const client = start(['reload', '--pid', String(graceful.pid)]);
  const exit = await exitOf(client, 30_000);
  const why = `${client.stderr.text}\ngraceful (pid ${graceful.pid}) said:\n${graceful.stderr.text.slice(-3000)}`;
  return { code: exit.code, text: client.stderr.text, why };
}

export function behaviourFile(initial = 'ok'): { path: string; set(text: string): void } {
  const path = join(tempDir(), 'behaviour');
  writeFileSync(path, initial);
  return { path, set: (text) => writeFileSync(path, text) };
}

// Does anything accept a TCP connection on the port?
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

