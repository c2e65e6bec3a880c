import { describe, expect, it } from 'vitest';
import { treesOf } from '../../src/commands/check/unready.js';
import type { ProcInfo } from '../../src/shell/process/tree.js';

const proc = (pid: number, ppid: number, sid = ppid): ProcInfo => ({ pid, ppid, pgid: sid, sid, state: 'S', start: 0 });

describe('treesOf: the processes of each starting instance, from one scan', () => {
  // graceful 10; generation 1 is 20 (a master, its workers 21 and 22, one's child 23);
  // generation 2 is 30 with a daemon 31 that left for graceful but stayed in its session.
  const procs = [proc(1, 0, 1), proc(10, 1, 1), proc(20, 10, 20), proc(21, 20, 20), proc(22, 20, 20), proc(23, 22, 20), proc(30, 10, 30), proc(31, 10, 30), proc(40, 1, 40)];

  it('holds the root, its descendants, and what stayed in its session', () => {
    const trees = treesOf([20, 30], procs);
    expect(trees.get(20)!.sort()).toEqual([20, 21, 22, 23]);
    expect(trees.get(30)!.sort()).toEqual([30, 31]);
  });

  it('a root that is gone is its own tree (its descriptors are simply not there to read)', () => {
    expect(treesOf([99], procs).get(99)).toEqual([99]);
  });
});
