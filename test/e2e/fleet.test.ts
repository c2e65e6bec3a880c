// A fleet deploy loses nothing (issue 23): the short version of `npm run bench -- fleet`.
// Three replicas in podman containers (runc), graceful's standalone executable as PID 1,
// behind a real haproxy (retries 0, no redispatch, http-reuse always, health checks on
// graceful's /readyz), an open-loop load with and without keep-alive plus slow requests,
// and rolling deploys in Kubernetes' order (SIGTERM, the load balancer told 0 to 5 s
// later). graceful with its preset (whose stop delay is auto: it waits until the load
// balancer has stopped sending) loses no request, and what its report says came after the
// stop request agrees with haproxy's log; a bare node or python3 as PID 1, measured the
// same way, loses some (or the harness measures nothing); with no deploy at all, nothing is
// lost (the harness's own accuracy). Behind a load balancer that keeps no pool and follows
// only the platform's removal, the replica in a network namespace of its own (a pod's), and
// on Heroku with an app on the library, nothing is lost either. Nothing is left: no container, no haproxy, no generator,
// nothing under the temporary directory.
//
// Runs when GRACEFUL_BIN names the standalone executable (.ci/run's second pass) and podman,
// runc and haproxy work here (root); otherwise it says why it is skipped.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BINARY, ROOT, tempDir, useHarness, readJson } from './harness.js';

useHarness();

