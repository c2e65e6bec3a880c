// Real Postgres and Redis servers for the tests that judge a program's own cleanup: each
// started on a free loopback port in a private directory, and stopped by pid. .ci/run installs
// them; where a binary is missing, the caller skips with the reason printed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './harness.js';

export interface Service {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

// The first of `names` that exists, in the usual places.
function find(names: string[]): string | null {
  const dirs = ['/usr/bin', '/usr/sbin', '/usr/local/bin', ...pgDirs()];
  for (const name of names) for (const dir of dirs) if (existsSync(join(dir, name))) return join(dir, name);
  return null;
}

function pgDirs(): string[] {
  try {
    return readdirSync('/usr/lib/postgresql').sort().reverse().map((v) => `/usr/lib/postgresql/${v}/bin`);
  } catch {
    return [];
  }
}

// Why these servers cannot run here, or null if they can.
export function servicesMissing(): string | null {
  const missing = [find(['redis-server']) ? null : 'redis-server', find(['initdb']) && find(['postgres']) ? null : 'postgres (initdb)'].filter(Boolean);
  return missing.length ? `${missing.join(' and ')} not installed (.ci/run installs them: apt-get install redis-server postgresql)` : null;
}

// Resolves once something accepts connections on the port.
async function listening(port: number, proc: ChildProcess, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${what} exited with ${proc.exitCode} before listening`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ port, host: '127.0.0.1' });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port} within ${ms}ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stopper(proc: ChildProcess, signal: NodeJS.Signals, dir: string): () => Promise<void> {
  return async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill(signal);
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

export async function startRedis(): Promise<Service> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'graceful-redis-'));
  const proc = spawn(find(['redis-server'])!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  await listening(port, proc, 'redis-server');
  return { url: `redis://127.0.0.1:${port}`, port, pid: proc.pid!, stop: stopper(proc, 'SIGTERM', dir) };
}

// Postgres refuses to run as root: as root, it runs as nobody.
function asServer(argv: string[]): string[] {
  return process.getuid?.() === 0 ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', ...argv] : argv;
}

// `logSessions`: Postgres logs each session's end with the client's port, and (DEBUG1) a client
// that vanished without saying goodbye, so that a test can tell which, per connection
// (audit.test.ts).
export async function startPostgres(options: { logSessions?: boolean } = {}): Promise<Service> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'graceful-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const [file, ...args] = asServer([find(['initdb'])!, '-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync']);
  // In the server's own directory (0777): run as nobody, it may not be able to enter the
  // test's (the checkout, in root's home or a mktemp -d).
  const init = spawnSync(file!, args, { encoding: 'utf8', cwd: dir });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const [pgFile, ...pgArgs] = asServer([find(['postgres'])!, '-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir, '-c', 'fsync=off', ...(options.logSessions ? ['-c', 'log_disconnections=on', '-c', 'log_min_messages=debug1'] : [])]);
  const proc = spawn(pgFile!, pgArgs, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
  let log = '';
  proc.stderr!.on('data', (d) => (log += d));
  await listening(port, proc, 'postgres');
  const service = { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, pid: proc.pid!, stop: stopper(proc, 'SIGINT', dir) };
  return Object.assign(service, { log: () => log });
}
