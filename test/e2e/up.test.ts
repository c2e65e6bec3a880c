// graceful up on real process trees: a three-level stack (a Redis-like TCP server, a
// database-like server that needs it, an HTTP server that needs both and whose requests use
// both), started in order, stopped in reverse with no request failing; a process that
// ignores SIGTERM; a cycle; a dependency never ready; --exit-with; the prefixes; the check.
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { spawnSync } from 'node:child_process';
import { human } from '../../src/report/human.js';
import { CLI, exitOf, fixture, freePort, leftovers, onlyChild, pastEchoWindow, readJson, start, tempDir, useHarness, zombiesOf, type Run } from './harness.js';

useHarness();

const node = process.execPath;

// Can this machine make PID namespaces (root)? Else the PID 1 test is skipped, saying why.
const unshareProbe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { encoding: 'utf8' });
const canUnshare = unshareProbe.status === 0;
if (!canUnshare) console.warn(`skipping the graceful up PID 1 test: unshare --pid --fork --mount-proc failed here (${(unshareProbe.stderr || unshareProbe.error?.message || '').trim()}); it needs root`);

// Writes `yaml` to a fresh directory's graceful.yml; returns its path.
function stackFile(yaml: string, name = 'graceful.yml'): string {
  const path = join(tempDir(), name);
  writeFileSync(path, yaml);
  return path;
}

// GET http://127.0.0.1:port/path: its status and body (status 0: no answer at all).
function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (e) => resolve({ status: 0, body: e.message }));
    });
    req.on('error', (e) => resolve({ status: 0, body: e.message }));
    req.end();
  });
}

// The three levels, each slow to become ready (--delay), so that a start out of order fails:
// db and api exit 1 when what they need is not there yet.
async function threeLevels(extra: { api?: string; db?: string; kv?: string; kvCommand?: (argv: string[]) => string } = {}) {
  const [kv, db, api] = [await freePort(), await freePort(), await freePort()];
  const kvArgv = [node, fixture('kv-server.js'), String(kv), '--delay', '300'];
  const yaml = `
processes:
  kv:
    command: ${extra.kvCommand ? extra.kvCommand(kvArgv) : JSON.stringify(kvArgv)}
    ready: tcp:${kv}
    timeout: 5s
${extra.kv ?? ''}
  db:
    command: [${JSON.stringify(node)}, ${JSON.stringify(fixture('db-server.js'))}, "${db}", "${kv}", --delay, "300"]
    depends_on: [kv]
    ready: tcp:${db}
    timeout: 5s
${extra.db ?? ''}
  api:
    command: [${JSON.stringify(node)}, ${JSON.stringify(fixture('api-server.js'))}, "${api}", "${db}", "${kv}"]
    depends_on:
      db: ready
      kv: ready
    ready: http://127.0.0.1:${api}/work
    timeout: 5s
${extra.api ?? ''}`;
  return { ports: { kv, db, api }, file: stackFile(yaml) };
}

const afterMs = (list: { name: string; afterMs: number }[], name: string) => list.find((e) => e.name === name)!.afterMs;

