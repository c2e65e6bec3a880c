// The audit of any program (src/shell/audit/, issue 22), driven as graceful check will drive
// it, on real programs: a seccomp filter set by the shim, inherited by every process of the
// tree, and a snapshot of each process at its exit. Ground truth: Postgres's own log (a
// client that vanished with its transaction open) and strace run on the same program, in
// the same run. Good and bad twins in Python (psycopg2, redis-py), Go (a static binary) and
// a Node cluster with 2 workers.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ALL_CALLS, auditUnavailable, DEFAULT_CALLS, startAudit, type AttachOutcome, type AuditSession } from '../../src/shell/audit/audit.js';
import { auditCalls, type AuditCalls } from '../../src/shell/audit/calls.js';
import { filterProgram, type TrappedCall } from '../../src/shell/audit/filter.js';
import { perlShim } from '../../src/shell/audit/perl.js';
import type { AuditedProcess, AuditReport, OutboundConnection } from '../../src/core/audit/types.js';
import { auditVerdicts, processName } from '../../src/core/audit/verdicts.js';
import { SEA_AUDIT_SHIM } from '../../src/commands/check/bundles.js';
import { alive, BINARY, fixture, freePort, Output, ROOT, tempDir, useHarness, waitGone } from './harness.js';
import { servicesMissing, startPostgres, startRedis, type Service } from './services.js';

useHarness();

const DIST = join(ROOT, 'dist');
const unavailable = auditUnavailable(DIST);
if (unavailable) console.log(`audit.test.ts skipped: ${unavailable}`);
const PYTHON = '/usr/bin/python3';
const pythonMissing = spawnSync(PYTHON, ['-c', 'import psycopg2, redis']).status === 0 ? null : `${PYTHON} cannot import psycopg2 and redis (.ci/run installs python3-psycopg2 python3-redis)`;
const goMissing = spawnSync('go', ['version']).status === 0 ? null : 'go is not installed (.ci/run installs golang-go)';
const straceMissing = spawnSync('strace', ['-V']).status === 0 ? null : 'strace is not installed (.ci/run installs it)';
const fmt = (ms: number) => `${Math.round(ms)}ms`;
// AUDIT_MATRIX=file appends one JSON line per twin: program, defect, verdicts, ground truth
// (docs/audit-notes.md's matrix is rendered from such a run).
const matrix = (row: object) => process.env.AUDIT_MATRIX && appendFileSync(process.env.AUDIT_MATRIX, `${JSON.stringify(row)}\n`);

// Every pid an audited run started, ended by pid after each test (the harness's leak check
// sees only processes started through graceful's CLI).
const started: number[] = [];
afterEach(async () => {
  const left = started.splice(0).filter(alive);
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  expect(left, 'audited processes left behind by the test').toEqual([]);
});

interface Audited {
  child: ChildProcess;
  session: AuditSession;
  stdout: Output;
  stderr: Output;
  outcome: Promise<AttachOutcome>;
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** Waits for the tree to end, then ends the audit. */
  report(): Promise<AuditReport>;
}

