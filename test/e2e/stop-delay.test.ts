// --stop-delay auto (issue 23): the stop signal waits until the load balancer has stopped
// sending work, as the kernel's socket table shows it (probes/traffic.ts), not for a guessed
// time. A client plays the load balancer that has not heard of the stop yet: it keeps sending
// for a while after the SIGTERM, over a kept-alive connection or on new ones, then stops.
// The figures asserted are graceful's own (its report), against what the client did.
import { spawn, spawnSync } from 'node:child_process';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
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

// One GET on a connection of its own that the server closes first: the request asks for
// Connection: close, and the client sends its FIN only once the server's has come (net's
// allowHalfOpen is off: 'end' answers it). The server's side of the connection then waits
// in TIME_WAIT on the server's port, where the table shows it for a minute. Which side
// closes first decides it: Node's http client with agent:false races the server to close,
// and where it wins (seen on a fresh CI machine) nothing stays on the server's port.
function getServerCloses(port: number): Promise<number> {
  return new Promise((resolve) => {
    let got = '';
    const socket = connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (got += chunk));
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0)));
    socket.on('error', () => resolve(0));
  });
}

async function serve(extra: string[] = [], env: Record<string, string> = {}) {
  const report = join(tempDir(), 'report.json');
  const run = start(['run', '--stop-delay', 'auto', '--timeout', '20s', '--report-file', report, ...extra, '--', 'node', 'fixtures/http-server.js', '0'], { env });
  // A ceiling, not a wait: with both cores busy, a start once took more than 10 s.
  const m = await run.stdout.waitFor(/ready \d+ port (\d+)/, 'the server to listen', 30_000).catch((error: Error) => {
    throw new Error(`${error.message}\ngraceful said:\n${run.stderr.text}`);
  });
  return { run, report, port: Number(m[1]) };
}

