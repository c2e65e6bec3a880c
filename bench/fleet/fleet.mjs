// One cell of the fleet table: three replicas behind haproxy, an open-loop load with and
// without keep-alive, and N rolling deploys of all three, played in one platform's order
// with one PID 1 in the containers. Every request sent is accounted for: answered, or
// refused, reset, timed out or 5xx, told apart by the client's error and haproxy's log.
//
// A rolling deploy, per replica: start the new one in the pair's free slot, wait for its
// /readyz (the platform's readiness probe), put it in the load balancer, wait until haproxy
// sees it UP, then stop the old one in the platform's order (platforms.mjs) and move on
// without waiting for the old one to be gone (Kubernetes' maxSurge 1, maxUnavailable 0).
// A slot is reused only once its previous replica has exited.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseLogLine, startHaproxy } from './haproxy.mjs';
import { own } from './owned.mjs';
import { DEFAULT_PARAMS, PLATFORMS } from './platforms.mjs';
import { addressOf, killContainer, removeContainer, runContainer, signalEveryProcess, stopContainer, waitContainer } from './podman.mjs';
import { SUPERVISORS } from './supervisors.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
// --net pod: the ports every replica listens on in its own network namespace.
const POD_PORT = 8080;
const POD_HEALTH_PORT = 9000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A small seeded generator (mulberry32): the same seed draws the same lags.
export function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// n distinct free ports on loopback, all held until all are found.
async function freePorts(n) {
  const servers = [];
  for (let i = 0; i < n; i++) {
    const server = createServer();
    await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    servers.push(server);
  }
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

async function waitReady(url, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (error) {
      last = error.cause?.code ?? error.message;
    }
    await sleep(25);
  }
  throw new Error(`${what}: ${url} did not answer 200 within ${timeoutMs} ms (last: ${last})`);
}

// Packets this machine's kernel dropped so far, whoever they were for: conntrack's drops
// (its table full: every new connection on the machine, loopback included, loses its SYN
// and the client waits for its connect timeout) and listen queue overflows. A cell during
// which they grew may have losses that are the machine's, not the deploy's; the results
// say so. (Seen here: other test runs on the machine filled the 262144-entry table with
// connections in TIME_WAIT, and haproxy's connects timed out: 503 "sC".)
export function machineDrops() {
  let conntrack = null;
  try {
    const [header, ...cpus] = readFileSync('/proc/net/stat/nf_conntrack', 'utf8').trim().split('\n');
    const at = header.trim().split(/\s+/).indexOf('drop');
    conntrack = cpus.reduce((sum, line) => sum + parseInt(line.trim().split(/\s+/)[at], 16), 0);
  } catch {
    // no conntrack on this machine: nothing it can drop
  }
  let listen = null;
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    const i = lines.findIndex((l) => l.startsWith('TcpExt:'));
    const names = lines[i].split(/\s+/);
    const values = lines[i + 1].split(/\s+/);
    listen = Number(values[names.indexOf('ListenDrops')]);
  } catch {
    // not Linux
  }
  return { conntrack, listen };
}

// graceful's summary line and whatever PID 1 printed, from the container's log file
// (k8s-file: "<time> <stream> <F|P> <text>").
function containerOutput(logPath) {
  try {
    return readFileSync(logPath, 'utf8').split('\n').map((l) => l.replace(/^\S+ (stdout|stderr) [FP] /, '')).filter(Boolean);
  } catch {
    return [];
  }
}

// The load generator, a process of its own so that its sends keep time whatever the
// harness is doing.
function startGenerator({ port, rate, slowRate, slowMs, keepAlive, id, timeoutMs }) {
  const args = [join(HERE, 'load.mjs'), '--url', `http://127.0.0.1:${port}`, '--rate', String(rate), '--keep-alive', keepAlive ? 'on' : 'off', '--slow-rate', String(slowRate), '--slow-ms', String(slowMs), '--id', id, '--timeout', String(timeoutMs)];
  const proc = own.process(spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] }), `load generator ${id}`);
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (c) => (out += c));
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  return {
    async ready() {
      for (let i = 0; i < 400 && !out.includes('ready'); i++) await sleep(25);
      if (!out.includes('ready')) throw new Error(`load generator ${id} did not start`);
    },
    async stop() {
      proc.stdin.end('stop\n');
      await exited;
      const last = out.trim().split('\n').pop();
      try {
        return JSON.parse(last);
      } catch {
        throw new Error(`load generator ${id} ended without its result (last line: ${last})`);
      }
    },
  };
}

