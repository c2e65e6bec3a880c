// --stop-delay auto (issue 23): the stop signal waits until the load balancer has stopped
// sending work, as the kernel's socket table shows it (probes/traffic.ts), not for a guessed
// time. A client plays the load balancer that has not heard of the stop yet: it keeps sending
// for a while after the SIGTERM, over a kept-alive connection or on new ones, then stops.
// The figures asserted are graceful's own (its report), against what the client did.
import { spawn, spawnSync } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { exitOf, freePort, GRACEFUL, readJson, ROOT, start, tempDir, useHarness } from './harness.js';

useHarness();

// One GET; resolves with its status (0: no answer).
function get(port: number, agent: Agent | false): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

async function serve(extra: string[] = [], env: Record<string, string> = {}) {
  const report = join(tempDir(), 'report.json');
  const run = start(['run', '--stop-delay', 'auto', '--timeout', '20s', '--report-file', report, ...extra, '--', 'node', 'fixtures/http-server.js', '0'], { env });
  const m = await run.stdout.waitFor(/ready \d+ port (\d+)/, 'the server to listen');
  return { run, report, port: Number(m[1]) };
}

// Sends a request every `everyMs` from now until `forMs` after `from`; each one's status.
async function keepSending(port: number, agent: Agent | false, from: number, forMs: number, everyMs = 50): Promise<number[]> {
  const statuses: Promise<number>[] = [];
  while (performance.now() - from < forMs) {
    statuses.push(get(port, agent));
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return Promise.all(statuses);
}

describe('--stop-delay auto', () => {
  it.each([
    ['a kept-alive connection (a load balancer reusing it)', () => new Agent({ keepAlive: true, maxSockets: 1 })],
    ['a new connection per request', () => false as const],
  ])('on %s: the signal goes a quiet second after the last request, and every request is answered', async (_, agentOf) => {
    const { run, report, port } = await serve();
    const agent = agentOf();
    expect(await get(port, agent)).toBe(200);
    const sigterm = run.signal('SIGTERM');
    const statuses = await keepSending(port, agent, sigterm, 1500);
    expect((await exitOf(run)).code).toBe(0);
    if (agent) agent.destroy();
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const r = readJson(report);
    const { traffic, signalSentAfterMs } = r.stop;
    expect(traffic.watched).toBe(true);
    // The requests after the SIGTERM were seen: each one on a kept-alive connection (its data
    // segments counted); of new connections, those the table showed (one that opens and
    // closes between two readings is missed: a lower bound).
    expect(traffic.arrivals).toBeGreaterThanOrEqual(Math.floor(statuses.length / 2));
    // The last one came about 1.5 s after it, as the client stopped sending then.
    expect(traffic.lastArrivalAfterMs).toBeGreaterThan(1200);
    // And the stop signal a quiet second after it (the watch reads the table every 100 ms).
    expect(signalSentAfterMs).toBeGreaterThanOrEqual(traffic.lastArrivalAfterMs + 1000);
    expect(signalSentAfterMs).toBeLessThan(traffic.lastArrivalAfterMs + 1000 + 600);
    expect(run.stderr.text).toContain('waiting for the load balancer before signalling (--stop-delay auto): until no new work for 1s, at most 5s');
    expect(run.stderr.text).toMatch(new RegExp(`${traffic.arrivals} new connections or requests after the stop request, the last at \\+\\d`));
  });

  it('with no work coming, the signal goes after the quiet second; the report says none came', async () => {
    const { run, report } = await serve();
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    const r = readJson(report);
    expect(r.stop.traffic).toEqual({ arrivals: 0, lastArrivalAfterMs: null, watched: true });
    expect(r.stop.signalSentAfterMs).toBeGreaterThanOrEqual(1000);
    expect(r.stop.signalSentAfterMs).toBeLessThan(1600);
    expect(run.stderr.text).toContain('no new work after the stop request');
  });

  it("never later than the cap, however long the work keeps coming (half the grace period at most)", async () => {
    const { run, report, port } = await serve(['--timeout', '2s']);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sigterm = run.signal('SIGTERM');
    const sending = keepSending(port, agent, sigterm, 2500);
    expect((await exitOf(run)).code).toBe(0);
    await sending;
    agent.destroy();
    const r = readJson(report);
    expect(r.policy.stopDelayAuto).toEqual({ floorMs: 0, quietMs: 1000, capMs: 1000 });
    expect(r.stop.signalSentAfterMs).toBeGreaterThanOrEqual(1000);
    expect(r.stop.signalSentAfterMs).toBeLessThan(1500);
  });

  it("on Kubernetes, not before the platform's floor", async () => {
    const { run, report } = await serve([], { KUBERNETES_SERVICE_HOST: '10.0.0.1' });
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    const r = readJson(report);
    expect(r.policy.stopDelayAuto).toEqual({ floorMs: 2000, quietMs: 1000, capMs: 10_000 });
    expect(r.stop.signalSentAfterMs).toBeGreaterThanOrEqual(2000);
  });
});

// A load balancer that keeps no pool and closes first (haproxy's http-server-close, a curl
// per request): each connection opens, carries its request and is gone within a millisecond
// or two, between two readings of the table. In a network namespace of the program's own (a
// pod's), the namespace's count of accepted connections sees every one of them.
const netns = spawnSync('unshare', ['--net', 'sh', '-c', 'ip link set lo up'], { encoding: 'utf8' });
const noNetns = netns.status !== 0 ? `unshare --net or ip failed here (${(netns.stderr || netns.error?.message || '').trim()}): it needs root and iproute2` : null;
if (noNetns) console.warn(`skipping the --stop-delay auto test in a private network namespace: ${noNetns}`);

describe.skipIf(noNetns !== null)('--stop-delay auto in a network namespace of its own (a pod)', () => {
  it('counts the connections that came and went between two readings, and waits a quiet second after the last', async () => {
    const report = join(tempDir(), 'report.json');
    const run = start([], {
      via: ['unshare', '--net', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', ...GRACEFUL, 'run', '--stop-delay', 'auto', '--timeout', '20s', '--report-file', report, '--', 'node', 'fixtures/http-server.js', '0'],
    });
    const port = Number((await run.stdout.waitFor(/ready \d+ port (\d+)/, 'the server to listen'))[1]);
    // The client, in the same namespace: a new connection every 100 ms for 1.5 s, each closed
    // by the client as soon as its answer is in (the server keeps it alive otherwise).
    const client = spawn(
      'nsenter',
      [
        `--net=/proc/${run.pid}/ns/net`,
        '--',
        process.execPath,
        '-e',
        `const net = require('node:net');
         const results = [];
         const one = () => new Promise((resolve) => {
           const s = net.connect(${port}, '127.0.0.1', () => s.write('GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'));
           let got = '';
           s.on('data', (d) => { got += d; if (got.includes('ok')) { s.destroy(); resolve(got.split(' ')[1]); } });
           s.on('error', (e) => resolve(e.code));
         });
         (async () => {
           const t0 = Date.now();
           const pending = [];
           while (Date.now() - t0 < 1500) { pending.push(one()); await new Promise((r) => setTimeout(r, 100)); }
           console.log(JSON.stringify(await Promise.all(pending)));
         })();`,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    client.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    const clientDone = new Promise((resolve) => client.on('close', resolve));
    run.signal('SIGTERM');
    await clientDone;
    expect((await exitOf(run)).code).toBe(0);
    const statuses: string[] = JSON.parse(out);
    // Every request answered: the stop signal waited for the client to stop.
    expect(statuses.filter((s) => s !== '200')).toEqual([]);
    const { traffic, signalSentAfterMs } = readJson(report).stop;
    // Each connection was counted (the client's first ones may precede the watch's start by
    // a few ms, hence not all), though almost none was open at a reading.
    expect(traffic.arrivals).toBeGreaterThanOrEqual(statuses.length - 2);
    expect(traffic.lastArrivalAfterMs).toBeGreaterThan(1200);
    expect(signalSentAfterMs).toBeGreaterThanOrEqual(traffic.lastArrivalAfterMs + 1000);
  });
});

// graceful check --lb-lag (issue 23 item 2): the check plays the load balancer that has not
// heard of the stop: a program that refuses work the instant SIGTERM comes fails it, and the
// same program under --stop-delay auto passes.
describe('graceful check --lb-lag', () => {
  it('fails a server that stops accepting at SIGTERM, naming the first refused request', async () => {
    // The probe URL needs the port the server takes: a fixed free one.
    const port = await freePort();
    const run = start(['check', '--ready', `tcp:${port}`, '--lb-lag', '1500ms', '--probe', `http://127.0.0.1:${port}/`, '--', 'node', 'fixtures/http-server.js', String(port)]);
    const exit = await exitOf(run, 30_000);
    expect(exit.code).toBe(1);
    expect(run.stderr.text).toMatch(/FAIL\s+lb-lag\s+\d+\/\d+ requests during the load balancer's 1\.50?s of lag failed; the first at \+\d+ms after the stop request, (ECONNREFUSED|ECONNRESET) on a (new|kept-alive) connection: keep serving until the load balancer stops sending/);
  });

  it('passes the same server when graceful holds SIGTERM until the load balancer stops (--stop-delay auto)', async () => {
    const port = await freePort();
    const run = start(['check', '--ready', `tcp:${port}`, '--stop-delay', 'auto', '--lb-lag', '1500ms', '--probe', `http://127.0.0.1:${port}/`, '--', 'node', 'fixtures/http-server.js', String(port)]);
    const exit = await exitOf(run, 30_000);
    expect(run.stderr.text).toMatch(/ok\s+lb-lag\s+(\d+)\/\1 requests during the load balancer's 1\.50?s of lag answered/);
    expect(exit.code).toBe(0);
  });

  it('--lb-lag needs --probe, the address the load balancer sends to', async () => {
    const run = start(['check', '--lb-lag', '2s', '--', 'true']);
    expect((await exitOf(run)).code).toBe(2);
    expect(run.stderr.text).toBe('graceful: --lb-lag: needs --probe URL: where the load balancer sends its requests; see graceful check --help\n');
  });
});
