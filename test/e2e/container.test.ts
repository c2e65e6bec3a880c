// The standalone executable as PID 1 of a real container under podman (issue 24, item 2):
// podman 4 with runc, a root directory with nothing but the executable, sh, sleep and their
// libraries (rootfs.ts), and `podman stop` as a user types it. podman writes
// /run/.containerenv into every container; graceful must read it there with no option, warn
// that its default grace period does not fit in podman's 10 s, and, with --preset podman,
// kill a program that ignores SIGTERM itself, and report it, before podman's SIGKILL.
//
// Runs when GRACEFUL_BIN names the executable (.ci/run's second pass) and podman and runc
// are installed (.ci/run installs them); otherwise it says why. Every process in a container
// carries the test's leak token (-e E2E_LEAK_TOKEN passes the harness's), and every
// container is removed by name after its test, failed or not.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { BINARY, exitOf, leftovers, start, useHarness, type Run } from './harness.js';
import { minimalRoot } from './rootfs.js';

useHarness();

// runc, not crun (Debian's podman default): crun fails on this kind of host's cgroups; no
// systemd, so cgroupfs; limits of podman's own default are above what the host allows.
const RUNC = '/usr/sbin/runc';
const PODMAN = ['podman', '--runtime', RUNC, '--cgroup-manager', 'cgroupfs'];

const why = !BINARY
  ? 'GRACEFUL_BIN is not set (npm run build:binary, then GRACEFUL_BIN=dist/graceful-linux-<arch>; .ci/run does)'
  : spawnSync('podman', ['--version']).error
    ? 'podman is not installed (apt-get install podman runc; .ci/run does)'
    : !existsSync(RUNC)
      ? `${RUNC} is not there (apt-get install runc; .ci/run does)`
      : process.getuid?.() !== 0
        ? 'podman here runs as root (rootful storage and cgroupfs); this is not root'
        : null;
if (why) console.warn(`skipping the container tests: ${why}`);

// The containers this test started, removed after it (podman rm by name: a failed test leaves
// no container behind, and no process: `podman rm -f` kills what is still running).
const containers: string[] = [];
afterEach(() => {
  // Registered after useHarness(): vitest runs afterEach hooks in reverse, so the containers
  // are gone before the harness looks for leftover processes.
  for (const name of containers.splice(0)) {
    spawnSync('podman', [...PODMAN.slice(1), 'rm', '--force', '--ignore', '--time', '0', name], { encoding: 'utf8' });
  }
});

// `podman run --rm` of `/graceful <args>` in a fresh minimal root, attached: the test reads
// the container's stdout and stderr (graceful's lines) from podman run's.
function inContainer(args: string[]): { run: Run; name: string } {
  const root = minimalRoot({ programs: ['/bin/sh', '/bin/sleep'] });
  const name = `graceful-e2e-${randomBytes(4).toString('hex')}`;
  containers.push(name);
  const run = start([], {
    via: [
      ...PODMAN,
      'run', '--rm', '--name', name,
      '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024',
      // graceful needs no network: none spares the host's firewall rules and netavark.
      '--network', 'none',
      // The harness's leak token, from podman's environment: every process in the container has it.
      '-e', 'E2E_LEAK_TOKEN',
      '--rootfs', root,
      '/graceful', ...args,
    ],
  });
  return { run, name };
}