/**
 * Sorts each failed request into one kind, with haproxy's view of it where the client saw
 * an answer: refused (the replica refused the connection: 503 "SC", or the client could not
 * connect), reset (the replica closed or reset it before a whole answer: 502 "SH"/"SD",
 * or the client's connection was reset), timed out (no answer in time: the client's
 * timeout or 504 "sH"/"sD"), 5xx (any other 5xx: the app's own, or haproxy's 503 with no
 * server at all). `other` collects what fits none (it should stay 0).
 */
export function classify(generator, haproxyLines) {
  const byId = new Map();
  for (const line of haproxyLines) {
    const entry = parseLogLine(line);
    if (entry) byId.set(entry.id, entry);
  }
  const counts = { sent: generator.sent, refused: 0, reset: 0, timedOut: 0, fiveXX: 0, other: 0 };
  const losses = [];
  for (const [id, sentMs, endMs, kind, detail] of generator.failures) {
    const lb = byId.get(id);
    let as;
    if (kind === '5xx') {
      if (lb?.term === 'SC' && lb.server !== '<NOSRV>') as = 'refused';
      else if (lb?.term === 'SH' || lb?.term === 'SD') as = 'reset';
      else if (lb?.term?.[0] === 's') as = 'timedOut';
      else as = 'fiveXX';
    } else if (kind === 'refused') as = 'refused';
    else if (kind === 'reset') as = 'reset';
    else if (kind === 'timeout') as = 'timedOut';
    else as = 'other';
    counts[as]++;
    losses.push({ id, as, at: generator.startedAt + sentMs, durationMs: endMs - sentMs, detail, server: lb?.server, term: lb?.term, status: lb?.status });
  }
  counts.lost = counts.refused + counts.reset + counts.timedOut + counts.fiveXX + counts.other;
  // Failed requests haproxy has no line for: never reached it, or its line was dropped.
  counts.unlogged = losses.filter((l) => l.server === undefined).length;
  return { counts, losses };
}

// graceful's JSON report of one replica, as far as the harness uses it: when graceful got the
// stop request (epoch ms), when it sent the stop signal, and what --stop-delay auto saw
// (stop.traffic). null under another PID 1, or if the report is missing.
function gracefulReport(path) {
  if (!existsSync(path)) return null;
  try {
    const r = JSON.parse(readFileSync(path, 'utf8'));
    if (!r.stop) return { requestedAt: null, verdict: r.verdict };
    return { requestedAt: Date.parse(r.stop.requestedAt), signalSentAfterMs: r.stop.signalSentAfterMs, traffic: r.stop.traffic, stopDelayAuto: r.policy?.stopDelayAuto ?? null, verdict: r.verdict };
  } catch (error) {
    return { error: error.message };
  }
}

/**
 * What haproxy's log says it sent to `slot` from `from` (epoch ms) until `until`: how many
 * requests reached the replica (those it connected for and sent), and when the last one
 * left haproxy, in ms after `from`.
 */
export function sentFrom(entries, slot, from, until) {
  const sent = entries.filter((e) => e.server === slot && e.sentAt !== null && e.sentAt >= from && e.sentAt <= until);
  return { requests: sent.length, lastAfterMs: sent.length ? Math.max(...sent.map((e) => e.sentAt)) - from : null };
}

// The first three losses of each kind, with haproxy's view of them: what a reader of the
// results needs to tell what a 5xx was.
function examplesOf(losses) {
  const out = {};
  for (const loss of losses) if ((out[loss.as] ??= []).length < 3) out[loss.as].push(loss);
  return out;
}

/**
 * Runs one cell. options: root (the built root), platform, supervisor, app ('node' or
 * 'python'), rollouts (0: the accuracy run, `idleS` seconds of load and no deploy), rate
 * (requests/s per keep-alive mode), slowRate, slowMs, lb ('probe' or 'endpoints'),
 * serverClose (haproxy keeps no connection to a replica), net ('host': every replica in the
 * host's network namespace, on loopback; 'pod': each in one of its own), seed, params (platforms' knobs),
 * gracefulArgs (what graceful gets besides --health-port, --ready and --report-file), appEnv
 * (the app's environment besides PORT), log (a line of progress).
 */
