// graceful check: the draining server passes every check; each bad fixture fails exactly
// the check it violates, with a sentence that says what to fix.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitOf, fixture, freePort, readJson, start, tempDir, useHarness } from './harness.js';

useHarness();

const node = process.execPath;


interface CheckResult {
  code: number | null;
  stdout: string;
  stderr: string;
  report: any;
  failed: string[];
}

// Runs graceful check with `args`; returns its exit code, output, report and failed checks.
async function check(args: string[], command: string[]): Promise<CheckResult> {
  const report = join(tempDir(), 'check.json');
  const run = start(['check', '--report-file', report, ...args, '--', ...command]);
  const { code } = await exitOf(run, 20_000);
  const r = readJson(report);
  return { code, stdout: run.stdout.text, stderr: run.stderr.text, report: r, failed: r.checks.filter((c: any) => c.ok === false).map((c: any) => c.name) };
}

// The check line for `name` on stderr.
const line = (stderr: string, name: string) => stderr.split('\n').find((l) => new RegExp(`^\\s+(ok|FAIL|n/a|not run)\\s+${name}\\s`).test(l)) ?? '';

describe('graceful check', () => {
  it('the draining HTTP server passes every check, in-flight work and probe included', async () => {
    const port = await freePort();
    const junitFile = join(tempDir(), 'junit.xml');
    const base = `http://127.0.0.1:${port}`;
    const r = await check(
      ['--ready', `tcp:${port}`, '--inflight', `${base}/slow?ms=700&after=stop`, '--probe', `${base}/`, '--junit', junitFile],
      [node, fixture('http-server.js'), String(port)],
    );
    expect(r.failed).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.report).toMatchObject({ schema: 'graceful.check/v1', ok: true });
    expect(r.report.checks.map((c: any) => [c.name, c.ok])).toEqual([
      ['ready', true],
      ['launcher', null],
      ['handles-signal', true],
      ['inflight', true],
      ['new-work-refused', true],
      ['lb-lag', null],
      ['exited-in-time', true],
      ['exit-status', true],
      ['no-descendants-left', true],
      ['connections-closed', true],
      ['cleanup-order', true],
      ['files-closed', true],
      ['temp-clean', true],
      ['port-released', true],
      ['shutdown-time', true],
    ]);
    expect(line(r.stderr, 'inflight')).toMatch(/ok\s+inflight\s+10\/10 in-flight requests completed with 2xx/);
    // Every check is listed; the one not set up says so, by name, in the last line.
    expect(r.stderr).toMatch(/graceful: check passed: 13 checks, 1 not run \(lb-lag\)\n/);
    expect(r.report.notRun).toEqual(['lb-lag']);
    const xml = readFileSync(junitFile, 'utf8');
    expect(xml.match(/<testcase /g)).toHaveLength(15);
    expect(xml).toContain('failures="0"');
    expect(r.report.runs[0].report).toMatchObject({ schema: 'graceful.report/v1', verdict: 'clean' });
    const seen = r.report.runs[0].observations;
    expect(seen).toMatchObject({ disposition: 'caught', ports: [port], portsStillBound: [], tempLeft: [] });
    // The ten in-flight requests were open connections of the server when the stop began.
    expect(seen.tcpAtStop).toBeGreaterThanOrEqual(10);
    expect(seen.inflight.results).toHaveLength(10);
  });

  it('process.exit() on SIGTERM fails in-flight completion, and only that', async () => {
    const port = await freePort();
    // Requests it would answer in 10 minutes: the stop always finds them in flight, however
    // long graceful check takes to send it after them.
    const r = await check(['--ready', `tcp:${port}`, '--inflight', `http://127.0.0.1:${port}/slow?ms=600000`], [node, fixture('exits-on-term.js'), String(port)]);
    expect(r.code).toBe(1);
    expect(r.failed).toEqual(['inflight']);
    expect(line(r.stderr, 'inflight')).toMatch(/FAIL\s+inflight\s+0\/10 in-flight requests completed; 10 (ECONNRESET|socket hang up).*let running requests finish before exiting/);
    expect(r.stderr).toMatch(/graceful: check failed: inflight/);
  });

  it('no handler fails "handles the signal", in those words, and only that', async () => {
    const r = await check(['--after', '300ms'], [node, fixture('no-handler.js')]);
    expect(r.code).toBe(1);
    expect(r.failed).toEqual(['handles-signal']);
    expect(line(r.stderr, 'handles-signal')).toMatch(/FAIL\s+handles-signal\s+it does not handle SIGTERM: it died of it at once, mid-work .*; handle SIGTERM: stop taking work, finish it, exit 0/);
    expect(line(r.stderr, 'exit-status')).toMatch(/n\/a\s+exit-status\s+died of SIGTERM: see handles-signal/);
  });

  it('a program without any handler (not Node): the same failure, from its signal disposition', async () => {
    const r = await check(['--after', '200ms'], ['sleep', '60']);
    expect(r.failed).toEqual(['handles-signal']);
    expect(line(r.stderr, 'handles-signal')).toMatch(/it does not handle SIGTERM: it dies of it at once, mid-work \(as PID 1 it would ignore it until the SIGKILL\)/);
  });

  it('ignoring SIGTERM fails the grace period check, and only that', async () => {
    const r = await check(['--ready', 'log:^ready', '--timeout', '1s'], [node, fixture('ignores-sigterm.js')]);
    expect(r.code).toBe(1);
    expect(r.failed).toEqual(['exited-in-time']);
    expect(line(r.stderr, 'exited-in-time')).toMatch(/it had to be killed with SIGKILL at \+1(\.\d+)?s: find what holds the shutdown up/);
  });

  it('a temp file left behind fails temp-clean, and only that', async () => {
    const r = await check(['--ready', 'log:^ready'], [node, fixture('leaves-temp-file.js')]);
    expect(r.code).toBe(1);
    expect(r.failed).toEqual(['temp-clean']);
    expect(line(r.stderr, 'temp-clean')).toMatch(/left 1 file\(s\) in its TMPDIR: upload-\d+\.part: remove temporary files on shutdown/);
  });

  it('a worker that outlives its parent fails no-descendants-left, and only that', async () => {
    const r = await check(['--ready', 'log:^ready'], [node, fixture('leaves-grandchild.js')]);
    expect(r.code).toBe(1);
    expect(r.failed).toEqual(['no-descendants-left']);
    expect(line(r.stderr, 'no-descendants-left')).toMatch(/FAIL\s+no-descendants-left\s+(sh -c .*\(pid \d+\) outlived \S*node \S*leaves-grandchild\.js|\d processes outlived \S*node .*leaves-grandchild\.js: sh -c .*): under docker stop or Kubernetes the kernel kills (it|them) mid-work when the main process exits; stop your child processes and wait for them/);
  });

  it('serving new requests while draining fails new-work-refused, and only that', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const r = await check(['--ready', `tcp:${port}`, '--inflight', `${base}/slow?ms=1000&after=stop`, '--probe', `${base}/`], [node, fixture('accepts-while-draining.js'), String(port)]);
    expect(r.code).toBe(1);
    expect(r.failed).toEqual(['new-work-refused']);
    // Named by the process the audit saw listening on the probed port (where the audit runs).
    expect(line(r.stderr, 'new-work-refused')).toMatch(/new work was accepted (by node accepts-while-draining\.js \(pid \d+\) )?[\d.]+m?s after SIGTERM, while in-flight work was finishing: stop accepting first/);
  });

  it('a failure status fails exit-status, and only that', async () => {
    const r = await check(['--ready', 'log:^ready'], [node, fixture('drains-for.js'), '0', '3']);
    expect(r.failed).toEqual(['exit-status']);
    expect(line(r.stderr, 'exit-status')).toMatch(/exited with code 3 \(exit status 3\) after SIGTERM: a graceful stop exits 0/);
  });

  it('--max-shutdown: a slow shutdown fails shutdown-time, and only that', async () => {
    const r = await check(['--ready', 'log:^ready', '--max-shutdown', '200ms'], [node, fixture('drains-for.js'), '600']);
    expect(r.failed).toEqual(['shutdown-time']);
    expect(line(r.stderr, 'shutdown-time')).toMatch(/took [\d.]+m?s, over the 200ms budget \(--max-shutdown\)/);
  });

  it('a program that exits before the stop fails ready; nothing else applies', async () => {
    const r = await check(['--after', '2s'], [node, fixture('exits-with.js'), '0', '100']);
    expect(r.code).toBe(1);
    expect(r.failed).toEqual(['ready']);
    expect(r.report.checks.filter((c: any) => c.ok === null)).toHaveLength(14);
    expect(new Set(r.report.checks.slice(1).map((c: any) => c.status))).toEqual(new Set(['not run']));
  });

  it('--repeat 3 runs it three times and reports min/median/max shutdown times', async () => {
    const r = await check(['--ready', 'log:^ready', '--repeat', '3'], [node, fixture('drains-for.js'), '100']);
    expect(r.code).toBe(0);
    expect(r.report.runs).toHaveLength(3);
    const { min, median, max } = r.report.shutdownMs;
    expect(min).toBeGreaterThanOrEqual(100);
    expect(min).toBeLessThanOrEqual(median);
    expect(median).toBeLessThanOrEqual(max);
    expect(r.stderr).toMatch(/check passed: 10 checks, 3 not run \(inflight, new-work-refused, lb-lag\), 3 runs; shutdown min\/median\/max [\d.]+m?s \/ [\d.]+m?s \/ [\d.]+m?s/);
  });

  it.each([
    [['--inflight', 'http://example.com/slow'], /--inflight: example\.com is not this machine \(loopback\); add --allow-remote/],
    [['--inflight-count', '0', '--inflight', 'http://127.0.0.1:1/'], /--inflight-count: expected a whole number from 1 to 1000, got "0"/],
    [['--probe', 'ftp://127.0.0.1/'], /--probe: only http:\/\/ URLs are supported/],
    [['--repeat', 'x'], /--repeat: expected a whole number/],
  ])('rejects %j in one line, status 2', async (args, message) => {
    const run = start(['check', ...args, '--', 'true']);
    expect((await exitOf(run)).code).toBe(2);
    expect(run.stderr.text.trimEnd().split('\n')).toEqual([expect.stringMatching(message)]);
  });
});

