// The container runtime, as the platforms drive theirs: podman with runc from Debian.
// On these machines crun and cgroup v2 fail: runc with cgroupfs works, and a root
// directory (--rootfs) stands for the image. Host networking: each replica listens on its
// own loopback port, which haproxy reaches directly (as a load balancer reaches a pod's
// IP), with no port-forwarding proxy in between that could hide or add a reset.
import { execFile, spawnSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { own } from './owned.mjs';

export const PODMAN = ['podman', '--runtime', '/usr/sbin/runc', '--cgroup-manager', 'cgroupfs'];
// The limits runc is allowed to set here (it fails setting the defaults, above the host's).
const LIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

// Each podman command is recorded while it runs, so that a harness ending abruptly kills
// it before it removes the containers (owned.mjs).
function podman(args, { timeout = 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(PODMAN[0], [...PODMAN.slice(1), ...args], { encoding: 'utf8', timeout, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`podman ${args.join(' ')}: ${(stderr || error.message).trim()}`));
      else resolve(stdout);
    });
    own.process(child, `podman ${args[0]}`);
  });
}

// Whether podman runs a container here at all, and why not if it does not.
export function podmanWorks(root) {
  const probe = spawnSync(PODMAN[0], [...PODMAN.slice(1), 'run', '--rm', ...LIMITS, '--network', 'host', '--rootfs', root, '/usr/bin/node', '-e', '0'], { encoding: 'utf8', timeout: 60_000 });
  if (probe.error) return `podman could not be run (${probe.error.message})`;
  if (probe.status !== 0) return `podman run failed: ${(probe.stderr || '').trim().split('\n').pop()}`;
  return null;
}

/**
 * Starts a container detached: `argv` is its PID 1. `stopSignal` and `stopTimeout` are what
 * `podman stop` then does (the platform's signal and deadline); `volumes` maps a path in
 * the container to a host directory; `network` is `host` (the host's network namespace) or
 * `bridge` (one of its own on podman's bridge, as a pod has: reached at its own address,
 * routed, with no proxy in between).
 */
export async function runContainer({ name, root, argv, env = {}, stopSignal = 'SIGTERM', stopTimeout = 30, logPath, volumes = {}, network = 'host' }) {
  const args = ['run', '--detach', '--name', name, ...LIMITS, '--network', network,
    '--stop-signal', stopSignal, '--stop-timeout', String(stopTimeout),
    '--log-driver', 'k8s-file', '--log-opt', `path=${logPath}`];
  for (const [key, value] of Object.entries(env)) args.push('--env', `${key}=${value}`);
  // A host directory in the container (graceful's report files): `volumes` maps the
  // container's path to the host's.
  for (const [inside, host] of Object.entries(volumes)) args.push('--volume', `${host}:${inside}`);
  // --rootfs is a flag: the root directory is the first operand, where an image would be.
  await podman([...args, '--rootfs', root, ...argv]);
}

// `podman stop`: the stop signal to PID 1, the kill signal (SIGKILL) `timeout` s later, as
// the kubelet's and the ECS agent's StopContainer, and Nomad's docker driver, do.
export function stopContainer(name, timeout) {
  return podman(['stop', '--time', String(timeout), name], { timeout: (timeout + 30) * 1000 });
}

export function killContainer(name, signal) {
  return podman(['kill', '--signal', signal, name]);
}

// The container's own address on podman's bridge (network: bridge).
export async function addressOf(name) {
  return (await podman(['inspect', '--format', '{{.NetworkSettings.IPAddress}}', name])).trim();
}

// The host pid of the container's PID 1.
export async function pid1Of(name) {
  return Number((await podman(['inspect', '--format', '{{.State.Pid}}', name])).trim());
}

// Every process of the container's PID namespace, as host pids: those whose
// /proc/<pid>/ns/pid is the one of its PID 1.
export function processesOf(pid1) {
  const ns = readlinkSync(`/proc/${pid1}/ns/pid`);
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/pid`) === ns) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return pids;
}

// Heroku's stop: the signal to every process of the dyno at once, not to PID 1 alone.
// `podman kill --all` means every container, not every process; the namespace's pids are
// signalled one by one, in one synchronous loop (microseconds apart).
export async function signalEveryProcess(name, signal) {
  const pids = processesOf(await pid1Of(name));
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

// Waits for the container to exit; its exit code.
export async function waitContainer(name, timeoutS = 120) {
  return Number((await podman(['wait', name], { timeout: timeoutS * 1000 })).trim().split('\n').pop());
}

export async function removeContainer(name) {
  await podman(['rm', '--force', '--time', '0', '--ignore', name]);
}
