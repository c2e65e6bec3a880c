// Real PostgreSQL and Redis for the examples' tests: one instance per test file, on a free
// loopback port, in a private temporary directory, stopped by pid when the file is done.
// Where a server is not installed, `missing` says so and the tests that need it are
// skipped with that reason printed (.ci/run installs both).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, Output } from './harness.js';

export interface Service {
  pid: number;
  port: number;
  /** The client URL: postgres://... or redis://... */
  url: string;
  /** Stops it by pid (fast shutdown) and removes its directory. */
  stop(): Promise<void>;
}

// Debian's layout: /usr/lib/postgresql/<major>/bin. The newest one installed.
function postgresBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const majors = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  const found = majors.map((v) => join(root, v, 'bin')).find((bin) => existsSync(join(bin, 'postgres')) && existsSync(join(bin, 'initdb')));
  return found ?? null;
}

const PG_BIN = postgresBin();
const REDIS = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p)) ?? null;

/** Why each server cannot be started here, or null when it can. */
export const missing = {
  postgres: PG_BIN ? null : 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres; apt-get install postgresql)',
  redis: REDIS ? null : 'redis-server is not installed (apt-get install redis-server)',
};

// PostgreSQL refuses to run as root: as root, it runs as the postgres user (nobody if
// there is none), through util-linux's setpriv, which execs it in the same process.
function asUnprivileged(dir: string): string[] {
  if (process.getuid?.() !== 0) return [];
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const uid = id('-u');
  const [u, g] = uid.status === 0 ? [uid.stdout.trim(), id('-g').stdout.trim()] : ['65534', '65534'];
  chownSync(dir, Number(u), Number(g));
  return ['setpriv', `--reuid=${u}`, `--regid=${g}`, '--clear-groups', '--'];
}

// Starts a server and waits for the line that says it is ready, under a ceiling.
async function launch(argv: string[], ready: RegExp, what: string, ms = 30_000): Promise<ChildProcess> {
  const proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = new Output();
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => out.push(c));
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => out.push(c));
  const exited = new Promise<never>((_, reject) => proc.once('exit', (code, signal) => reject(new Error(`${what} exited (${code ?? signal}) before it was ready:\n${out.text}`))));
  try {
    await Promise.race([out.waitFor(ready, `${what} to be ready`, ms), exited]);
  } catch (error) {
    proc.kill('SIGKILL');
    throw error;
  }
  return proc;
}

// Stops a server by pid with `signal`, waits for it to exit (SIGKILL after 10 s), removes `dir`.
function stopper(proc: ChildProcess, signal: NodeJS.Signals, dir: string): () => Promise<void> {
  return async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

// A fresh PostgreSQL cluster: user "test", trusted on loopback, database "postgres".
export async function startPostgres(): Promise<Service> {
  if (!PG_BIN) throw new Error(missing.postgres!);
  const dir = mkdtempSync(join(tmpdir(), 'graceful-pg-'));
  const as = asUnprivileged(dir);
  const data = join(dir, 'data');
  const initdb = [...as, join(PG_BIN, 'initdb'), '-D', data, '-U', 'test', '--auth=trust', '--no-sync', '-E', 'UTF8'];
  const init = spawnSync(initdb[0]!, initdb.slice(1), { encoding: 'utf8', timeout: 60_000 });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.stderr || init.error?.message}`);
  }
  const port = await freePort();
  // Durability off: a test database is thrown away, and fsync costs seconds on a shared disk.
  const proc = await launch(
    [...as, join(PG_BIN, 'postgres'), '-D', data, '-k', dir, '-h', '127.0.0.1', '-p', String(port), '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
    /database system is ready to accept connections/,
    'postgres',
  );
  return { pid: proc.pid!, port, url: `postgres://test@127.0.0.1:${port}/postgres`, stop: stopper(proc, 'SIGINT', dir) }; // SIGINT: fast shutdown
}

// A Redis server with persistence off.
export async function startRedis(): Promise<Service> {
  if (!REDIS) throw new Error(missing.redis!);
  const dir = mkdtempSync(join(tmpdir(), 'graceful-redis-'));
  const port = await freePort();
  const proc = await launch(
    [REDIS, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'],
    /Ready to accept connections/,
    'redis-server',
  );
  return { pid: proc.pid!, port, url: `redis://127.0.0.1:${port}`, stop: stopper(proc, 'SIGTERM', dir) };
}
