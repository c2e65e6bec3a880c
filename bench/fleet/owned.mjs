// Everything the fleet harness starts or creates, recorded as it is made, and ended by
// that record: containers by their exact name, processes (haproxy, the generators, the
// podman commands under way) by pid, directories by path.
// endAll() runs on success, on failure and on SIGINT/SIGTERM, so that a broken run leaves
// no container, no haproxy, no generator and nothing under /tmp.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { PODMAN } from './podman.mjs';

const containers = new Set();
const processes = new Map(); // pid -> what it is
const dirs = new Set();

export const own = {
  container(name) {
    containers.add(name);
    return name;
  },
  disown(name) {
    containers.delete(name);
  },
  process(child, what) {
    processes.set(child.pid, what);
    child.once('exit', () => processes.delete(child.pid));
    return child;
  },
  dir(path) {
    dirs.add(path);
    return path;
  },
  release(path) {
    dirs.delete(path);
  },
};

// What is still alive or present, for a test to assert that nothing is.
export function leftovers() {
  return { containers: [...containers], processes: [...processes.entries()].map(([pid, what]) => `${what} (pid ${pid})`), dirs: [...dirs] };
}

// Ends every recorded container (podman rm -f, by name), process (SIGKILL, by pid) and
// directory. Synchronous, so that it also runs from process.on('exit').
export function endAll() {
  // Processes first: a `podman run` still under way would otherwise create its container
  // after the removal below (seen: a run ended by SIGPIPE left one behind).
  for (const pid of processes.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  processes.clear();
  if (containers.size) {
    spawnSync(PODMAN[0], [...PODMAN.slice(1), 'rm', '--force', '--time', '0', '--ignore', ...containers], { stdio: 'ignore' });
    containers.clear();
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

let installed = false;
// Ends everything when the harness exits, however it exits.
export function endAllOnExit() {
  if (installed) return;
  installed = true;
  process.on('exit', endAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      console.error(`fleet: ${signal}: ending every container, haproxy and generator`);
      endAll();
      process.exit(130);
    });
  }
}