describe('a three-level stack: kv <- db <- api', () => {
  it('starts in order, each only after the one before is ready; stops in reverse, and no request in flight fails', async () => {
    const { ports, file } = await threeLevels();
    const report = join(tempDir(), 'stack.json');
    const run = start(['up', '-f', file, '--report-file', report]);
    await run.stderr.waitFor(/api: .* ready in \d+/, 'the api to be ready', 20_000);
    // Requests that use both db and kv after 800 ms, in flight when the stop begins.
    const inflight = Array.from({ length: 8 }, () => get(ports.api, '/work?ms=800'));
    await run.stdout.waitFor(/api \| request 8\n/, 'the 8 requests to be in flight');
    run.signal('SIGTERM');
    const answers = await Promise.all(inflight);
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(answers.every((a) => /^ok row \d+ hits \d+\n$/.test(a.body))).toBe(true);
    const exit = await exitOf(run);
    expect(exit.code).toBe(0);

    const r = readJson(report);
    expect(r.schema).toBe('graceful.stack-report/v1');
    // Started in order, each after the one it needs was ready.
    expect(r.order.started.map((e: { name: string }) => e.name)).toEqual(['kv', 'db', 'api']);
    expect(afterMs(r.order.started, 'db')).toBeGreaterThanOrEqual(afterMs(r.order.ready, 'kv'));
    expect(afterMs(r.order.started, 'api')).toBeGreaterThanOrEqual(afterMs(r.order.ready, 'db'));
    // Stopped in reverse: each asked only once the one above was gone.
    expect(r.order.stopRequested.map((e: { name: string }) => e.name)).toEqual(['api', 'db', 'kv']);
    expect(r.order.ended.map((e: { name: string }) => e.name)).toEqual(['api', 'db', 'kv']);
    expect(afterMs(r.order.stopRequested, 'db')).toBeGreaterThanOrEqual(afterMs(r.order.ended, 'api'));
    expect(afterMs(r.order.stopRequested, 'kv')).toBeGreaterThanOrEqual(afterMs(r.order.ended, 'db'));
    // The api drained its requests (800 ms of work from before the stop) before db was asked.
    expect(r.processes.api.report.exit.shutdownMs).toBeGreaterThan(300);
    for (const name of ['kv', 'db', 'api']) expect(r.processes[name].report.verdict).toBe('clean');
    expect(r.stop.cause).toEqual({ kind: 'signal', signal: 'SIGTERM' });
    // One timeline per process, one summary line per process, one for the stack.
    // The summary's figures are the report's (how long the start and the drain took depends on the machine's load).
    const api = r.processes.api.report;
    expect(run.stderr.text).toMatch(/graceful: api: node .*api-server\.js .* stopped cleanly: ready in /);
    expect(run.stderr.text).toContain(`stopped cleanly: ready in ${human(api.ready.afterMs)}, SIGTERM received, SIGTERM sent at +0ms, exited with code 0 at +${human(api.exit.shutdownMs)}; exit status 0 [clean]`);
    expect(run.stderr.text).toMatch(/graceful: SIGTERM received: stopping the stack in reverse order: api; then db; then kv\n/);
    expect(run.stderr.text).toMatch(/graceful: stack stopped in [\d.]+m?s: api, db, kv in that order; exit status 0\n/);
    // Each program's own lines, in that order, with its name in front.
    const signals = [...run.stdout.text.matchAll(/^(\w+) +\| signal SIGTERM$/gm)].map((m) => m[1]);
    expect(signals).toEqual(['api', 'db', 'kv']);
    expect(leftovers()).toEqual([]);
  });

  it('a process that ignores SIGTERM is killed at its deadline; the rest still stop in order after it', async () => {
    const { file } = await threeLevels();
    // A fourth process on top of api that ignores SIGTERM, with a 1 s grace period.
    writeFileSync(file, `${readFileSync(file, 'utf8')}
  stuck:
    command: [${JSON.stringify(node)}, ${JSON.stringify(fixture('ignores-sigterm.js'))}]
    depends_on: { api: ready }
    timeout: 1s
`);
    const report = join(tempDir(), 'stack.json');
    const run = start(['up', '-f', file, '--report-file', report]);
    await run.stdout.waitFor(/stuck +\| ready \d+/, 'the stuck process to run', 20_000);
    run.signal('SIGTERM');
    const exit = await exitOf(run);
    expect(exit.code).toBe(137);
    const r = readJson(report);
    const stuck = r.processes.stuck.report;
    expect(stuck.verdict).toBe('escalated');
    expect(stuck.stop.graceMs).toBe(1000);
    expect(stuck.stop.killSentAfterMs).toBeGreaterThanOrEqual(1000);
    expect(stuck.stop.killSentAfterMs).toBeLessThan(1500);
    expect(r.order.stopRequested.map((e: { name: string }) => e.name)).toEqual(['stuck', 'api', 'db', 'kv']);
    expect(afterMs(r.order.stopRequested, 'api')).toBeGreaterThanOrEqual(afterMs(r.order.ended, 'stuck'));
    for (const name of ['kv', 'db', 'api']) expect(r.processes[name].report.verdict).toBe('clean');
    expect(run.stderr.text).toMatch(/stuck: \S*node .*ignores-sigterm\.js \(pid \d+\) had to be killed: SIGTERM received, SIGTERM sent at \+0ms, SIGKILL sent at \+1(\.\d+)?s \(grace period of 1s over\)/);
  });

  it('a dependency that never becomes ready aborts the start: what started stops in reverse order, what waited never starts', async () => {
    const [kv, never] = [await freePort(), await freePort()];
    const file = stackFile(`
processes:
  kv:
    command: [${JSON.stringify(node)}, ${JSON.stringify(fixture('kv-server.js'))}, "${kv}"]
    ready: tcp:${kv}
  side:
    command: [${JSON.stringify(node)}, ${JSON.stringify(fixture('drains-for.js'))}, "100"]
    depends_on: [kv]
  db:
    command: [${JSON.stringify(node)}, ${JSON.stringify(fixture('drains-for.js'))}, "0"]
    depends_on: [kv]
    ready: tcp:${never}
    ready_timeout: 1s
  api:
    command: [${JSON.stringify(node)}, ${JSON.stringify(fixture('http-server.js'))}, "0"]
    depends_on: [db]
`);
    const report = join(tempDir(), 'stack.json');
    const run = start(['up', '-f', file, '--report-file', report]);
    const exit = await exitOf(run);
    expect(exit.code).toBe(124);
    expect(run.stderr.text).toMatch(/graceful: db: .* was not ready in time: not ready within 1s \(ready_timeout\)/);
    expect(run.stderr.text).toMatch(/graceful: db was not ready within 1s \(ready_timeout\): the start is aborted: stopping the stack in reverse order: side; then kv/);
    const r = readJson(report);
    expect(r.processes.api.report).toBeNull();
    expect(r.order.started.map((e: { name: string }) => e.name).sort()).toEqual(['db', 'kv', 'side']);
    expect(r.order.stopRequested.map((e: { name: string }) => e.name)).toEqual(['side', 'kv']);
    expect(run.stdout.text).not.toMatch(/^api/m);
    expect(leftovers()).toEqual([]);
  });

  it('--exit-with returns the test runner\'s status, after the stack stopped in order', async () => {
    for (const status of [0, 3]) {
      const { ports, file } = await threeLevels();
      writeFileSync(file, `${readFileSync(file, 'utf8')}
  tests:
    command: [${JSON.stringify(node)}, -e, "fetch('http://127.0.0.1:${ports.api}/work').then(async (r) => { console.log('got', r.status, (await r.text()).trim()); process.exit(${status}); })"]
    depends_on: { api: ready }
`);
      const report = join(tempDir(), 'stack.json');
      const run = start(['up', '-f', file, '--exit-with', 'tests', '--report-file', report]);
      const exit = await exitOf(run, 30_000);
      expect(exit.code).toBe(status);
      expect(run.stdout.text).toMatch(/^tests +\| got 200 ok row \d+ hits \d+$/m);
      const r = readJson(report);
      expect(r.stop.cause).toMatchObject({ kind: 'ended', name: 'tests', why: 'exit-with', status });
      expect(r.order.stopRequested.map((e: { name: string }) => e.name)).toEqual(['api', 'db', 'kv']);
      expect(run.stderr.text).toContain(`tests ended (exit status ${status}), and --exit-with tests passes it on: stopping the stack in reverse order: api; then db; then kv`);
    }
  });
});