export async function runCell(options) {
  const { root, platform: platformName, supervisor, app, rollouts, rate = 100, slowRate = 2, slowMs = 1000, lb: lbMode = 'probe', serverClose = false, net = 'host', seed = 1, idleS = 10, gracefulArgs = [], appEnv = {}, log = () => {} } = options;
  const params = { ...DEFAULT_PARAMS, ...options.params };
  const platform = PLATFORMS[platformName];
  const rand = random(seed);
  const work = own.dir(mkdtempSync(join(os.tmpdir(), 'graceful-fleet-')));
  const runId = `${process.pid}-${Math.floor(rand() * 1e6)}`;
  const ports = await freePorts(13);
  const slots = [];
  for (let i = 0; i < 3; i++) {
    for (const side of ['a', 'b']) {
      // --net pod: every replica in a network namespace of its own, on the same ports, as
      // pods are; host: each on its own loopback ports.
      const port = net === 'pod' ? POD_PORT : ports[1 + slots.length * 2];
      const healthPort = net === 'pod' ? POD_HEALTH_PORT : ports[2 + slots.length * 2];
      slots.push({ name: `r${i}${side}`, pair: i, port, healthPort, checkPort: SUPERVISORS[supervisor].checksGraceful ? healthPort : port });
    }
  }
  log(`  haproxy's files and the containers' logs in ${work}`);
  // graceful's JSON reports, one per replica, written in the container's /reports.
  const reports = join(work, 'reports');
  mkdirSync(reports);
  const lb = await startHaproxy({ dir: work, port: ports[0], slots, lb: lbMode, serverClose });
  let seq = 0;
  const stops = []; // what each stop did
  const live = new Map(); // slot name -> replica

  async function startReplica(slot) {
    const name = own.container(`fleet-${runId}-${slot.name}-${seq++}`);
    const logPath = join(work, `${name}.log`);
    const pod = net === 'pod';
    const argv = SUPERVISORS[supervisor].argv({ app, port: slot.port, healthPort: slot.healthPort, healthHost: pod ? '0.0.0.0' : null, gracefulArgs, report: `/reports/${name}.json` });
    const env = { PORT: slot.port, ...(pod ? { HOST: '0.0.0.0' } : {}), ...appEnv };
    await runContainer({ name, root, argv, env, stopSignal: platform.signal, stopTimeout: platform.deadlineS(params), logPath, volumes: { '/reports': reports }, network: pod ? 'bridge' : 'host' });
    // Where haproxy reaches it: its own address on podman's bridge (a pod's IP), or loopback.
    const address = pod ? await addressOf(name) : '127.0.0.1';
    if (pod) await lb.address(slot.name, address, slot.port);
    const replica = {
      name,
      slot,
      startedAt: Date.now(),
      stop: (timeoutS) => stopContainer(name, timeoutS),
      signalEveryProcess: (signal) => signalEveryProcess(name, signal),
      kill: (signal) => killContainer(name, signal),
      async waitExit(timeoutS) {
        return Promise.race([waitContainer(name, timeoutS + 5).then(() => true), sleep(timeoutS * 1000).then(() => false)]);
      },
    };
    live.set(slot.name, replica);
    // The platform's readiness probe, then the replica goes into the load balancer.
    await waitReady(`http://${address}:${slot.checkPort}/readyz`, 30_000, `replica ${name}`);
    await lb.ready(slot.name);
    await lb.waitUp(slot.name);
    return replica;
  }

  // Stops `replica` in the platform's order; resolves once it has exited and is removed.
  async function stopReplica(replica) {
    const lag = Math.round(rand() * params.lagMs);
    const record = { slot: replica.slot.name, lagMs: lag, startedAt: Date.now() };
    stops.push(record);
    const slotLb = { maint: () => lb.maint(replica.slot.name), drain: () => lb.drain(replica.slot.name) };
    await platform.stop({ replica, lb: slotLb, lag, params });
    record.exitCode = await waitContainer(replica.name, 60);
    record.exitedAt = Date.now();
    const output = containerOutput(join(work, `${replica.name}.log`));
    record.summary = output.filter((l) => l.startsWith('graceful: ')).pop() ?? output.pop() ?? '';
    record.graceful = gracefulReport(join(reports, `${replica.name}.json`));
    await removeContainer(replica.name);
    own.disown(replica.name);
    live.delete(replica.slot.name);
  }

  const dropsBefore = machineDrops();
  const rolloutWindows = [];
  const generators = [];
  const pending = new Map(); // pair -> the stop of its old replica
  let failure;
  try {
    const firstSlots = slots.filter((s) => s.name.endsWith('a'));
    for (const slot of firstSlots) await startReplica(slot);
    log(`  3 replicas up (${firstSlots.map((s) => s.port).join(', ')}); haproxy on ${lb.port}`);
    for (const [id, keepAlive] of [['k', true], ['n', false]]) {
      generators.push(startGenerator({ port: lb.port, rate, slowRate, slowMs, keepAlive, id, timeoutMs: 20_000 }));
    }
    await Promise.all(generators.map((g) => g.ready()));
    await sleep(1000); // the pools fill up before anything is stopped

    if (rollouts === 0) await sleep(idleS * 1000);
    for (let r = 0; r < rollouts; r++) {
      const window = { start: Date.now() };
      for (let pair = 0; pair < 3; pair++) {
        const old = [...live.values()].find((x) => x.slot.pair === pair);
        const next = slots.find((s) => s.pair === pair && s !== old.slot);
        await pending.get(pair);
        if (failure) throw failure;
        await startReplica(next);
        // Not awaited here: the next replica starts while this one stops. A failure is
        // kept and thrown at the next await.
        pending.set(pair, stopReplica(old).catch((error) => void (failure ??= error)));
      }
      await Promise.all(pending.values());
      if (failure) throw failure;
      window.end = Date.now();
      rolloutWindows.push(window);
      log(`  rollout ${r + 1}/${rollouts}: ${((window.end - window.start) / 1000).toFixed(1)} s`);
    }
    await sleep(1000);
  } catch (error) {
    failure ??= error;
  }
  // The load stops first, then the replicas (out of the load balancer first), then haproxy.
  const results = [];
  for (const g of generators) results.push(await g.stop().catch((e) => (failure ??= e)));
  for (const replica of live.values()) await lb.maint(replica.slot.name).catch(() => {});
  await Promise.all([...live.values()].map((r) => removeContainer(r.name).then(() => own.disown(r.name))));
  await Promise.all(pending.values()); // after a failure: the stops under way, failing fast now
  const droppedLogs = await lb.droppedLogs().catch(() => null);
  await lb.stop();
  const dropsAfter = machineDrops();
  const machine = {
    conntrackDrops: dropsAfter.conntrack === null ? null : dropsAfter.conntrack - dropsBefore.conntrack,
    listenDrops: dropsAfter.listen === null ? null : dropsAfter.listen - dropsBefore.listen,
    haproxyDroppedLogs: droppedLogs,
  };
  rmSync(work, { recursive: true, force: true });
  own.release(work);
  if (failure) throw failure;

  // How long the load balancer kept sending new requests to each replica after its stop
  // began: the propagation time a stop delay must cover (and `--stop-delay auto` watches).
  const entries = lb.log.map(parseLogLine).filter(Boolean);
  for (const stop of stops) {
    const after = entries.filter((e) => e.server === stop.slot && e.routedAt >= stop.startedAt && e.routedAt <= stop.exitedAt);
    stop.requestsAfterStop = after.length;
    stop.lastRequestAfterStopMs = after.length ? Math.max(...after.map((e) => e.routedAt)) - stop.startedAt : null;
    // What graceful's traffic watch saw beside what haproxy says it sent to the replica from
    // the instant graceful got the stop request (stop.requestedAt in its report).
    if (stop.graceful?.requestedAt) stop.lbFromRequest = sentFrom(entries, stop.slot, stop.graceful.requestedAt, stop.exitedAt);
  }
  const lastRequest = stops.map((s) => s.lastRequestAfterStopMs ?? 0);

  const cells = {};
  for (const result of results) {
    const { counts, losses } = classify(result, lb.log);
    const lossyRollouts = rolloutWindows.filter((w) => losses.some((l) => l.at >= w.start && l.at <= w.end)).length;
    cells[result.keepAlive ? 'on' : 'off'] = { ...counts, lossyRollouts, maxLagMs: result.maxLagMs, lateSends: result.lateSends, skipped: result.skipped, lastRequestAfterStopMs: lastRequest.length ? Math.max(...lastRequest) : null, examples: examplesOf(losses) };
  }
  return { platform: platformName, supervisor, app, lb: lbMode, serverClose, net, rollouts, seed, params, gracefulArgs, appEnv, cells, machine, stops, rolloutMs: rolloutWindows.map((w) => w.end - w.start) };
}