const PODMAN = ['podman', '--runtime', '/usr/sbin/runc', '--cgroup-manager', 'cgroupfs'];
const missing = ['podman', 'haproxy'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
const why = !BINARY
  ? 'GRACEFUL_BIN is not set (npm run build:binary, then GRACEFUL_BIN=dist/graceful-linux-<arch>; .ci/run does)'
  : process.getuid?.() !== 0
    ? 'podman with --rootfs and runc needs root here'
    : missing.length
      ? `${missing.join(', ')} not installed (apt-get install haproxy podman runc; .ci/run does)`
      : !existsSync('/usr/sbin/runc')
        ? 'runc is not installed (/usr/sbin/runc)'
        : null;
if (why) console.warn(`skipping the fleet deploy tests (test/e2e/fleet.test.ts): ${why}`);

interface Cell {
  sent: number;
  refused: number;
  reset: number;
  timedOut: number;
  fiveXX: number;
  other: number;
  lost: number;
  maxLagMs: number;
  skipped: number;
  examples: Record<string, unknown[]>;
}
interface Result {
  platform: string;
  supervisor: string;
  app: string;
  rollouts: number;
  cells: Record<'on' | 'off', Cell>;
  stops: {
    slot: string;
    lagMs: number;
    exitCode: number;
    summary: string;
    /** graceful's report: when it got the stop request, sent the signal, and what its traffic watch saw. */
    graceful: { requestedAt: number; signalSentAfterMs: number; traffic: { arrivals: number; lastArrivalAfterMs: number | null; watched: boolean } | null } | null;
    /** haproxy's log from graceful's stop request on: the requests it sent that replica, the last one's time. */
    lbFromRequest?: { requests: number; lastAfterMs: number | null };
  }[];
  machine: { conntrackDrops: number | null; listenDrops: number | null; haproxyDroppedLogs: number | null };
}

const CEILING_MS = 240_000;

// Runs the fleet bench with `args`; its results, and what it left behind.
async function fleet(args: string[]): Promise<{ results: Result[]; stderr: string; pid: number }> {
  const out = join(tempDir(), 'fleet.md');
  const proc = spawn(process.execPath, [join(ROOT, 'bench/fleet/run.mjs'), '--graceful', BINARY!, '--seed', '23', '--out', out, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  proc.stdout.resume();
  const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
  expect(code, `npm run bench -- fleet ${args.join(' ')} failed:\n${stderr}`).toBe(0);
  // Nothing left: the containers of this run (named fleet-<its pid>-...), the directories it
  // said it made under the temporary directory (the root, each cell's haproxy files).
  const names = spawnSync(PODMAN[0]!, [...PODMAN.slice(1), 'ps', '--all', '--format', '{{.Names}}'], { encoding: 'utf8' }).stdout;
  expect(names.split('\n').filter((n) => n.startsWith(`fleet-${proc.pid}-`)), 'containers left by the run').toEqual([]);
  const made = [...stderr.matchAll(/ in (\/\S+graceful-fleet-[\w-]+)$/gm)].map((m) => m[1]!);
  expect(made.length, `the directories the run made, from its output:\n${stderr}`).toBeGreaterThanOrEqual(2);
  expect(made.filter((dir) => existsSync(dir)), 'directories left under the temporary directory').toEqual([]);
  return { results: readJson(`${out}.json`), stderr, pid: proc.pid! };
}

const cellsOf = (r: Result) => [r.cells.on, r.cells.off];
// What a failure prints: the counts, three losses of each kind with haproxy's view of them,
// the stops, and the packets the machine's kernel dropped meanwhile (a full conntrack table
// makes connects time out: the machine's loss, not the deploy's).
const describeLosses = (r: Result) =>
  `${r.supervisor} (${r.app}): ${JSON.stringify(r.cells, null, 1)}\nstops: ${JSON.stringify(r.stops, null, 1)}\nthe machine meanwhile: ${JSON.stringify(r.machine)}`;

describe.skipIf(why !== null)('a rolling deploy through haproxy (bench/fleet)', () => {
  it(
    'with no deploy, no request is lost: the harness counts only what a deploy loses',
    async () => {
      const { results } = await fleet(['--idle', '8', '--supervisors', 'bare', '--apps', 'node']);
      expect(results).toHaveLength(1);
      for (const cell of cellsOf(results[0]!)) {
        expect(cell.sent).toBeGreaterThan(800); // 100/s per mode for 8 s and more, plus the slow ones
        expect(cell.lost, describeLosses(results[0]!)).toBe(0);
        expect(cell.skipped).toBe(0);
      }
    },
    CEILING_MS,
  );

  it(
    'Node app: graceful --preset kubernetes (auto) loses nothing in 2 rollouts, with and without keep-alive, and its report agrees with haproxy; a bare node loses requests',
    async () => {
      const { results } = await fleet(['--platforms', 'kubernetes', '--supervisors', 'graceful,bare', '--apps', 'node', '--rollouts', '2', '--stop-delay', 'preset']);
      const [graceful, bare] = results as [Result, Result];
      expect(graceful.supervisor).toBe('graceful');
      for (const cell of cellsOf(graceful)) {
        expect(cell.sent).toBeGreaterThan(500);
        expect(cell.lost, describeLosses(graceful)).toBe(0);
      }
      // Six stops, each a clean one, as graceful reports it: SIGTERM passed on to the app once
      // the load balancer had stopped sending (auto: a quiet second after the last arrival,
      // not before the preset's 2 s floor), the app drained and exited 0.
      expect(graceful.stops).toHaveLength(6);
      for (const stop of graceful.stops) {
        expect(stop.exitCode).toBe(0);
        expect(stop.summary).toMatch(/stopped cleanly: ready in \d+ms, SIGTERM received, (no new work after the stop request|\d+ new connections? or requests? after the stop request, the last at \+[\d.]+m?s), SIGTERM sent at \+[\d.]+m?s, exited with code 0 at \+[\d.]+s; exit status 0 \[clean\]$/);
        expectWatchAgreesWithHaproxy(stop);
      }
      // The same deploy with node as PID 1: the app stops listening at SIGTERM while
      // haproxy still sends to it. Were this 0, the harness would be measuring nothing.
      expect(bare.supervisor).toBe('bare');
      for (const cell of cellsOf(bare)) expect(cell.refused + cell.reset, describeLosses(bare)).toBeGreaterThan(0);
    },
    CEILING_MS,
  );

  it(
    "Python app in a pod's own network namespace, behind a load balancer that keeps no pool and follows the endpoints only (a connection per request, gone between two readings): graceful sees every request and loses none; a bare python3 loses requests",
    async () => {
      const { results } = await fleet(['--platforms', 'kubernetes', '--supervisors', 'graceful,bare', '--apps', 'python', '--rollouts', '1', '--stop-delay', 'preset', '--lb', 'endpoints', '--lb-server-close', '--net', 'pod']);
      const [graceful, bare] = results as [Result, Result];
      for (const cell of cellsOf(graceful)) expect(cell.lost, describeLosses(graceful)).toBe(0);
      expect(graceful.stops).toHaveLength(3);
      for (const stop of graceful.stops) {
        expect(stop.summary).toMatch(/\/usr\/bin\/python3 \/app\/app\.py \(pid \d+\) stopped cleanly: .*SIGTERM sent at \+[\d.]+m?s, exited with code 0/);
        expectWatchAgreesWithHaproxy(stop);
      }
      // Without the checks on /readyz, haproxy sends until the platform's removal (0 to 5 s).
      for (const cell of cellsOf(bare)) expect(cell.refused + cell.reset + cell.timedOut, describeLosses(bare)).toBeGreaterThan(0);
    },
    CEILING_MS,
  );

  it(
    "Heroku (SIGTERM to every process at once): the app on graceful's library delays itself, graceful sends it no second SIGTERM, and nothing is lost (the plain app loses there under any PID 1: docs/deploy.md)",
    async () => {
      const { results } = await fleet(['--platforms', 'heroku', '--supervisors', 'graceful', '--apps', 'lib', '--app-env', 'DYNO=web.1', '--rollouts', '1']);
      const [graceful] = results as [Result];
      for (const cell of cellsOf(graceful)) expect(cell.lost, describeLosses(graceful)).toBe(0);
      // graceful sent no SIGTERM of its own: the app had the platform's.
      for (const stop of graceful.stops) expect(stop.summary).toMatch(/SIGTERM received, .*SIGTERM sent at \+0ms, .*its own shutdown/);
    },
    CEILING_MS,
  );
});

// What graceful's report says came after its stop request, against what haproxy's log says it
// sent that replica from the same instant (bench/fleet: docs/deploy.md compares them over
// every stop). The stop signal went out after haproxy's last request (else a request could
// have met a closed listener), both saw work or neither did, and the counts are close.
function expectWatchAgreesWithHaproxy(stop: Result['stops'][number]): void {
  const what = `stop of ${stop.slot}: graceful ${JSON.stringify(stop.graceful)}, haproxy ${JSON.stringify(stop.lbFromRequest)}`;
  const traffic = stop.graceful?.traffic;
  expect(traffic?.watched, what).toBe(true);
  const lb = stop.lbFromRequest!;
  if (lb.lastAfterMs !== null) expect(stop.graceful!.signalSentAfterMs, what).toBeGreaterThan(lb.lastAfterMs);
  // Work one saw and the other did not can only be at the very start (a request haproxy sent
  // a few ms before the signal reached graceful, on two clocks).
  if (traffic!.lastArrivalAfterMs === null) expect(lb.lastAfterMs ?? 0, what).toBeLessThan(100);
  if (lb.lastAfterMs === null) expect(traffic!.lastArrivalAfterMs ?? 0, what).toBeLessThan(100);
  // Counted from the kernel's table, new connections that came and went between two readings
  // are missed in a shared namespace (a lower bound): 80% of haproxy's count, less the same
  // few at the start as above (seen in CI: 11 against haproxy's 15).
  expect(traffic!.arrivals, what).toBeGreaterThanOrEqual(Math.floor(lb.requests * 0.8) - 3);
  expect(traffic!.arrivals, what).toBeLessThanOrEqual(Math.ceil(lb.requests * 1.25) + 3);
}
