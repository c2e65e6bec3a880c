// How many CPUs graceful may use: what --instances max starts. The smaller of the CPUs
// this process may run on (sched_getaffinity: Node's os.availableParallelism()) and its
// cgroup's CPU quota, rounded up (a container given --cpus 1.5 gets 2 instances). The
// quota is read along the process's cgroup path up to the root, the tightest one winning:
// cgroup v2's cpu.max ("max 100000" or "150000 100000"), cgroup v1's cpu.cfs_quota_us over
// cpu.cfs_period_us (-1: none). Node's availableParallelism() does not read the quota.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

const ROOT = '/sys/fs/cgroup';

// The CPUs graceful may use: at least 1.
export function availableCpus(root = ROOT, selfCgroup = '/proc/self/cgroup'): { cpus: number; affinity: number; quota: number | null } {
  const affinity = availableParallelism();
  const quota = cgroupQuota(read(selfCgroup) ?? '', root);
  return { cpus: Math.max(1, Math.min(affinity, quota ?? Infinity)), affinity, quota };
}

// The tightest CPU quota along the cgroup paths in /proc/self/cgroup's text, in CPUs
// (rounded up), or null when none is set.
export function cgroupQuota(selfCgroup: string, root = ROOT): number | null {
  let best: number | null = null;
  const take = (cpus: number | null) => {
    if (cpus !== null && (best === null || cpus < best)) best = cpus;
  };
  for (const line of selfCgroup.split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line.trim()) ?? [];
    if (path === undefined) continue;
    for (const dir of ancestors(path)) {
      if (controllers === '') take(parseCpuMax(read(`${root}${dir}/cpu.max`)));
      else if (controllers!.split(',').includes('cpu')) {
        // v1: mounted at cpu or cpu,cpuacct.
        for (const mount of ['cpu', 'cpu,cpuacct', 'cpuacct,cpu']) {
          take(parseCfs(read(`${root}/${mount}${dir}/cpu.cfs_quota_us`), read(`${root}/${mount}${dir}/cpu.cfs_period_us`)));
        }
      }
    }
  }
  return best;
}

// cgroup v2's cpu.max: "QUOTA PERIOD" -> CPUs rounded up; "max ..." -> null.
export function parseCpuMax(text: string | null): number | null {
  const [quota, period] = (text ?? '').trim().split(/\s+/);
  return toCpus(quota, period);
}

// cgroup v1's cpu.cfs_quota_us (-1: none) and cpu.cfs_period_us -> CPUs rounded up.
export function parseCfs(quota: string | null, period: string | null): number | null {
  return toCpus(quota?.trim(), period?.trim());
}

function toCpus(quota: string | undefined, period: string | undefined): number | null {
  const q = Number(quota);
  const p = Number(period);
  if (!quota || quota === 'max' || !Number.isFinite(q) || q <= 0 || !Number.isFinite(p) || p <= 0) return null;
  return Math.max(1, Math.ceil(q / p));
}

// "/a/b" -> "/a/b", "/a", "" (the root).
function ancestors(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  const out: string[] = [];
  for (let i = parts.length; i >= 0; i--) out.push(parts.slice(0, i).map((p) => `/${p}`).join(''));
  return out;
}

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
