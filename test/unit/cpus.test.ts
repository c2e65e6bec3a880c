// --instances max: the CPU quota of a cgroup, read along the process's cgroup path.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { availableCpus, cgroupQuota, parseCfs, parseCpuMax } from '../../src/shell/process/cpus.js';

const root = mkdtempSync(join(tmpdir(), 'cgroup-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const put = (path: string, text: string) => {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
};

describe('the quota files', () => {
  it('reads cgroup v2 cpu.max, rounding a fraction of a CPU up', () => {
    expect(parseCpuMax('max 100000\n')).toBeNull();
    expect(parseCpuMax('200000 100000\n')).toBe(2);
    expect(parseCpuMax('150000 100000')).toBe(2);
    expect(parseCpuMax('50000 100000')).toBe(1);
    expect(parseCpuMax(null)).toBeNull();
    expect(parseCpuMax('garbage')).toBeNull();
  });

  it('reads cgroup v1 cfs quota and period; -1 is no quota', () => {
    expect(parseCfs('-1\n', '100000\n')).toBeNull();
    expect(parseCfs('300000', '100000')).toBe(3);
    expect(parseCfs('300000', null)).toBeNull();
  });
});

describe('along the cgroup path', () => {
  it('v2: the tightest quota from the process cgroup up to the root wins', () => {
    put('unified-a/cpu.max', 'max 100000');
    put('unified-a/svc/cpu.max', '300000 100000');
    put('unified-a/svc/app/cpu.max', 'max 100000');
    put('unified-a/svc/app/cpu.max', 'max 100000');
    expect(cgroupQuota('0::/svc/app\n', join(root, 'unified-a'))).toBe(3);
    put('unified-a/svc/app/cpu.max', '100000 100000');
    expect(cgroupQuota('0::/svc/app\n', join(root, 'unified-a'))).toBe(1);
  });

  it('v1: the cpu controller, mounted at cpu or cpu,cpuacct', () => {
    put('v1/cpu,cpuacct/docker/abc/cpu.cfs_quota_us', '200000');
    put('v1/cpu,cpuacct/docker/abc/cpu.cfs_period_us', '100000');
    expect(cgroupQuota('4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n', join(root, 'v1'))).toBe(2);
    expect(cgroupQuota('4:memory:/docker/abc\n', join(root, 'v1'))).toBeNull();
  });

  it('is never below 1 nor above the CPUs this process may run on', () => {
    const { cpus, affinity } = availableCpus(join(root, 'none'), join(root, 'missing'));
    expect(cpus).toBe(affinity);
    expect(cpus).toBeGreaterThanOrEqual(1);
  });
});