describe('an interrupted check (a CI timeout, a cancelled job)', () => {
  it('SIGTERM while it waits for ready: the child is stopped, nothing passes, the reports say aborted', async () => {
    const port = await freePort();
    const dead = await freePort(); // nothing listens there: never ready
    const dir = tempDir();
    const [report, junitFile] = [join(dir, 'check.json'), join(dir, 'junit.xml')];
    const run = start(['check', '--ready', `tcp:${dead}`, '--junit', junitFile, '--report-file', report, '--', node, fixture('http-server.js'), String(port)]);
    await run.ready();
    run.signal('SIGTERM');
    const exit = await exitOf(run, 20_000);
    expect(exit.code).toBe(143);
    await run.stdout.waitFor(/signal SIGTERM/, 'the child to be asked to stop');
    expect(run.stdout.text).toMatch(/drained/);
    expect(line(run.stderr.text, 'ready')).toMatch(/^\s+not run\s+ready\s+not ready when the check was aborted by SIGTERM at \+\d/);
    expect(run.stderr.text).not.toMatch(/^\s+ok\s/m);
    expect(run.stderr.text).toMatch(/graceful: check aborted by SIGTERM at \+[\d.]+m?s, before its stop: no check was completed; exit status 143/);
    const r = readJson(report);
    expect(r).toMatchObject({ ok: false, aborted: { signal: 'SIGTERM' } });
    expect(r.aborted.afterMs).toBeGreaterThan(0);
    expect(r.checks.every((c: any) => c.ok !== true)).toBe(true);
    expect(new Set(r.checks.map((c: any) => c.status))).toEqual(new Set(['not run']));
    const xml = readFileSync(junitFile, 'utf8');
    expect(xml).toMatch(/<testsuites [^>]*errors="1"/);
    expect(xml).toMatch(/<error message="check aborted by SIGTERM at \+/);
    expect(xml).not.toMatch(/<system-out>/); // no check passed
  });

  it('Ctrl+C (SIGINT) during --after: 130, and "ready" is not claimed', async () => {
    const report = join(tempDir(), 'check.json');
    const run = start(['check', '--after', '20s', '--report-file', report, '--', node, fixture('drains-for.js'), '100']);
    await run.ready();
    run.signal('SIGINT');
    expect((await exitOf(run, 20_000)).code).toBe(130);
    expect(run.stdout.count(/signal SIGINT/)).toBe(1);
    expect(line(run.stderr.text, 'ready')).toMatch(/not run\s+ready\s+the check was aborted by SIGINT at \+[\d.]+m?s, before --after 20s/);
    expect(readJson(report)).toMatchObject({ ok: false, aborted: { signal: 'SIGINT' } });
  });

  it('an abort during --repeat ends the repeats: no further run starts', async () => {
    const report = join(tempDir(), 'check.json');
    const run = start(['check', '--after', '20s', '--repeat', '3', '--report-file', report, '--', node, fixture('drains-for.js'), '50']);
    await run.ready();
    run.signal('SIGTERM');
    expect((await exitOf(run, 20_000)).code).toBe(143);
    expect(run.stdout.count(/ready \d+/)).toBe(1);
    expect(readJson(report).runs).toHaveLength(1);
  });
});

describe('check sees what the platform will do', () => {
  it('by default the stop signal goes to the main process only, as docker stop sends it: a child left running fails', async () => {
    const r = await check(['--ready', 'log:^ready'], [node, fixture('has-child.js')]);
    const child = Number(/tree child (\d+)/.exec(r.stdout)![1]);
    expect(r.failed).toEqual(['no-descendants-left']);
    expect(line(r.stderr, 'no-descendants-left')).toMatch(new RegExp(`FAIL\\s+no-descendants-left\\s+sleep 1000 \\(pid ${child}\\) outlived \\S*node \\S*has-child\\.js: under docker stop or Kubernetes the kernel kills it mid-work when the main process exits; stop your child processes and wait for them before exiting`));
    expect(r.stderr).toMatch(/check of \S*node \S*has-child\.js, stop signal to the main process only \(as docker stop and Kubernetes send it; --kill-mode mixed\)/);
    expect(r.report.runs[0].report.policy.killMode).toBe('mixed');
  });

  it('the twin that stops its child and waits for it passes', async () => {
    const r = await check(['--ready', 'log:^ready'], [node, fixture('has-child.js'), '--stop-child']);
    expect(r.failed).toEqual([]);
    expect(line(r.stderr, 'no-descendants-left')).toMatch(/ok\s+no-descendants-left\s+no process outlived the main process/);
  });

  it('--preset systemd: control-group semantics, said in the checklist', async () => {
    const r = await check(['--ready', 'log:^ready', '--preset', 'systemd'], [node, fixture('has-child.js')]);
    expect(r.failed).toEqual([]);
    expect(r.stderr).toMatch(/check of \S*node \S*has-child\.js, stop signal to every process of its tree \(as systemd sends it to a control group; --kill-mode group\)/);
  });
});
