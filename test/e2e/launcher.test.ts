// Launchers: npm start runs `sh -c "node server.js"`; on SIGTERM npm passes it to the shell,
// which dies without passing it on, and npm exits at once. graceful tells the truth about
// both layers: it judges the program that did the work, and says what the launcher did.
import { get } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, exitOf, fixture, freePort, readJson, start, tempDir, useHarness, waitGone } from './harness.js';

useHarness();

const app = fixture('npm-app');
// npm's own update check would reach for the network; its notices are not under test.
const npmEnv = (port: number) => ({ PORT: String(port), npm_config_update_notifier: 'false', npm_config_fund: 'false' });

// A GET that resolves with the status, or the error code.
function request(url: string): Promise<number | string> {
  return new Promise((resolve) => {
    get(url, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    }).on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

const serverPid = (text: string) => Number(/ready (\d+) port/.exec(text)![1]);

describe('graceful run -- npm start', () => {
  it('judges the server behind npm: it drained and exited 0, so graceful exits 0, and says what npm did', async () => {
    const port = await freePort();
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--report-file', report, '--', 'npm', 'start'], { cwd: app, env: npmEnv(port) });
    await run.stdout.waitFor(/ready \d+ port/, 'the server behind npm to listen');
    const server = serverPid(run.stdout.text);
    const slow = request(`http://127.0.0.1:${port}/slow?ms=1500`);
    await run.stdout.waitFor(/got \/slow/, 'the request to reach the server');
    run.signal('SIGTERM');
    const exit = await exitOf(run);
    expect(await slow).toBe(200);
    expect(exit.code, run.stderr.text).toBe(0);
    expect(alive(server)).toBe(false);
    const summary = run.stderr.text.split('\n').find((l) => l.includes('exit status'))!;
    expect(summary).toMatch(new RegExp(`^graceful: node \\.\\./http-server\\.js \\(pid ${server}\\) stopped cleanly: SIGTERM received, SIGTERM sent at \\+[\\d.]+m?s, exited with code 0 at \\+[\\d.]+s; its launcher npm start \\(pid ${run.pid === 0 ? '' : '\\d+'}\\) died of SIGTERM at \\+[\\d.]+m?s without waiting for it: in a container, PID 1 exiting kills the program mid-request: run the program directly .*put \`exec\` before the command in the package.json script, or keep graceful as PID 1; exit status 0 \\[clean\\]$`));
    const r = readJson(report);
    expect(r).toMatchObject({ verdict: 'clean', exitStatus: 0, exit: { signal: 'SIGTERM' }, app: { pid: server, command: 'node ../http-server.js', exit: { code: 0, signal: null, known: true }, outlivedLauncher: true } });
    expect(r.exit.shutdownMs).toBeGreaterThanOrEqual(1200);
    expect(r.app.exitAfterMs).toBe(r.exit.shutdownMs);
  });

  it('--preset supervisord (kill mode process): the server is left running, and graceful says so', async () => {
    const port = await freePort();
    const run = start(['run', '--preset', 'supervisord', '--', 'npm', 'start'], { cwd: app, env: npmEnv(port) });
    await run.stdout.waitFor(/ready \d+ port/, 'the server behind npm to listen');
    const server = serverPid(run.stdout.text);
    run.signal('SIGTERM');
    const exit = await exitOf(run);
    try {
      expect(exit.code).toBe(143);
      expect(alive(server)).toBe(true);
      expect(run.stderr.text).toMatch(new RegExp(`warning: left running: node \\.\\./http-server\\.js \\(pid ${server}\\)`));
    } finally {
      process.kill(server, 'SIGKILL');
      await waitGone([server]);
    }
  });
});

describe('graceful check -- npm start', () => {
  const check = async (script: string[], extra: string[] = []) => {
    const port = await freePort();
    const report = join(tempDir(), 'check.json');
    const base = `http://127.0.0.1:${port}`;
    const run = start(['check', '--ready', `tcp:${port}`, '--inflight', `${base}/slow?ms=800&after=stop`, '--probe', `${base}/`, '--report-file', report, ...extra, '--', ...script], { cwd: app, env: npmEnv(port) });
    const exit = await exitOf(run, 25_000);
    const r = readJson(report);
    const line = (name: string) => run.stderr.text.split('\n').find((l) => new RegExp(`^\\s+(ok|FAIL|n/a|not run)\\s+${name}\\s`).test(l)) ?? '';
    return { exit, r, line, run, failed: r.checks.filter((c: any) => c.ok === false).map((c: any) => c.name) };
  };

  it('fails the launcher, by name, with the fix; judges the server itself, timed to the end of its work', async () => {
    const { exit, r, line, failed, run } = await check(['npm', 'start']);
    expect(exit.code).toBe(1);
    expect(failed, run.stderr.text).toEqual(['launcher']);
    expect(line('launcher')).toMatch(/FAIL\s+launcher\s+npm start \(pid \d+\) died of SIGTERM at \+[\d.]+m?s, before node \.\.\/http-server\.js \(pid \d+\), which it started, had stopped, without passing SIGTERM on to it \(graceful sent it itself, to judge the program\): in a container, PID 1 exiting kills the program mid-request/);
    expect(line('handles-signal')).toMatch(/ok\s+handles-signal\s+catches SIGTERM/);
    expect(line('inflight')).toMatch(/ok\s+inflight\s+10\/10/);
    expect(line('new-work-refused')).toMatch(/ok\s+new-work-refused\s+\d+ new requests refused/);
    expect(line('no-descendants-left')).toMatch(/ok\s+no-descendants-left/);
    // Timed to the end of the server's work, not to npm's death: the server got SIGTERM from
    // graceful once npm was gone, so it ends no sooner than npm, nor than its own drain as
    // its trace saw it (SIGTERM received to exit, on the same monotonic clock: the requests
    // are answered 800 ms after it, whenever check sends its stop).
    const report = r.runs[0].report;
    const shutdown = report.exit.shutdownMs;
    expect(report.app.exitAfterMs).toBe(shutdown);
    const npm = /npm start \(pid \d+\) died of SIGTERM at \+([\d.]+)(m?s)/.exec(line('launcher'))!;
    expect(shutdown).toBeGreaterThanOrEqual(Number(npm[1]) * (npm[2] === 's' ? 1000 : 1));
    const { trace } = r.runs[0].observations;
    expect(shutdown).toBeGreaterThanOrEqual(Math.floor(trace.exit.at - trace.signals[0].at));
    expect(line('exited-in-time')).toMatch(new RegExp(`ok\\s+exited-in-time\\s+exited ${shutdown >= 1000 ? '[\\d.]+s' : `${shutdown}ms`} after SIGTERM`));
  });

  it('the twin whose script execs the server passes, the launcher check included', async () => {
    const { exit, line, failed } = await check(['npm', 'run', 'start:exec']);
    expect(failed).toEqual([]);
    expect(exit.code).toBe(0);
    expect(line('launcher')).toMatch(/ok\s+launcher\s+npm run start:exec \(pid \d+\) (passed SIGTERM on and waited for node \.\.\/http-server\.js|started no separate program)/);
  });

  it('sh -c without exec: the shell is the launcher, with the shell fix', async () => {
    const { line, failed } = await check(['sh', '-c', 'node ../http-server.js']);
    expect(failed).toEqual(['launcher']);
    expect(line('launcher')).toMatch(/FAIL\s+launcher\s+sh -c 'node \.\.\/http-server\.js' \(pid \d+\) died of SIGTERM at .* put `exec` before the command \(sh -c 'exec node server\.js'\)/);
  });
});