// Sends a request every `everyMs` from now until `forMs` after `from`: each one's status, and
// when it was sent (ms after `from`).
async function keepSending(send: () => Promise<number>, from: number, forMs: number, everyMs = 50): Promise<{ status: number; sentAfterMs: number }[]> {
  const sent: Promise<{ status: number; sentAfterMs: number }>[] = [];
  while (performance.now() - from < forMs) {
    const sentAfterMs = performance.now() - from;
    sent.push(send().then((status) => ({ status, sentAfterMs })));
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return Promise.all(sent);
}

// The watch's first reading comes some ms after the SIGTERM (more on a loaded machine), and a
// connection gone by then carries no time to tell it from work before the stop request: the
// requests sent from this long after the SIGTERM on must each have been counted.
const WATCH_BEGUN_MS = 500;

describe('--stop-delay auto', () => {
  // Two ways a load balancer's requests reach the program that the host's own network
  // namespace (shared with other programs: the namespace's count of accepted connections is
  // not the program's) shows: each request as new data on a kept-alive connection, and each
  // on a connection the server closes first (its TIME_WAIT socket stays in the table). A
  // connection the client closes first leaves nothing on the server's port once it is gone:
  // that case is tested in a private network namespace, below.
  it.each([
    ['a kept-alive connection (a load balancer reusing it): each request is new data on a known socket', () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      return { send: (port: number) => get(port, agent), done: () => agent.destroy() };
    }],
    ['a new connection per request, closed by the server first (Connection: close): each leaves a TIME_WAIT socket on its port', () => ({ send: getServerCloses, done: () => {} })],
  ])('on %s: the signal goes a quiet second after the last request, and every request is answered', async (_, clientOf) => {
    const { run, report, port } = await serve();
    const client = clientOf();
    expect(await client.send(port)).toBe(200);
    const sigterm = run.signal('SIGTERM');
    const sent = await keepSending(() => client.send(port), sigterm, 1500);
    expect((await exitOf(run)).code).toBe(0);
    client.done();
    // Every request answered: had the watch missed them, the signal would have gone a second
    // after the SIGTERM and the last half second's requests met a closed port.
    expect(sent.filter((s) => s.status !== 200)).toEqual([]);
    const r = readJson(report);
    const { traffic, signalSentAfterMs } = r.stop;
    expect(traffic.watched).toBe(true);
    // Each request after the SIGTERM was counted, save those that may have come before the
    // watch's first reading.
    const what = `graceful's watch ${JSON.stringify(traffic)}; the client sent ${sent.length} requests at ${sent.map((s) => Math.round(s.sentAfterMs)).join(', ')} ms`;
    expect(traffic.arrivals, what).toBeGreaterThanOrEqual(sent.filter((s) => s.sentAfterMs >= WATCH_BEGUN_MS).length);
    expect(traffic.arrivals, what).toBeLessThanOrEqual(sent.length);
    // The last one came about 1.5 s after it, as the client stopped sending then.
    expect(traffic.lastArrivalAfterMs, what).toBeGreaterThan(1200);
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
    const sending = keepSending(() => get(port, agent), sigterm, 2500);
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
// or two, between two readings of the table, and nothing of it stays on the server's port
// (the TIME_WAIT socket is the client's). The table cannot see it; in a network namespace of
// the program's own (a pod's), the namespace's count of accepted connections does.
const netns = spawnSync('unshare', ['--net', 'sh', '-c', 'ip link set lo up'], { encoding: 'utf8' });
const noNetns = netns.status !== 0 ? `unshare --net or ip failed here (${(netns.stderr || netns.error?.message || '').trim()}): it needs root and iproute2` : null;
if (noNetns) console.warn(`skipping the --stop-delay auto test in a private network namespace: ${noNetns}`);

describe.skipIf(noNetns !== null)('--stop-delay auto in a network namespace of its own (a pod)', () => {
  it('counts the connections the client closes first, come and gone between two readings, and waits a quiet second after the last', async () => {
    const report = join(tempDir(), 'report.json');
    const run = start([], {
      via: ['unshare', '--net', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', ...GRACEFUL, 'run', '--stop-delay', 'auto', '--timeout', '20s', '--report-file', report, '--', 'node', 'fixtures/http-server.js', '0'],
    });
    const port = Number((await run.stdout.waitFor(/ready \d+ port (\d+)/, 'the server to listen', 30_000))[1]);
    // The client, in the same namespace: a new connection every 100 ms for 1.5 s, each closed
    // by the client as soon as its answer is in (the server would keep it alive): the
    // client's FIN goes first, and the server's socket is gone once it has answered it.
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
           const sentAt = Date.now();
           const s = net.connect(${port}, '127.0.0.1', () => s.write('GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'));
           let got = '';
           s.on('data', (d) => { got += d; if (got.includes('ok')) { s.destroy(); resolve([got.split(' ')[1], sentAt]); } });
           s.on('error', (e) => resolve([e.code, sentAt]));
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
    const sigterm = Date.now();
    await clientDone;
    expect((await exitOf(run)).code).toBe(0);
    const sent = (JSON.parse(out) as [string, number][]).map(([status, at]) => ({ status, sentAfterMs: at - sigterm }));
    // Every request answered: the stop signal waited for the client to stop. Had the watch
    // missed the connections (the table alone), it would have gone a second after the SIGTERM.
    expect(sent.filter((s) => s.status !== '200')).toEqual([]);
    const { traffic, signalSentAfterMs } = readJson(report).stop;
    // Each connection was counted, though almost none was open at a reading (save those
    // that may have come before the watch's first reading).
    const what = `graceful's watch ${JSON.stringify(traffic)}; the client sent ${sent.length} requests at ${sent.map((s) => s.sentAfterMs).join(', ')} ms`;
    expect(traffic.arrivals, what).toBeGreaterThanOrEqual(sent.filter((s) => s.sentAfterMs >= WATCH_BEGUN_MS).length);
    expect(traffic.arrivals, what).toBeLessThanOrEqual(sent.length);
    expect(traffic.lastArrivalAfterMs, what).toBeGreaterThan(1200);
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