// `podman stop NAME` as a user types it (podman's default 10 s, then SIGKILL). Resolves with
// its exit status and stderr, and when it started (performance.now()).
function podmanStop(name: string): { at: number; done: Promise<{ code: number | null; stderr: string }> } {
  const at = performance.now();
  const proc = spawn(PODMAN[0]!, [...PODMAN.slice(1), 'stop', name], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return { at, done: new Promise((resolve) => proc.on('close', (code) => resolve({ code, stderr }))) };
}

// What podman says when its own deadline ran out and it sent SIGKILL.
const PODMAN_KILLED = /resorting to SIGKILL|failed to stop container/i;

describe.skipIf(why !== null)('graceful as PID 1 of a podman container (runc, a root without Node)', () => {
  it('recognises podman with no option, and podman stop gets the drain, the summary and the program\'s status well within podman\'s 10 s', async () => {
    // sh drains for 1 s on SIGTERM, then exits 0; sleep runs in the background so the trap
    // runs as soon as TERM arrives.
    const { run, name } = inContainer(['run', '--', '/bin/sh', '-c', 'trap "echo draining; sleep 1; echo drained; exit 0" TERM; sleep 1000 & echo ready $$; wait']);
    await run.stdout.waitFor(/ready \d+/, 'the program in the container to be ready', 20_000);
    // The processes in the container carry the leak token (graceful and the program that
    // printed ready; whatever they start inherits it): the harness's check covers them.
    const tokened = leftovers().map((p) => p.cmd);
    expect(tokened, tokened.join('\n')).toContain('/graceful run -- /bin/sh -c trap "echo draining; sleep 1; echo drained; exit 0" TERM; sleep 1000 & echo ready $$; wait');
    expect(tokened, tokened.join('\n')).toContain('/bin/sh -c trap "echo draining; sleep 1; echo drained; exit 0" TERM; sleep 1000 & echo ready $$; wait');
    // No option: the default grace period, and podman recognised from /run/.containerenv.
    expect(run.stderr.text).toContain(
      'graceful: warning: --timeout 30s does not fit in the 10s that podman (PID 1 and /run/.containerenv exists (podman)) allows',
    );
    const stop = podmanStop(name);
    const exit = await exitOf(run, 15_000);
    const stopped = await stop.done;
    expect(exit.code, run.stderr.text).toBe(0);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stderr).not.toMatch(PODMAN_KILLED);
    expect(run.stdout.text).toMatch(/draining\ndrained\n/);
    expect(run.stderr.text).toMatch(/graceful: SIGTERM received: stopping sh -c .* \(pid \d+\); grace period 30s/);
    expect(run.stderr.text).toMatch(
      /graceful: sh -c .* \(pid \d+\) stopped cleanly: SIGTERM received, SIGTERM sent at \+0ms, exited with code 0 at \+1\.\d\ds; exit status 0 \[clean\]/,
    );
    // On graceful's clock the stop took the 1 s drain (+1.xxs above); with podman's own work
    // (its command starting, conmon, --rm), seconds on a loaded machine, still short of 10 s.
    expect(exit.at - stop.at).toBeLessThan(9000);
  });

  it('with --preset podman, a program that ignores SIGTERM is killed by graceful at 9.5 s and reported, before podman\'s SIGKILL', async () => {
    const { run, name } = inContainer(['run', '--preset', 'podman', '--', '/bin/sh', '-c', "trap '' TERM; echo ready $$; exec /bin/sleep 1000"]);
    await run.stdout.waitFor(/ready \d+/, 'the program in the container to be ready', 20_000);
    expect(run.stderr.text).not.toMatch(/does not fit/);
    const stop = podmanStop(name);
    const exit = await exitOf(run, 15_000);
    const stopped = await stop.done;
    // What podman said and when graceful ended, for any failure below.
    const seen = `podman stop: ${stopped.code} ${stopped.stderr.trim()}; graceful exited ${Math.round(exit.at - stop.at)}ms after podman stop began; stderr:\n${run.stderr.text}`;
    expect(exit.code, seen).toBe(137);
    expect(run.stderr.text, seen).toMatch(/graceful: SIGTERM received: stopping sh -c .* \(pid \d+\); grace period 9\.50s/);
    expect(run.stderr.text, seen).toMatch(
      /graceful: sh -c .* \(pid \d+\) had to be killed: SIGTERM received, SIGTERM sent at \+0ms, SIGKILL sent at \+9\.5\ds \(grace period of 9\.50s over\), died of SIGKILL at \+9\.[5-9]\ds; exit status 137 \[escalated\]/,
    );
    // graceful's SIGKILL, not podman's: podman stop found the container gone before its 10 s
    // (it says "resorting to SIGKILL" when it is not). Its 10 s count from its own SIGTERM,
    // which a loaded machine's podman sends a while after the command starts: no bound on
    // the time from here. (The kill itself is at +9.50s on graceful's clock, a timer or
    // two late under load, still before podman's.)
    expect(stopped.stderr, seen).not.toMatch(PODMAN_KILLED);
    expect(stopped.code, seen).toBe(0);
  });
});