// Runs `command` as graceful check will: the shim in its place, the channel on fd 3.
function audited(command: string[], env: Record<string, string> = {}, options: Parameters<typeof startAudit>[2] = {}): Audited {
  const session = startAudit(command, DIST, options);
  const child = spawn(session.file, session.args, { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  started.push(child.pid!);
  const stdout = new Output();
  const stderr = new Output();
  child.stdout!.setEncoding('utf8').on('data', (c: string) => stdout.push(c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => stderr.push(c));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    session,
    stdout,
    stderr,
    outcome: session.attach(child),
    exited,
    async report() {
      await exited;
      started.push(...session.pids());
      await waitGone(session.pids(), 10_000);
      return session.finish(alive);
    },
  };
}

describe.skipIf(unavailable !== null).each([{ shim: 'perl' as const }, { shim: 'node' as const }])('the audit on any program, shim in $shim', ({ shim }) => {
  const perlMissing = shim === 'perl' && !existsSync('/usr/bin/perl');
  if (perlMissing) console.log('audit.test.ts: the perl shim not tested: no /usr/bin/perl');
  const test = perlMissing ? it.skip : it;
  test('traps every process of the tree: each one is reported with its exit code and the file it left open, and the program keeps its stdio', async () => {
    const dir = tempDir();
    // sh forks a child that opens a file for writing and exits 3 with it open; sh itself
    // closes its own file, then exits 4.
    const a = audited(['sh', '-c', `echo hello; (exec 5>${dir}/child.log; exit 3); exec 6>${dir}/main.log; exec 6>&-; exit 4`], {}, { shim });
    expect(await a.outcome).toEqual({ state: 'audited' });
    const report = await a.report();
    expect(await a.exited).toEqual({ code: 4, signal: null });
    expect(a.stdout.text).toBe('hello\n');
    expect(report.refused).toBe(null);
    expect(report.processes).toHaveLength(2);
    const main = report.processes.find((p) => p.pid === a.child.pid);
    const child = report.processes.find((p) => p.pid !== a.child.pid);
    expect(main!.exit?.code).toBe(4);
    expect(main!.exit?.open.flatMap((o) => (o.file ? [o.file] : []))).toEqual([]);
    expect(child!.ppid).toBe(main!.pid);
    expect(child!.exit?.code).toBe(3);
    expect(child!.exit?.open.flatMap((o) => (o.file ? [o.file] : []))).toEqual([`${dir}/child.log`]);
    const files = auditVerdicts(report.processes, { stopAt: 0, fmt }).find((v) => v.name === 'files-closed')!;
    expect(files).toEqual({ name: 'files-closed', ok: false, pids: [child!.pid], detail: `sh (pid ${child!.pid}) exited with ${dir}/child.log open for writing: close (and so flush) files before exiting, or what is still buffered is lost` });
    expect(report.stats.byCall.exit_group).toBe(2);
  });

  test('says in one line why it cannot run where the kernel refuses (a listener already set on the tree), and the program runs unaudited', async () => {
    // The inner shim runs inside an audited process: one seccomp listener per filter tree.
    const inner = ['sh', '-c', 'echo inner ran; exit 5'];
    const calls = auditCalls() as AuditCalls;
    const shimLine =
      shim === 'perl'
        ? perlShim('/usr/bin/perl', calls.table, process.arch, filterProgram(calls.table, ['exit_group'], true).toString('hex'), 3, inner)!
        : [process.execPath, join(DIST, 'audit-shim.cjs'), '--channel', '3', '--trap', 'exit_group', '--', ...inner];
    const a = audited([PYTHON, fixture('audit/nested-shim.py'), ...shimLine], {}, { shim });
    expect(await a.outcome).toEqual({ state: 'audited' });
    await a.report();
    // (The inner program's line and the parent's report of the refusal may come in either order.)
    expect(a.stdout.text.split('\n').filter(Boolean).sort()).toEqual(
      [
        'inner: refused a seccomp listener is already set on this process tree (EBUSY: a container runtime or another supervisor uses user notification)',
        'inner ran',
        'inner exit 5',
      ].sort(),
    );
  });

  test('a process killed by a signal makes no exit_group: what it never closed is known (the kernel closed it), its files are not', async () => {
    const server = createServer((s) => s.on('error', () => {})).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as { port: number }).port;
    try {
      const a = audited([process.execPath, '-e', `const s = require('net').connect(${port}, '127.0.0.1', () => console.log('ready ' + process.pid)); setInterval(() => {}, 1000)`], {}, { shim });
      expect(await a.outcome).toEqual({ state: 'audited' });
      await a.stdout.waitFor(/ready \d+/, 'the program to connect');
      await a.session.snapshot();
      const stopAt = Number(process.hrtime.bigint()) / 1e6;
      a.child.kill('SIGKILL');
      const report = await a.report();
      const [p] = report.processes;
      expect(report.processes).toHaveLength(1);
      expect(p!.exit).toBe(null);
      expect(p!.endedBy).toBe('signal-or-unseen');
      expect(p!.outbound.map((c) => [c.peer, c.end])).toEqual([[`127.0.0.1:${port}`, 'died']]);
      const verdicts = auditVerdicts(report.processes, { stopAt, fmt });
      expect(verdicts.map((v) => [v.name, v.ok, v.detail])).toEqual([
        ['connections-closed', false, `node (pid ${p!.pid}) had a connection still open when it was killed, closed by the kernel, not by the program: 127.0.0.1:${port}: close each connection once the work that needs it is done, and before exiting (the server sees the client vanish: an open transaction is rolled back, a command not yet sent is lost)`],
        ['cleanup-order', null, 'nothing to order: no process closed its listener, finished the connections it served or let go of a connection it had open at the stop (each ended with its exit)'],
        ['files-closed', null, `node (pid ${p!.pid}) did not exit by itself (killed, or still running): which files it had open is not known`],
      ]);
    } finally {
      server.close();
    }
  });

  test('says why when the program cannot be started, with the status a shell would give', async () => {
    const a = audited(['/nonexistent/program'], {}, { shim });
    expect(await a.outcome).toEqual({ state: 'exec-failed', status: 127, message: 'ENOENT' });
    expect(await a.exited).toEqual({ code: 127, signal: null });
    await a.report();
  });

  describe.skipIf(pythonMissing !== null)('when graceful dies (SIGKILL) with the program still running', () => {
    if (pythonMissing) console.log(`audit.test.ts: graceful's death not tested: ${pythonMissing}`);
    let auditor = '';
    let dir = '';
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    beforeAll(async () => {
      // graceful's side as a process of its own, that the test can kill (in a directory of
      // this block's: the harness empties its temporary directories after each test).
      dir = mkdtempSync(join(tmpdir(), 'graceful-audit-'));
      auditor = join(dir, 'auditor.cjs');
      await build({ entryPoints: [fixture('audit/auditor.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: auditor, external: ['koffi', '@koromix/*'], define: { 'import.meta.url': '__filename' }, logLevel: 'warning', nodePaths: [join(ROOT, 'node_modules')] });
    });

    async function orphaned(keeper: boolean): Promise<{ out: Output; pid: number }> {
      const port = await freePort();
      const server = (await import('node:net')).createServer((s) => s.destroy()).listen(port, '127.0.0.1');
      try {
        const proc = spawn(process.execPath, [auditor, DIST, `--shim=${shim}`, ...(keeper ? [] : ['--no-keeper']), '--', PYTHON, fixture('audit/after-auditor.py'), String(port)], {
          stdio: ['pipe', 'pipe', 'inherit'],
          env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules') },
        });
        started.push(proc.pid!);
        const out = new Output();
        proc.stdout!.setEncoding('utf8').on('data', (c: string) => out.push(c));
        const pid = Number((await out.waitFor(/ready (\d+)/, 'the program to start'))[1]);
        started.push(pid);
        await out.waitFor(/audited \d+/, 'the auditor to say the program runs audited');
        const dead = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGKILL');
        await dead;
        // The program's stdin is the auditor's: the pipe from this test, still open.
        proc.stdin!.write('go\n');
        await out.waitFor(/exiting 7\n/, 'the program to go on and exit');
        await waitGone([pid]);
        return { out, pid };
      } finally {
        server.close();
      }
    }

    test('the keeper answers in its place: every call the filter traps goes through, and the program exits', async () => {
      const { out } = await orphaned(true);
      expect(out.text).toMatch(/close ok\nconnect ok\nexiting 7\n$/);
    });

    test('without the keeper, the kernel fails every trapped call with ENOSYS (what the keeper is for): connect here; close is not trapped by default', async () => {
      const { out } = await orphaned(false);
      expect(out.text).toMatch(/close ok\nconnect: Function not implemented\nexiting 7\n$/);
    });
  });
});

// ---- Good and bad twins on real Postgres and Redis ----

const missing = unavailable ?? servicesMissing();
if (!unavailable && missing) console.log(`audit.test.ts: the twins skipped: ${missing}`);

type Defect = '' | '--leak' | '--early' | '--keep-file';
const DEFECTS: Defect[] = ['', '--leak', '--early', '--keep-file'];
// The check each defect must fail, alone.
const FAILS: Record<Defect, string[]> = { '': [], '--leak': ['connections-closed'], '--early': ['cleanup-order'], '--keep-file': ['files-closed'] };

// The standalone executable has no node to run audit-shim.cjs with: where there is no perl,
// its shim and keeper are the executable itself in a hidden mode (scripts/sea-main.cjs).
describe("the node shim as the standalone executable's hidden mode", () => {
  const why = unavailable ?? (BINARY ? null : 'GRACEFUL_BIN is not set (npm run build:binary, then GRACEFUL_BIN=dist/graceful-linux-<arch>; .ci/run does)');
  if (why) console.log(`audit.test.ts: the executable's shim not tested: ${why}`);
  (why ? it.skip : it)('runs the program audited, with its stdio, its exit and the file it left open', async () => {
    const dir = tempDir();
    const a = audited(['sh', '-c', `echo hello; exec 5>${dir}/left.log; exit 4`], {}, { shim: 'node', nodeShim: [BINARY!, SEA_AUDIT_SHIM] });
    expect(await a.outcome).toEqual({ state: 'audited' });
    const report = await a.report();
    expect(await a.exited).toEqual({ code: 4, signal: null });
    expect(a.stdout.text).toBe('hello\n');
    expect(report.refused).toBe(null);
    expect(report.processes.map((p) => [p.exit?.code, p.exit?.open.flatMap((o) => (o.file ? [o.file] : []))])).toEqual([[4, [`${dir}/left.log`]]]);
  });
});

describe.skipIf(missing !== null)('good and bad twins on real Postgres and Redis', () => {
  let pg: Service & { log(): string };
  let redis: Service;
  let goBinary = '';
  let goDir = '';
  beforeAll(async () => {
    [pg, redis] = (await Promise.all([startPostgres({ logSessions: true }), startRedis()])) as [Service & { log(): string }, Service];
    if (!goMissing) {
      goDir = mkdtempSync(join(tmpdir(), 'graceful-audit-go-'));
      goBinary = join(goDir, 'db-app');
      // Static, standard library only: what `go` builds offline.
      const built = spawnSync('go', ['build', '-o', goBinary, fixture('audit/db-app.go')], { env: { ...process.env, CGO_ENABLED: '0' }, encoding: 'utf8' });
      if (built.status !== 0) throw new Error(`go build failed: ${built.stderr}`);
    }
  }, 120_000);
  afterAll(async () => {
    await Promise.all([pg?.stop(), redis?.stop()]);
    if (goDir) rmSync(goDir, { recursive: true, force: true });
  });

  // Established TCP connections to `port` and the pids holding them (ss reads the kernel's tables by netlink).
  function accepted(port: number): number[] {
    const ss = spawnSync('ss', ['-Htnp', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
    return [...ss.stdout.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
  }

  function get(url: string): Promise<number | string> {
    return new Promise((resolve) => {
      // agent: false, no keep-alive: the drain ends with the responses, not 5 s later.
      request(url, { agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      })
        .on('error', (e) => resolve(e.message))
        .end();
    });
  }

  /**
   * Starts `program` audited (under strace, writing to `trace`, if given), sends 3 requests
   * that take 800 ms, and once the program holds them, takes the stop snapshot and sends
   * SIGTERM to the program (the pid it printed: strace does not pass signals on).
   */
  async function serve(program: string[], port: number, dir: string, trace: string | null, trap: readonly TrappedCall[]) {
    const command = trace ? ['strace', '-f', '-qq', '-o', trace, '-e', 'trace=connect,listen,shutdown,close,exit_group', '--', ...program] : program;
    const since = pg.log().length;
    const a = audited(command, { LOG_FILE: join(dir, 'app.log') }, { trap });
    expect(await a.outcome).toEqual({ state: 'audited' });
    const pid = Number((await a.stdout.waitFor(/ready (\d+)/, 'the program to listen', 20_000))[1]);
    const requests = [1, 2, 3].map(() => get(`http://127.0.0.1:${port}/work?ms=800`));
    // Held by the process that will serve them (a cluster's primary passes each on to a worker).
    const deadline = Date.now() + 10_000;
    while (accepted(port).filter((p) => p !== pid || !program.some((w) => w.endsWith('cluster-app.js'))).length < 3) {
      if (Date.now() > deadline) throw new Error(`the 3 requests were not accepted: ${accepted(port)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await a.session.snapshot();
    const stopAt = Number(process.hrtime.bigint()) / 1e6;
    process.kill(pid, 'SIGTERM');
    const answers = await Promise.all(requests);
    const report = await a.report();
    expect(report.refused).toBe(null);
    // The processes that did the work: the ones that connected to Postgres or Redis.
    const uses = (p: AuditedProcess) => p.outbound.some((c) => c.peer.endsWith(`:${pg.port}`) || c.peer.endsWith(`:${redis.port}`));
    const workers = report.processes.filter(uses);
    const judged = report.processes.filter((p) => !p.argv[0]?.endsWith('strace'));
    const verdicts = auditVerdicts(judged, { stopAt, fmt });
    return { pid, since, stopAt, report, workers, verdicts, answers, stderr: a.stderr.text, failed: verdicts.filter((v) => v.ok === false).map((v) => v.name) };
  }

  // Postgres's own account of one connection, by the client's port: its session ended, and
  // did the client say goodbye (Terminate) or vanish, with a transaction open or not?
  type PgSaw = 'said goodbye' | 'vanished' | 'vanished with a transaction open';
  async function pgSaw(clientPort: string, since: number): Promise<PgSaw> {
    // Only what Postgres logged since this run began: over a whole test file (and pid_max is
    // 32768 here) a client port and a backend pid come back, and the first session logged
    // with this port, or an earlier backend with this pid, is another run's.
    const ended = new RegExp(`\\[(\\d+)\\] LOG:  disconnection: .* port=${clientPort}\\b`);
    const deadline = Date.now() + 10_000;
    let m: RegExpMatchArray | null;
    while (!(m = pg.log().slice(since).match(ended))) {
      if (Date.now() > deadline) throw new Error(`Postgres logged no end of the session from port ${clientPort}:\n${pg.log().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const session = pg.log().slice(since, since + m.index!);
    const eof = new RegExp(`\\[${m[1]}\\] (LOG|DEBUG):  unexpected EOF on client connection( with an open transaction)?`).exec(session);
    if (eof) return eof[2] ? 'vanished with a transaction open' : 'vanished';
    // The client gone while its backend was sending or receiving: no EOF line, but no goodbye either.
    const lost = new RegExp(`\\[${m[1]}\\] (LOG|FATAL):  (connection to client lost|could not (receive|send) data (from|to) client)`).test(session);
    return lost ? 'vanished' : 'said goodbye';
  }

  // Each Postgres connection the audit saw, as Postgres saw it: closed by the kernel (the
  // audit) exactly when the client vanished without a goodbye (Postgres). Per process, what
  // Postgres saw of its connections.
  async function comparePostgres(workers: AuditedProcess[], since: number): Promise<PgSaw[][]> {
    const seen: PgSaw[][] = [];
    for (const p of workers) {
      const mine: PgSaw[] = [];
      for (const c of p.outbound.filter((x) => x.peer.endsWith(`:${pg.port}`))) {
        expect(c.local, `the client address of ${c.peer} in ${processName(p)}`).toMatch(/^127\.0\.0\.1:\d+$/);
        const saw = await pgSaw(c.local!.replace(/^.*:/, ''), since);
        expect({ peer: c.peer, local: c.local, saw: saw.startsWith('vanished') ? 'vanished' : saw }, `${JSON.stringify(c)}\n${pg.log().slice(since)}`).toEqual({ peer: c.peer, local: c.local, saw: c.end === 'kernel' ? 'vanished' : 'said goodbye' });
        mine.push(saw);
      }
      seen.push(mine.sort());
    }
    return seen;
  }

  // What strace saw: per outbound connection (by port), whether the program closed or shut
  // it down before its exit_group, in the order it did.
  function straceTruth(file: string): { released: string[]; atExit: string[] } {
    const fdPeer = new Map<string, string>();
    const released: string[] = [];
    let atExit: string[] = [];
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^\d+\s+(connect|close|shutdown|exit_group)\((\d+)(.*)$/.exec(line);
      if (!m) continue;
      const [, call, fd, rest] = m as unknown as [string, string, string, string];
      if (call === 'connect') {
        const port = /sin6?_port=htons\((\d+)\)/.exec(rest)?.[1];
        // Refused or unreachable: no connection (EINPROGRESS is a connect under way).
        if (port && !/= -1 E(?!INPROGRESS)/.test(rest)) fdPeer.set(fd, port);
      } else if (call === 'exit_group') atExit = [...fdPeer.values()];
      else if (fdPeer.has(fd)) {
        released.push(fdPeer.get(fd)!);
        fdPeer.delete(fd);
      }
    }
    return { released, atExit };
  }

  // The audit's view of the same: the order the program released its connections (those seen
  // at the same instant as one group, in strace's order), and what was left.
  function auditTruth(p: AuditedProcess, straceOrder: string[]): { released: string[]; atExit: string[] } {
    const port = (peer: string) => peer.replace(/^.*:/, '');
    const rank = (c: OutboundConnection) => straceOrder.indexOf(port(c.peer));
    const released = p.outbound.filter((c) => c.releasedAt !== null).sort((a, b) => a.releasedAt! - b.releasedAt! || rank(a) - rank(b));
    return { released: released.map((c) => port(c.peer)), atExit: p.outbound.filter((c) => c.end === 'kernel').map((c) => port(c.peer)) };
  }

  // close followed by looking after the stop (the default), and trapped (the exact order).
  describe.each([
    { closes: 'followed', trap: DEFAULT_CALLS },
    { closes: 'trapped', trap: ALL_CALLS },
  ])('closes $closes', ({ closes, trap }) => {
    describe.each([
      { name: 'Python (psycopg2, redis-py)', skip: pythonMissing, program: (port: number) => [PYTHON, fixture('audit/db-app.py'), String(port), pg.url, redis.url] },
      { name: 'Go (a static binary)', skip: goMissing, program: (port: number) => [goBinary, String(port), pg.url, redis.url] },
    ])('$name, under strace as well', ({ name, skip, program }) => {
      const why = skip ?? straceMissing;
      if (why) console.log(`audit.test.ts: twins skipped: ${why}`);
      (why ? it.skip : it).each(DEFECTS)('defect "%s": fails exactly its check, in the process that has it, as strace and Postgres saw it', async (defect) => {
        const port = await freePort();
        const dir = tempDir();
        const trace = join(dir, 'strace.txt');
        const { since, stopAt, workers, verdicts, failed, answers } = await serve([...program(port), ...(defect ? [defect] : [])], port, dir, trace, trap);
        expect(failed, JSON.stringify(verdicts, null, 1)).toEqual(FAILS[defect]);
        expect(workers).toHaveLength(1);
        const [app] = workers as [AuditedProcess];
        const failing = verdicts.filter((v) => v.ok === false);
        for (const v of failing) expect(v.pids).toEqual([app.pid]);
        // Ground truth: strace, on the same run, saw the same releases in the same order.
        const truth = straceTruth(trace);
        const ours = (port: string) => port === String(pg.port) || port === String(redis.port);
        const audit = auditTruth(app, truth.released);
        expect({ released: audit.released, atExit: audit.atExit.sort() }).toEqual({ released: truth.released.filter(ours), atExit: truth.atExit.filter(ours).sort() });
        // ... and Postgres saw its client vanish with a transaction open exactly with --leak.
        const postgres = await comparePostgres(workers, since);
        expect(postgres).toEqual([[defect === '--leak' ? 'vanished with a transaction open' : 'said goodbye']]);
        matrix({ program: name, closes, defect, verdicts: verdicts.map((v) => [v.name, v.ok, v.detail]), postgres, strace: truth, answers });
        if (defect === '--leak') {
          // (redis-py's pool holds one connection per request thread that ran at once.)
          expect(failing[0]!.detail).toMatch(
            new RegExp(`^[^:]*\\(pid ${app.pid}\\) had \\d connections still open when it exited, closed by the kernel, not by the program: 127\\.0\\.0\\.1:${redis.port}( \\(x\\d\\))?, 127\\.0\\.0\\.1:${pg.port}: close each connection`),
          );
        }
        if (defect === '--early') {
          expect(failing[0]!.detail).toMatch(new RegExp(`\\(pid ${app.pid}\\) closed 127\\.0\\.0\\.1:${redis.port} at \\+\\d+ms, (before it stopped listening \\(\\+\\d+ms\\)|while 3 connection\\(s\\) it was serving were still open)`));
          // (Go stops listening within a millisecond of its early close: seen by looking, the
          // two may fall in the same FOLLOW_MS; the requests still in flight then tell.)
        }
        if (defect === '--keep-file') expect(failing[0]!.detail).toContain(`exited with ${dir}/app.log open for writing`);
        if (defect === '') {
          expect(verdicts.find((v) => v.name === 'cleanup-order')!.detail, JSON.stringify({ stopAt, listeners: app.listeners, inbound: app.inboundAtStop, exit: app.exit?.at })).toMatch(
            new RegExp(`\\(pid ${app.pid}\\): stopped listening \\+\\d+ms, 3 connection\\(s\\) it served done \\+\\d+ms, 127\\.0\\.0\\.1:${pg.port} closed \\+\\d+ms, 127\\.0\\.0\\.1:${redis.port} closed \\+\\d+ms \\(the reverse order of opening\\)$`),
          );
          expect(answers).toEqual([200, 200, 200]);
        }
      }, 60_000);
    });

    const pgMissing = existsSync(join(ROOT, 'node_modules/pg')) ? null : 'the npm package pg is not installed (npm ci installs it)';
    if (pgMissing) console.log(`audit.test.ts: the Node cluster's twins skipped: ${pgMissing}`);
    describe.skipIf(pgMissing !== null)('Node cluster, 2 workers', () => {
      it.each(DEFECTS)('defect "%s": fails exactly its check, naming each worker, as Postgres saw it', async (defect) => {
        const port = await freePort();
        const dir = tempDir();
        const { pid, since, report, workers, verdicts, failed, answers } = await serve([process.execPath, fixture('audit/cluster-app.js'), String(port), pg.url, redis.url, ...(defect ? [defect] : [])], port, dir, null, trap);
        expect(failed, JSON.stringify(verdicts, null, 1)).toEqual(FAILS[defect]);
        // Three processes: the primary, which holds the listener, and its two workers.
        const primary = report.processes.find((p) => p.pid === pid)!;
        expect(report.processes).toHaveLength(3);
        expect(workers).toHaveLength(2);
        for (const w of workers) expect(w.ppid).toBe(primary.pid);
        expect(primary.listeners.map((l) => l.local)).toEqual([`127.0.0.1:${port}`]);
        for (const v of verdicts.filter((x) => x.ok === false)) expect(v.pids.sort()).toEqual(workers.map((w) => w.pid).sort());
        // Each worker's pool (one or two sessions): with --leak, each worker's transaction vanished open.
        const postgres = await comparePostgres(workers, since);
        matrix({ program: 'Node cluster, 2 workers', closes, defect, verdicts: verdicts.map((v) => [v.name, v.ok, v.detail]), postgres, strace: null, answers });
        for (const saw of postgres) {
          if (defect === '--leak') expect(saw).toContain('vanished with a transaction open');
          else expect(new Set(saw)).toEqual(new Set(['said goodbye']));
        }
        if (defect === '--early') {
          for (const w of workers) expect(verdicts.find((v) => v.name === 'cleanup-order')!.detail).toMatch(new RegExp(`node cluster-app\\.js \\(pid ${w.pid}\\) closed 127\\.0\\.0\\.1:${redis.port} at \\+\\d+ms, while \\d connection\\(s\\) it was serving were still open`));
        }
        if (defect === '') expect(verdicts.map((v) => v.ok)).toEqual([true, true, true]);
        expect(processName(primary)).toBe(`node cluster-app.js (pid ${primary.pid})`);
      }, 60_000);
    });
  });
});
