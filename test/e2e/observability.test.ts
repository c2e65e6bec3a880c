// What a fleet's operators read (issue 27, docs/observability.md): the JSON log, GET /metrics
// checked by Prometheus' own promtool and scraped by a real Prometheus server, and the OTLP
// traces decoded with the protocol's official definitions. Every figure is pinned against
// the JSON report of the same run: one timeline.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitOf, fixture, shownPath, shellLine, freePort, readJson, start, tempDir, useHarness, waitGone } from './harness.js';
import { startReceiver } from './otlp.js';
import { human } from '../../src/report/human.js';

useHarness();

const node = process.execPath;
const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => spawnSync(p, ['--version']).status === 0) ?? null;
const PROMETHEUS = ['/usr/bin/prometheus', '/usr/local/bin/prometheus'].find((p) => spawnSync(p, ['--version']).status === 0) ?? null;
if (!PROMTOOL || !PROMETHEUS) console.log('observability.test.ts: no promtool or prometheus (Debian package prometheus; .ci/run installs it): the metrics tests are skipped');

// GET http://127.0.0.1:port/path: status and text, or null if nothing answers.
function get(port: number, path: string): Promise<{ status: number; text: string } | null> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', () => resolve(null));
    req.end();
  });
}

async function until<T>(probe: () => Promise<T | null | false | undefined>, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown = null;
  for (;;) {
    const v = await probe();
    if (v) return v;
    last = v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms}ms waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// promtool check metrics on a scrape: its verdict and what it said.
function promtool(text: string): { status: number | null; said: string } {
  const r = spawnSync(PROMTOOL!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: r.status, said: `${r.stdout}${r.stderr}` };
}

// The value of one sample of a scrape (name with its labels, as written), or null.
function sample(text: string, series: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : null;
}

describe('--log-format json', () => {
  it('every line is one JSON object; the summary holds the figures of the report, the kill its reason', async () => {
    const report = join(tempDir(), 'report.json');
    const run = start(['run', '--log-format', 'json', '--timeout', '400ms', '--report-file', report, '--', node, fixture('ignores-sigterm.js')]);
    const pid = await run.ready();
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(137);
    const lines = run.stderr.text.trimEnd().split('\n').map((l) => JSON.parse(l));
    for (const l of lines) {
      expect(Object.keys(l).slice(0, 4)).toEqual(['time', 'level', 'event', 'program']);
      expect(new Date(l.time).toISOString()).toBe(l.time);
      expect(l.program).toMatch(new RegExp(String.raw`^\S*node ${shownPath(String.raw`ignores-sigterm\.js`)}$`));
    }
    expect(lines.map((l) => l.event)).toEqual(['stop-requested', 'signal-sent', 'kill-sent', 'summary']);
    const r = readJson(report);
    const [requested, sent, kill, summary] = lines;
    expect(requested).toMatchObject({ level: 'info', pid, trigger: 'SIGTERM', graceMs: 400 });
    expect(sent).toMatchObject({ signal: 'SIGTERM', target: 'tree', sentAfterMs: r.stop.signalSentAfterMs, killSignal: 'SIGKILL' });
    expect(kill).toMatchObject({ level: 'warn', signal: 'SIGKILL', reason: 'deadline', sentAfterMs: r.stop.killSentAfterMs, graceMs: 400 });
    expect(summary).toMatchObject({
      level: 'info',
      verdict: 'escalated',
      exitStatus: 137,
      pid,
      trigger: 'SIGTERM',
      exitSignal: 'SIGKILL',
      killSignal: 'SIGKILL',
      killReason: 'deadline',
      killSentAfterMs: r.stop.killSentAfterMs,
      shutdownMs: r.exit.shutdownMs,
      graceMs: r.stop.graceMs,
    });
    expect(summary.msg).toMatch(/had to be killed: .* \[escalated\]$/);
    expect(summary.msg).toContain(`died of SIGKILL at +${human(r.exit.shutdownMs)}`);
  });

  it('a usage error is a JSON line too (flag or GRACEFUL_LOG_FORMAT), with status 2', async () => {
    for (const [args, env] of [[['run', '--log-format', 'json', '--timeout', '10x', '--', 'true'], {}], [['run', '--timeout', '10x', '--', 'true'], { GRACEFUL_LOG_FORMAT: 'json' }]] as const) {
      const run = start([...args], { env });
      expect((await exitOf(run)).code).toBe(2);
      const line = JSON.parse(run.stderr.text);
      expect(line).toMatchObject({ level: 'error', event: 'usage-error', program: null });
      expect(line.msg).toMatch(/^--timeout: expected a duration like 30s.*got "10x"; see graceful run --help$/);
    }
  });
});

describe.skipIf(!PROMTOOL || !PROMETHEUS)('GET /metrics', () => {
  it('restarts by reason and runs by verdict, as promtool accepts them; --final-scrape waits for the last read', async () => {
    const port = await freePort();
    const run = start(['run', '--health-port', String(port), '--final-scrape', '20s', '--restart', 'on-failure', '--restart-delay', '10ms', '--max-restarts', '2', '--min-uptime', '5s', '--', node, fixture('exits-with.js'), '3', '20']);
    await run.stderr.waitFor(/giving up/, 'giving up');
    const scrape = await get(port, '/metrics');
    expect(scrape!.status).toBe(200);
    const check = promtool(scrape!.text);
    expect(check.said).toBe('');
    expect(check.status).toBe(0);
    // Three runs, each crashed (code 3); two restarts; the third run ended it.
    const restarts = run.stderr.count(/restarting in/);
    expect(restarts).toBe(2);
    expect(sample(scrape!.text, 'graceful_restarts_total{reason="crashed"}')).toBe(2);
    expect(sample(scrape!.text, 'graceful_exits_total{verdict="crashed"}')).toBe(3);
    expect(sample(scrape!.text, 'graceful_children_running')).toBe(0);
    expect(scrape!.text).toContain('# TYPE graceful_shutdown_duration_seconds histogram');
    // The read above was the final scrape: graceful exits with the last run's status.
    expect((await exitOf(run)).code).toBe(3);
  });

  it('a real Prometheus scrapes it and answers, after the stop that ended graceful, how it went', async () => {
    const dir = tempDir();
    const port = await freePort();
    const promPort = await freePort();
    const report = join(dir, 'report.json');
    writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n  - job_name: graceful\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`);
    const run = start(['run', '--health-port', String(port), '--final-scrape', '10s', '--timeout', '300ms', '--report-file', report, '--', node, fixture('ignores-sigterm.js')]);
    await run.ready();
    let prom: ChildProcess | null = null;
    try {
      prom = spawn(PROMETHEUS!, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let promErr = '';
      prom.stderr!.setEncoding('utf8').on('data', (c: string) => (promErr += c));
      const query = async (q: string) => {
        const r = await get(promPort, `/api/v1/query?query=${encodeURIComponent(q)}`);
        if (r?.status !== 200) return null;
        const body = JSON.parse(r.text);
        return body.data.result as { metric: Record<string, string>; value: [number, string] }[];
      };
      // Scraped while the program runs.
      await until(async () => (await query('graceful_children_running == 1'))?.length, `Prometheus to scrape 127.0.0.1:${port} (its stderr: ${promErr})`, 30_000);
      run.signal('SIGTERM');
      expect((await exitOf(run)).code).toBe(137);
      const r = readJson(report);
      // The target is gone (its series are stale now): the last hour's samples still tell.
      const stops = await until(async () => (await query('last_over_time(graceful_stops_total[1h])'))?.filter((s) => s.value[1] !== '0'), 'the stop in Prometheus');
      expect(stops.map((s) => [s.metric.trigger, s.metric.verdict, s.value[1]])).toEqual([['SIGTERM', 'escalated', '1']]);
      const kills = await query('last_over_time(graceful_kill_signals_total[1h])');
      expect(kills!.map((s) => [s.metric.reason, s.value[1]])).toEqual([['deadline', '1']]);
      // The slowest stops of the last hour (docs/observability.md), in seconds: the report's figure.
      const slowest = await query('topk(5, max_over_time(graceful_last_shutdown_duration_seconds[1h]))');
      expect(slowest!.map((s) => Number(s.value[1]))).toEqual([r.exit.shutdownMs / 1000]);
    } finally {
      if (prom?.pid) {
        prom.kill('SIGTERM');
        await waitGone([prom.pid], 10_000).catch(() => prom!.kill('SIGKILL'));
      }
    }
  });

  it('graceful up labels each figure by program, and promtool accepts the whole', async () => {
    const dir = tempDir();
    const port = await freePort();
    writeFileSync(join(dir, 'graceful.yml'), `processes:\n  web:\n    command: ${shellLine([node, fixture('drains-for.js')])} 50\n  worker:\n    command: ${shellLine([node, fixture('exits-with.js')])} 1 10\n    restart: on-failure\n    restart_delay: 20ms\n    max_restarts: 1000\n`);
    const run = start(['up', '--health-port', String(port), '--log-format', 'json'], { cwd: dir });
    const scrape = await until(async () => {
      const s = await get(port, '/metrics');
      return s && (sample(s.text, 'graceful_restarts_total{program="worker",reason="crashed"}') ?? 0) >= 2 ? s : null;
    }, `two restarts of worker (stderr: ${run.stderr.text.slice(-500)})`);
    expect(promtool(scrape.text)).toEqual({ status: 0, said: '' });
    expect(sample(scrape.text, 'graceful_children_running{program="web"}')).toBe(1);
    expect(sample(scrape.text, 'graceful_exits_total{program="worker",verdict="crashed"}')).toBeGreaterThanOrEqual(2);
    run.signal('SIGTERM');
    await exitOf(run);
    const lines = run.stderr.text.trimEnd().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    expect(lines.find((l) => l.event === 'summary' && l.program === 'web')).toMatchObject({ verdict: 'clean', trigger: 'SIGTERM', exitStatus: 0 });
    expect(lines.filter((l) => l.event === 'restarting').every((l) => l.program === 'worker' && l.reason === 'crashed')).toBe(true);
    expect(lines.at(-1)).toMatchObject({ event: 'stack-ended', program: null, cause: 'signal' });
  });
});

describe('traces (OTLP/HTTP JSON)', () => {
  it("a run and each phase of its stop, the app's own phases inside it, and TRACEPARENT for the program", async () => {
    const receiver = await startReceiver();
    try {
      const report = join(tempDir(), 'report.json');
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.url}/`, OTEL_SERVICE_NAME: 'shop-api', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test,team=web%20ops' };
      const run = start(['run', '--ready', 'app', '--timeout', '20s', '--stop-delay', '100ms', '--report-file', report, '--', node, fixture('app-http.js')], { env });
      const [, port] = (await run.stdout.waitFor(/ready \d+ port (\d+)/, 'ready'))!;
      // A request in flight when the stop comes: the drain has one to wait for.
      const slow = get(Number(port), '/slow?ms=300');
      await run.stdout.waitFor(/got \/slow/, 'the slow request');
      run.signal('SIGTERM');
      expect((await slow)?.status).toBe(200);
      expect((await exitOf(run)).code).toBe(0);
      const [exported] = await receiver.waitFor(1);
      expect(receiver.rejected).toEqual([]);
      expect(exported!.resource).toMatchObject({ 'service.name': 'shop-api', 'deployment.environment': 'test', team: 'web ops' });
      expect(exported!.scope.name).toBe('graceful');
      const spans = exported!.spans;
      const byName = (name: string) => spans.find((s) => s.name === name)!;
      const r = readJson(report);
      const root = byName('graceful run');
      expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
      expect(root.parentSpanId).toBe('');
      expect(root.attrs).toMatchObject({ 'process.pid': r.pid, 'graceful.verdict': 'clean', 'graceful.exit_status': 0 });
      const stop = byName('stop');
      expect(stop.parentSpanId).toBe(root.spanId);
      expect(stop.attrs).toMatchObject({ 'graceful.trigger': 'SIGTERM', 'graceful.grace_ms': 20_000, 'graceful.shutdown_ms': r.exit.shutdownMs });
      // The stop span lasts the shutdown, to the millisecond of the report.
      expect(Math.round(stop.endMs - stop.startMs)).toBe(r.exit.shutdownMs);
      const delay = byName('stop delay');
      const drain = byName('drain');
      expect([delay.parentSpanId, drain.parentSpanId]).toEqual([stop.spanId, stop.spanId]);
      expect(Math.round(delay.endMs - delay.startMs)).toBe(r.stop.signalSentAfterMs);
      expect(Math.round(drain.startMs - stop.startMs)).toBe(r.stop.signalSentAfterMs);
      expect(spans.some((s) => s.name === 'kill')).toBe(false);
      // The app's phases (graceful-supervisor/app), as children of the stop.
      const app = byName('app shutdown');
      expect(app.parentSpanId).toBe(stop.spanId);
      expect(byName('app drain')).toMatchObject({ parentSpanId: app.spanId, attrs: { 'graceful.app.inflight': 1, 'graceful.app.completed': 1, 'graceful.app.cut': 0 } });
      expect(spans.filter((s) => s.name.startsWith('app close ')).map((s) => [s.name, s.parentSpanId, s.attrs['graceful.app.outcome']])).toEqual([
        ['app close cache', app.spanId, 'closed'],
        ['app close db', app.spanId, 'closed'],
      ]);
      for (const s of spans) expect(s.status.code).toBe(0);
    } finally {
      await receiver.close();
    }
  });

  it('the program sees TRACEPARENT naming its run span, in the trace graceful was started in', async () => {
    const receiver = await startReceiver();
    try {
      const parent = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
      // The handler before the ready line: a SIGTERM sent on "ready" must find it installed.
      const program = 'process.on("SIGTERM", () => process.exit(0)); console.log("ready " + process.pid + " " + process.env.TRACEPARENT); setInterval(() => {}, 1e9)';
      const run = start(['run', '--', node, '-e', program], { env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`, TRACEPARENT: `00-${parent.traceId}-${parent.spanId}-01` } });
      const [, seen] = (await run.stdout.waitFor(/ready \d+ (\S+)/, 'ready'))!;
      run.signal('SIGTERM');
      expect((await exitOf(run)).code).toBe(0);
      const [exported] = await receiver.waitFor(1);
      const root = exported!.spans.find((s) => s.name === 'graceful run')!;
      expect(root.traceId).toBe(parent.traceId);
      expect(root.parentSpanId).toBe(parent.spanId);
      expect(seen).toBe(`00-${parent.traceId}-${root.spanId}-01`);
    } finally {
      await receiver.close();
    }
  });

  it('an endpoint that does not answer: one warning, and the run ends as it would', async () => {
    const port = await freePort();
    const run = start(['run', '--', node, fixture('exits-with.js'), '0'], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` } });
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stderr.text).toMatch(new RegExp(`^graceful: warning: traces: could not export to http://127\\.0\\.0\\.1:${port}/v1/traces \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\); the run goes on without them$`, 'm'));
  });
});