describe('the whole stop\'s deadline', () => {
  it('--timeout caps each grace period by what is left of it: the last ones get none; a warning at load says so', async () => {
    const file = stackFile(`
processes:
  base:
    command: [${JSON.stringify(node)}, ${JSON.stringify(fixture('ignores-sigterm.js'))}]
    timeout: 10s
  top:
    command: [${JSON.stringify(node)}, ${JSON.stringify(fixture('ignores-sigterm.js'))}]
    depends_on: [base]
    timeout: 10s
`);
    const report = join(tempDir(), 'stack.json');
    const run = start(['up', '-f', file, '--timeout', '1s', '--report-file', report]);
    await run.stderr.waitFor(/warning: the grace periods along top -> base \(top 10s \+ base 10s\) add up to 20s, more than the 1s the whole stop has \(--timeout 1s\)/, 'the warning at load');
    await run.stdout.waitFor(/top +\| ready \d+/, 'top to run', 20_000);
    run.signal('SIGTERM');
    const exit = await exitOf(run);
    expect(exit.code).toBe(137);
    const r = readJson(report);
    expect(r.processes.top.report.stop.graceMs).toBe(1000);
    expect(r.processes.base.report.stop.graceMs).toBeLessThan(200);
    expect(r.processes.base.report.verdict).toBe('escalated');
    expect(r.stop.deadlineMs).toBe(1000);
    expect(r.stop.durationMs).toBeGreaterThanOrEqual(1000);
    expect(r.stop.durationMs).toBeLessThan(1800);
    expect(r.order.stopRequested.map((e: { name: string }) => e.name)).toEqual(['top', 'base']);
  });

  it('a preset gives the deadline: docker\'s 10s less graceful\'s reserve', async () => {
    const file = stackFile('processes:\n  a:\n    command: sleep 60\n  b:\n    command: sleep 60\n    depends_on: [a]\n');
    const run = start(['up', '-f', file, '--preset', 'docker']);
    await run.stderr.waitFor(/warning: the grace periods along b -> a \(b 30s \+ a 30s\) add up to 1m, more than the 9\.5s the whole stop has \(docker's 10s \(--preset docker\) less 500ms\)/, 'the warning');
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(143);
  });
});

describe('when one ends on its own', () => {
  it('restart: a dependency that crashes is restarted; its dependent (restart: true) is stopped first and started again once it is ready', async () => {
    const state = join(tempDir(), 'runs');
    const db = `const fs = require('fs'); const f = process.argv[1]; let n = 0; try { n = +fs.readFileSync(f, 'utf8'); } catch {} fs.writeFileSync(f, String(n + 1)); console.log('ready', process.pid, 'run', n + 1); process.on('SIGTERM', () => process.exit(0)); if (n === 0) setTimeout(() => process.exit(1), 600); setInterval(() => {}, 1e9);`;
    const file = stackFile(`
processes:
  db:
    command: [${JSON.stringify(node)}, -e, ${JSON.stringify(db)}, ${state}]
    ready: log:^ready
    restart: on-failure
    restart_delay: 100ms
  api:
    command: [${JSON.stringify(node)}, ${JSON.stringify(fixture('drains-for.js'))}, "50"]
    ready: log:^ready
    depends_on:
      db: { condition: ready, restart: true }
  audit:
    command: [${JSON.stringify(node)}, ${JSON.stringify(fixture('drains-for.js'))}, "0"]
    depends_on: [db]
`);
    const run = start(['up', '-f', file]);
    await run.stdout.waitFor(/db +\| ready \d+ run 2/, 'db to run again', 20_000);
    await run.stderr.waitFor(/api: starting again /, 'api to start again');
    await run.stdout.waitFor(/api +\| ready \d+[\s\S]*api +\| ready \d+/, 'api to be ready again');
    const text = run.stderr.text;
    const at = (re: RegExp) => text.search(re);
    expect(text).toMatch(/db: .* crashed: ready in [\d.]+m?s, exited with code 1 after/);
    expect(text).toMatch(/db: restarting in 100ms \(restart 1\); api stops first and starts again after it/);
    expect(text).toMatch(/api: .* stopped cleanly: ready in [\d.]+m?s, stop asked by graceful up, SIGTERM sent at \+0ms/);
    // In that order: api stopped, then db started again, then api started again after db was ready.
    expect(at(/api: .* stopped cleanly/)).toBeLessThan(at(/db: starting again/));
    expect(at(/db: starting again/)).toBeLessThan(at(/api: starting again/));
    // audit was left alone: started once.
    expect(run.stdout.count(/^audit +\| ready/m)).toBe(1);
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
  });
});

describe('a long life of restarts', () => {
  // As graceful run's report (docs/report.md: runs): a process restarted for months must not
  // grow graceful or the stack's report.
  it("the report lists each process's last 100 runs", async () => {
    const file = stackFile(`
processes:
  ticker:
    command: "true"
    restart: always
    restart_delay: 0ms
    min_uptime: 0ms
`);
    const report = join(tempDir(), 'stack.json');
    const run = start(['up', '-f', file, '--report-file', report]);
    await run.stderr.waitFor(/ticker: .*\(restart 110\)/, '110 restarts', 30_000);
    run.signal('SIGTERM');
    // 0 from `true` itself, or 143 when the SIGTERM reached a child that had not exited yet.
    expect([0, 143]).toContain((await exitOf(run)).code);
    const restarts = Math.max(...[...run.stderr.text.matchAll(/\(restart (\d+)\)/g)].map((m) => Number(m[1])));
    expect(restarts).toBeGreaterThanOrEqual(110);
    const r = readJson(report).processes.ticker.report;
    expect(r.runs).toHaveLength(100);
    // Oldest first, and the last one is the run the rest of the report describes.
    expect(r.runs.at(-1).pid).toBe(r.pid);
    expect(new Set(r.runs.map((x: { pid: number }) => x.pid)).size).toBe(100);
  });
});

describe.skipIf(!canUnshare)('as PID 1', () => {
  it('reaps the orphans of every process; a daemon that left its session is stopped with its own process; one that cleared its environment, after the last', async () => {
    const file = stackFile(`
processes:
  orphans:
    command: [${JSON.stringify(node)}, ${JSON.stringify(fixture('orphans.js'))}, "50", "300"]
  daemon:
    command: [${JSON.stringify(node)}, ${JSON.stringify(fixture('daemonizes.js'))}]
    depends_on: [orphans]
  stranger:
    command: env -i E2E_LEAK_TOKEN=$E2E_LEAK_TOKEN setsid -f sleep 300; exec ${node} ${fixture('drains-for.js')} 0
`);
    const run = start([], { via: ['unshare', '--pid', '--fork', '--mount-proc', node, CLI, 'up', '--platform-timeout', '0', '-f', file] });
    await run.stdout.waitFor(/orphans +\| orphans done 1/, 'the orphans to be due to exit', 20_000);
    await run.stdout.waitFor(/daemon +\| ready \d+/, 'the daemon to be started', 20_000);
    await run.stdout.waitFor(/stranger +\| ready \d+/, 'the stranger to be started', 20_000);
    const graceful = onlyChild(run.pid);
    const deadline = performance.now() + 2000;
    while (zombiesOf(graceful) > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(zombiesOf(graceful)).toBe(0);
    process.kill(graceful, 'SIGTERM');
    const exit = await exitOf(run);
    expect(exit.code).toBe(0);
    // The daemon (it keeps its environment) got its stop signal with its own process...
    expect(run.stdout.text).toMatch(/daemon +\| daemon signal SIGTERM/);
    expect(run.stderr.text).not.toMatch(/stopped after the stack: .*daemon/);
    // ... the process without it, once every process had stopped.
    expect(run.stderr.text).toMatch(/warning: stopped after the stack: sleep 300 \(pid \d+\), left by its programs outside their sessions/);
    expect(leftovers()).toEqual([]);
  });
});

describe('rejected before anything starts (exit 2, one line)', () => {
  it.each([
    ['a cycle', 'a:\n    command: sleep 60\n    depends_on: [c]\n  b:\n    command: sleep 60\n    depends_on: [a]\n  c:\n    command: sleep 60\n    depends_on: [b]', /^graceful: .*graceful\.yml: a dependency cycle: a -> c -> b -> a; one of them must not wait for the other; see graceful up --help\n$/],
    ['an unknown name', 'a:\n    command: sleep 60\n    depends_on: [nope]', /^graceful: .*graceful\.yml: a depends on "nope", which is not a process of the file \(a\); see graceful up --help\n$/],
    ['a bad value of a run option', 'a:\n    command: sleep 60\n    timeout: 10x', /^graceful: .*graceful\.yml: a\.timeout: expected a duration like 30s, 1500ms, 2m or 1m30s, got "10x"; see graceful up --help\n$/],
    ['an unknown key', 'a:\n    command: sleep 60\n    image: redis', /^graceful: .*graceful\.yml: a\.image: not a key of a process; see docs\/up\.md/],
    ['ready condition without a probe', 'a:\n    command: sleep 60\n  b:\n    command: sleep 60\n    depends_on: { a: ready }', /^graceful: .*: b\.depends_on\.a: condition ready, but a has no ready probe/],
    ['bad YAML', 'a:\n    command: [sleep, 60\n  b: 1', /^graceful: .*graceful\.yml:\d+:\d+: not valid YAML: /],
  ])('%s', async (_name, body, message) => {
    const file = stackFile(`processes:\n  ${body}\n`);
    const run = start(['up', '-f', file]);
    const exit = await exitOf(run);
    expect(exit.code).toBe(2);
    expect(run.stderr.text).toMatch(message);
    expect(run.stderr.text.split('\n').length).toBe(2);
    expect(run.stdout.text).toBe('');
  });

  it('an unknown --exit-with, an unknown name to start, a missing file', async () => {
    const file = stackFile('processes:\n  a: sleep 60\n');
    for (const [args, message] of [
      [['--exit-with', 'tests'], /--exit-with: "tests" is not a process of .*graceful\.yml \(a\)/],
      [['b'], /graceful up: "b" is not a process of .*graceful\.yml \(a\)/],
    ] as const) {
      const run = start(['up', '-f', file, ...args]);
      expect((await exitOf(run)).code).toBe(2);
      expect(run.stderr.text).toMatch(message);
    }
    const missing = start(['up', '-f', join(tempDir(), 'nope.yml')]);
    expect((await exitOf(missing)).code).toBe(2);
    expect(missing.stderr.text).toMatch(/^graceful: --file .*nope\.yml: no such file; see graceful up --help\n$/);
  });
});

describe('signals', () => {
  it('a signal graceful passes on (SIGHUP, SIGUSR1) reaches every process, once', async () => {
    const file = stackFile(`
processes:
  a:
    command: [${JSON.stringify(node)}, ${JSON.stringify(fixture('catch-signals.js'))}]
  b:
    command: [${JSON.stringify(node)}, ${JSON.stringify(fixture('catch-signals.js'))}]
    depends_on: [a]
`);
    const run = start(['up', '-f', file]);
    // Both with their handlers installed (b waits only for a's start, not its readiness).
    await run.stdout.waitFor(/^a +\| ready \d+$/m, 'a to run', 20_000);
    await run.stdout.waitFor(/^b +\| ready \d+$/m, 'b to run', 20_000);
    run.signal('SIGHUP');
    await run.stdout.waitFor(/^a +\| signal SIGHUP$/m, 'a to get SIGHUP');
    await run.stdout.waitFor(/^b +\| signal SIGHUP$/m, 'b to get SIGHUP');
    run.signal('SIGUSR1');
    await run.stdout.waitFor(/^a +\| signal SIGUSR1$/m, 'a to get SIGUSR1');
    await run.stdout.waitFor(/^b +\| signal SIGUSR1$/m, 'b to get SIGUSR1');
    expect(run.stdout.count(/^\w +\| signal SIGHUP$/m)).toBe(2);
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stdout.count(/^\w +\| signal SIGHUP$/m)).toBe(2);
  });
});

describe('output', () => {
  it('each line with its name in front, aligned; stdout and stderr kept apart; every byte passes', async () => {
    const file = stackFile(`
processes:
  printer:
    command: [${JSON.stringify(node)}, -e, "for (let i = 0; i < 20000; i++) console.log('line ' + i); console.error('to stderr'); process.stdout.write('no newline at the end')"]
    on_exit: continue
  b:
    command: [${JSON.stringify(node)}, -e, "console.log('from b'); setTimeout(() => {}, 200)"]
    on_exit: continue
`);
    const run = start(['up', '-q', '-f', file]);
    const exit = await exitOf(run);
    expect(exit.code).toBe(0);
    const out = run.stdout.text.split('\n');
    const printer = out.filter((l) => l.startsWith('printer | ')).map((l) => l.slice('printer | '.length));
    expect(printer.slice(0, 20_000)).toEqual(Array.from({ length: 20_000 }, (_, i) => `line ${i}`));
    expect(printer[20_000]).toBe('no newline at the end');
    expect(out).toContain('b       | from b');
    expect(run.stdout.text).not.toContain('to stderr');
    expect(run.stderr.text).toContain('printer ! to stderr\n');
  });
});

describe('output, in bulk', () => {
  it('64 MB without a newline, to a reader that pauses, on a stdout someone made non-blocking: every byte arrives, in order, after the name; graceful stays small', async () => {
    const BYTES = 64 * 1024 * 1024;
    const file = stackFile(`
processes:
  big:
    command: [${JSON.stringify(node)}, ${JSON.stringify(fixture('prints-a-lot.js'))}, "${BYTES}"]
`);
    // O_NONBLOCK on the pipe graceful writes to, as a Node parent (npm) sets it on a stdout
    // it shares: a full pipe then answers EAGAIN, which must not lose a byte.
    const nonblock = 'import fcntl, os; fcntl.fcntl(1, fcntl.F_SETFL, fcntl.fcntl(1, fcntl.F_GETFL) | os.O_NONBLOCK)';
    const run = start([], { via: ['sh', '-c', `python3 -c '${nonblock}' && exec "$0" "$@"`, node, CLI, 'up', '-q', '-f', file], collectStdout: false });
    // A reader that stops for a moment, twice: the pipe fills.
    run.proc.stdout!.pause();
    setTimeout(() => run.proc.stdout!.resume(), 300);
    setTimeout(() => run.proc.stdout!.pause(), 600);
    setTimeout(() => run.proc.stdout!.resume(), 900);
    const hash = createHash('sha256');
    let received = 0;
    let head = Buffer.alloc(0);
    let last = -1;
    run.proc.stdout!.on('data', (chunk: Buffer) => {
      // The name goes in front once (one line, held and passed on in pieces); the rest is the
      // child's, then the newline the last line gets.
      if (head.length < 6) {
        head = Buffer.concat([head, chunk]);
        if (head.length < 6) return;
        chunk = head;
      }
      if (received === 0) {
        expect(chunk.subarray(0, 6).toString()).toBe('big | ');
        chunk = chunk.subarray(6);
      }
      if (chunk.length === 0) return;
      last = chunk[chunk.length - 1]!;
      hash.update(chunk);
      received += chunk.length;
    });
    let peakKb = 0;
    const sampler = setInterval(() => {
      try {
        peakKb = Math.max(peakKb, Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${run.pid}/status`, 'utf8'))![1]));
      } catch {
        // gone
      }
    }, 25);
    const exit = await exitOf(run, 60_000);
    clearInterval(sampler);
    expect(exit.code).toBe(0);
    expect(received).toBe(BYTES + 1);
    expect(last).toBe(0x0a);
    const expected = createHash('sha256');
    const block = Buffer.alloc(64 * 1024);
    for (let i = 0; i < block.length; i++) block[i] = 97 + (i % 26);
    for (let done = 0; done < BYTES; done += block.length) expected.update(block);
    expected.update('\n');
    expect(hash.digest('hex')).toBe(expected.digest('hex'));
    expect(peakKb).toBeLessThan(120 * 1024);
  }, 60_000);
});

describe('graceful check for a stack', () => {
  it('passes a stack that stops in order and in time', async () => {
    const { file } = await threeLevels();
    const run = start(['check', '-f', file]);
    const exit = await exitOf(run, 30_000);
    expect(run.stderr.text).toMatch(/ok +stopped-in-order +each process was asked to stop once its dependents were gone: api, then db, then kv/);
    expect(run.stderr.text).toMatch(/check passed: 4 checks, 3 processes/);
    expect(exit.code).toBe(0);
  });

  it('fails a stack whose dependency is gone while a process that uses it still runs (a pre-stop hook that stops it)', async () => {
    const pidFile = join(tempDir(), 'kv.pid');
    // kv writes its pid where api's hook finds it; the hook stops kv before api stops.
    const { file } = await threeLevels({
      kvCommand: (argv) => JSON.stringify(`echo $$ > ${pidFile}; exec ${argv.join(' ')}`),
      api: `    pre_stop: kill $(cat ${pidFile}); sleep 0.3`,
    });
    const run = start(['check', '-f', file]);
    const exit = await exitOf(run, 30_000);
    expect(run.stderr.text).toMatch(/FAIL +not-gone-before-dependents +kv was gone [\d.]+m?s before (db|api), which depends on it \(it ended on its own\)/);
    expect(exit.code).toBe(1);
  });

  it('fails a stack that does not come up, saying why', async () => {
    const file = stackFile(`
processes:
  a:
    command: [${JSON.stringify(node)}, ${JSON.stringify(fixture('exits-with.js'))}, "3"]
  b:
    command: [${JSON.stringify(node)}, ${JSON.stringify(fixture('drains-for.js'))}, "0"]
    depends_on: { a: started }
`);
    const run = start(['check', '-f', file]);
    const exit = await exitOf(run, 30_000);
    // (b may die of its SIGTERM if it had no handler yet: stopped-in-time may fail too.)
    expect(run.stderr.text).toMatch(/check failed: the stack did not come up \(a exited with code 3 after \d+m?s \(on_exit: stop-on-failure\)\); not-gone-before-dependents/);
    expect(exit.code).toBe(1);
  });

  it('fails a stack with a process that has to be killed', async () => {
    const { file } = await threeLevels({ api: '' });
    writeFileSync(file, `${readFileSync(file, 'utf8')}
  stuck:
    command: [${JSON.stringify(node)}, ${JSON.stringify(fixture('ignores-sigterm.js'))}]
    depends_on: [api]
    timeout: 500ms
`);
    const run = start(['up', '--check', '-f', file]);
    const exit = await exitOf(run, 30_000);
    expect(run.stderr.text).toMatch(/FAIL +stopped-in-time +stuck had to be killed after its 500ms grace period/);
    expect(exit.code).toBe(1);
  });
});


describe('on a terminal', () => {
  // graceful up under a 24x100 pseudo-terminal (script), keys typed as bytes: Ctrl+C is 0x03.
  function onTerminal(args: string[]): Run {
    const command = ['stty rows 24 cols 100;', 'exec', node, CLI, ...args].map((a, i) => (i < 2 ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
    return start([], { via: ['script', '-qfec', command, '/dev/null'], env: { NO_COLOR: undefined, TERM: 'xterm' } });
  }

  it('Ctrl+C twice: the first stops in order with a live area per process, the second kills what is left', async () => {
    const file = stackFile(`
processes:
  base:
    command: [${JSON.stringify(node)}, ${JSON.stringify(fixture('ignores-sigterm.js'))}]
  top:
    command: [${JSON.stringify(node)}, ${JSON.stringify(fixture('ignores-sigterm.js'))}]
    depends_on: [base]
`);
    const run = onTerminal(['up', '-f', file]);
    await run.stdout.waitFor(/top .*ready \d+/, 'top to run', 20_000);
    run.proc.stdin!.write('\x03');
    await pastEchoWindow(run.stdout, /top .*signal SIGINT/, 'top to get SIGINT');
    // The live area: the stack's header and a row per process.
    await run.stdout.waitFor(/stopping the stack \(SIGINT received\): .*Ctrl\+C again to force/, 'the live header');
    await run.stdout.waitFor(/top +SIGINT sent, \d+s left/, "top's countdown row");
    await run.stdout.waitFor(/base +running; stops after top/, "base's row");
    run.proc.stdin!.write('\x03');
    const exit = await exitOf(run);
    expect(exit.code).toBe(137);
    expect(run.stdout.text).toMatch(/SIGINT received again: killing what is left at once: base, top/);
    expect(run.stdout.text).toMatch(/top: \S*node .*ignores-sigterm\.js \(pid \d+\) was killed on request: SIGINT received, SIGINT sent at \+0ms, SIGKILL sent at \+[\d.]+m?s \(second Ctrl\+C\)/);
    expect(run.stdout.text).toMatch(/base: \S*node .*ignores-sigterm\.js \(pid \d+\) was killed on request: SIGINT received, SIGINT sent at \+0ms, SIGKILL sent at \+0ms \(second Ctrl\+C\)/);
    // Colour on a terminal, and the scroll region given back.
    expect(run.stdout.text).toContain('\x1b[r');
    expect(leftovers()).toEqual([]);
  });
});

// Issue 24: up runs what the file says, and names what the user wrote.
describe('what the file says', () => {
  it('a Procfile line with ; inside quotes runs its program directly: it gets SIGTERM and stops cleanly', async () => {
    const file = stackFile(`worker: /bin/sh -c "trap \\"echo worker TERM; exit 0\\" TERM; echo ready \\$\\$; while :; do sleep 1; done"\n`, 'Procfile');
    const run = start(['up', '-f', file]);
    await run.stdout.waitFor(/worker \| ready \d+/, 'the worker to start');
    run.signal('SIGTERM');
    const exit = await exitOf(run);
    expect(run.stdout.text).toContain('worker | worker TERM');
    expect(run.stderr.text).toMatch(/worker: sh -c .* \(pid \d+\) stopped cleanly: SIGTERM received, SIGTERM sent at \+0ms, exited with code 0/);
    expect(exit.code).toBe(0);
  });

  it("a readiness that times out names the file's own key, ready_timeout", async () => {
    const file = stackFile(`processes:\n  api:\n    command: node ${fixture('drains-for.js')} 10\n    ready: tcp:1\n    ready_timeout: 300ms\n`);
    const run = start(['up', '-f', file]);
    const exit = await exitOf(run);
    expect(run.stderr.text).toContain('graceful: api: not ready within 300ms (ready_timeout): stopping');
    expect(exit.code).toBe(124);
  });
});
