// The report agrees with itself and with the outside world: each list of processes holds
// exactly those alive at its moment, whatever the kill mode, and nothing is left running
// without a warning.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, exitOf, fixture, readJson, start, tempDir, useHarness, waitGone } from './harness.js';

useHarness();

const node = process.execPath;
const pidsOf = (list: { pid: number }[]) => list.map((p) => p.pid).sort((a, b) => a - b);
const childPids = (text: string) => [...text.matchAll(/tree child (\d+)/g)].map((m) => Number(m[1])).sort((a, b) => a - b);

describe('descendants in the report', () => {
  it('atStop lists the children alive at the stop, even those that die of it at once', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--report-file', report, '--', node, fixture('reaps-children.js'), '4']);
    await run.ready();
    const children = childPids(run.stdout.text);
    expect(children).toHaveLength(4);
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    const r = readJson(report);
    expect(pidsOf(r.descendants.atStop)).toEqual(children);
    expect(r.descendants.killed).toEqual([]);
    expect(r.descendants.leaked).toEqual([]);
  });

  it('kill mode mixed: killed lists the processes the SIGKILL hit', async () => {
    const report = join(tempDir(), 'r.json');
    const script = 'trap "" TERM; sleep 1000 & echo "tree child $!"; sleep 1001 & echo "tree child $!"; echo "ready $$"; wait';
    const run = start(['run', '--kill-mode', 'mixed', '--timeout', '1s', '--report-file', report, '--', 'sh', '-c', script]);
    await run.ready();
    const children = childPids(run.stdout.text);
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(137);
    await waitGone(children);
    const r = readJson(report);
    expect(r.stop).toMatchObject({ killSignal: 'SIGKILL', escalated: true });
    expect(pidsOf(r.descendants.killed)).toEqual(children);
    expect(pidsOf(r.descendants.atStop)).toEqual(children);
    expect(r.descendants.leaked).toEqual([]);
  });

  it('kill mode process: what outlived the main process is in atMainExit and leaked, and on stderr', async () => {
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--kill-mode', 'process', '--report-file', report, '--', node, fixture('leaves-grandchild.js')]);
    await run.ready();
    const worker = Number(/tree worker (\d+)/.exec(run.stdout.text)![1]);
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    try {
      expect(alive(worker)).toBe(true);
      const r = readJson(report);
      // The worker's shell runs a `sleep 0.05` loop: whichever sleep was alive is listed too.
      expect(pidsOf(r.descendants.atMainExit)).toContain(worker);
      expect(pidsOf(r.descendants.leaked)).toContain(worker);
      expect(run.stderr.text).toMatch(new RegExp(`warning: left running: sh -c .* \\(pid ${worker}\\)`));
    } finally {
      process.kill(worker, 'SIGKILL');
      await waitGone([worker]);
    }
  });
});
