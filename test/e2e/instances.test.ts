// --instances N (issue 26 item 1): N copies of a real Node server on the socket graceful
// holds, each its own supervised program. What the OS saw: which pids answered, which
// processes are left, in which order the old ones were stopped.
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { alive, exitOf, GRACEFUL, fixture, SHOWN_WORD, freePort, readJson, start, tempDir, useHarness, waitGone } from './harness.js';
import { accepts, behaviourFile, get, reload, requestStream } from './requests.js';

useHarness();

const node = process.execPath;

// The "ready <pid> generation <n>" lines of the fixture, with the instance from the "starting" line.
function instancesOf(stdout: string): { pid: number; generation: number; instance: number }[] {
  return [...stdout.matchAll(/starting (\d+) generation (\d+) instance (\d+)/g)].map((m) => ({ pid: Number(m[1]), generation: Number(m[2]), instance: Number(m[3]) }));
}

describe('--instances 4 on a held socket', () => {
  it('4 instances serve; 3 reloads under a request stream replace them one at a time with no request failed; each is reported', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--listen', `tcp://127.0.0.1:${port}`, '--instances', '4', '--ready', 'ipc', '--report-file', report, '--', node, fixture('listen-http.js')]);
    for (let i = 1; i <= 4; i++) await run.stderr.waitFor(new RegExp(`generation 1 instance ${i}: \\S*node ${SHOWN_WORD} \\(pid \\d+\\) ready in`), `instance ${i} ready`);
    const first = instancesOf(run.stdout.text);
    expect(first.map((x) => x.instance).sort()).toEqual([1, 2, 3, 4]);
    const stream = requestStream({ port }, { keepAlive: 2, fresh: 2 });
    await stream.answeredMore(40);
    for (let r = 1; r <= 3; r++) {
      const answer = await reload(run);
      expect(answer.code, answer.text).toBe(0);
      expect(answer.text).toMatch(new RegExp(`reload ${r} \\(control\\): switched [\\d.]+m?s after the request to generation ${r + 1} \\(4 instance\\(s\\), pids \\d+, \\d+, \\d+, \\d+\\), one instance at a time`));
      await stream.answeredMore(40);
    }
    const all = instancesOf(run.stdout.text);
    expect(all).toHaveLength(16);
    // Every generation's instances answer requests: the socket is shared by all four. The
    // kernel hands new connections to whichever instance waits in accept(), not in turn:
    // the stream goes on until each has answered (under load the last one started may get
    // none of the first 40), within 20 s.
    const last = all.filter((x) => x.generation === 4);
    const deadline = performance.now() + 20_000;
    while (!last.every((x) => stream.result.pids.includes(x.pid)) && performance.now() < deadline) await stream.answeredMore(10);
    const result = await stream.stop();
    expect(result.failed, 'failed requests').toEqual([]);
    for (const x of last) expect(result.pids, `instance ${x.instance} of generation 4 answered`).toContain(x.pid);
    // One at a time: in each slot, the new instance was ready before the old one was asked
    // to stop, and the next slot's new instance started only after that.
    const err = run.stderr.text;
    for (let g = 2; g <= 4; g++) {
      for (let i = 1; i <= 4; i++) {
        const ready = err.search(new RegExp(`generation ${g} instance ${i}: \\S*node ${SHOWN_WORD} \\(pid \\d+\\) ready in`));
        const retire = err.search(new RegExp(`generation ${g - 1} instance ${i}: replaced by a new generation \\(reload\\): stopping`));
        expect(ready, `generation ${g} instance ${i} ready`).toBeGreaterThan(-1);
        expect(retire, `generation ${g - 1} instance ${i} retired after its replacement was ready`).toBeGreaterThan(ready);
        if (i < 4) expect(err.search(new RegExp(`starting instance ${i + 1} of generation ${g} `)), `slot ${i + 1} after slot ${i}`).toBeGreaterThan(retire);
      }
    }
    await waitGone(all.filter((x) => x.generation < 4).map((x) => x.pid));
    expect(run.stdout.count(/drained \d+/)).toBe(12);

    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    expect(await accepts(port)).toBe(false);
    for (const x of last) expect(run.stderr.text).toMatch(new RegExp(`generation 4 instance ${x.instance}: \\S*node ${SHOWN_WORD} \\(pid ${x.pid}\\) stopped cleanly: ready in [\\d.]+m?s, SIGTERM received, SIGTERM sent at \\+0ms`));
    expect(run.stderr.text).toMatch(/16 instance\(s\) in 4 generation\(s\), 3 reload\(s\): 3 switched, 0 rolled back, 0 failed; exit status 0/);
    const r = readJson(report);
    expect(r.reload.instances).toBe(4);
    const pidOf = (g: number, i: number) => all.find((x) => x.generation === g && x.instance === i)!.pid;
    expect(r.reload.generations.map((g: any) => [g.generation, g.instance, g.pid, g.verdict, g.stop?.trigger])).toEqual(
      [1, 2, 3, 4].flatMap((g) => [1, 2, 3, 4].map((i) => [g, i, pidOf(g, i), 'clean', g < 4 ? 'reload' : 'SIGTERM'])),
    );
    expect(r.reload.reloads.map((x: any) => [x.reload, x.outcome, x.generation, x.replaces, x.instances, x.switched])).toEqual([
      [1, 'switched', 2, 1, 4, 4],
      [2, 'switched', 3, 2, 4, 4],
      [3, 'switched', 4, 3, 4, 4],
    ]);
    for (const x of r.reload.reloads) expect(x.oldDrainedAfterMs).toBeGreaterThanOrEqual(0);
  });

  it('a crashed instance is restarted alone, in its slot; the others keep their pids and serve meanwhile', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const run = start(['run', '--listen', `tcp://127.0.0.1:${port}`, '--instances', '3', '--ready', 'ipc', '--restart', 'on-failure', '--restart-delay', '300ms', '--', node, fixture('listen-http.js')]);
    for (let i = 1; i <= 3; i++) await run.stderr.waitFor(new RegExp(`generation 1 instance ${i}: \\S*node ${SHOWN_WORD} \\(pid \\d+\\) ready in`), `instance ${i} ready`);
    const before = instancesOf(run.stdout.text);
    // Whichever instance accepts GET /crash exits 1.
    expect(await get({ port }, '/crash')).toMatch(/^error (ECONNRESET|socket hang up)/);
    const m = await run.stderr.waitFor(new RegExp(String.raw`generation 1 instance (\d): \S*node ${SHOWN_WORD} \(pid (\d+)\) crashed`), 'the crash');
    const slot = Number(m[1]);
    const crashed = Number(m[2]);
    await run.stderr.waitFor(new RegExp(`restarting instance ${slot} in 300ms \\(restart 1\\); the other instances serve meanwhile`), 'the slot restart');
    const others = before.filter((x) => x.pid !== crashed);
    expect(others).toHaveLength(2);
    // While the slot waits, the others answer every request.
    for (let k = 0; k < 6; k++) expect(others.map((x) => x.pid)).toContain(Number((await get({ port })).split(' ')[0]));
    const restarted = await run.stdout.waitFor(new RegExp(`starting (\\d+) generation 2 instance ${slot}`), 'the new instance');
    await run.stderr.waitFor(new RegExp(`generation 2 instance ${slot}: \\S*node ${SHOWN_WORD} \\(pid ${restarted[1]}\\) ready in`), 'it is ready');
    for (const x of others) expect(alive(x.pid), `instance ${x.instance} untouched`).toBe(true);
    expect(run.stdout.count(/signal SIGTERM/)).toBe(0);
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stderr.text).toMatch(/4 instance\(s\) in 2 generation\(s\), 0 reload\(s\)/);
  });

  it('a new instance that fails stops the reload there: the slots it reached serve the new generation, the others are untouched', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const behaviour = behaviourFile();
    const report = join(tempDir(), 'r.json');
    const run = start(['run', '--listen', `tcp://127.0.0.1:${port}`, '--instances', '3', '--ready', 'ipc', '--report-file', report, '--', node, fixture('listen-http.js')], { env: { BEHAVIOUR: behaviour.path } });
    for (let i = 1; i <= 3; i++) await run.stderr.waitFor(new RegExp(`generation 1 instance ${i}: \\S*node ${SHOWN_WORD} \\(pid \\d+\\) ready in`), `instance ${i} ready`);
    const stream = requestStream({ port }, { keepAlive: 1, fresh: 1 });
    await stream.answeredMore(20);
    behaviour.set('crash-instance:2');
    const answer = await reload(run);
    expect(answer.code, answer.text).toBe(1);
    const crashPid = Number(run.stdout.text.match(/crashing (\d+) generation 2/)![1]);
    expect(answer.text).toContain(`reload 1 (control): rolled back: instance 2 of generation 2 (pid ${crashPid}) exited with code 1 before it was ready; the reload stopped after 1 of 3 instance(s): those serve generation 2, the 2 other(s) still generation 1; reload again once fixed [rolled-back]`);
    const gen1 = instancesOf(run.stdout.text).filter((x) => x.generation === 1);
    expect(alive(gen1.find((x) => x.instance === 1)!.pid)).toBe(false);
    for (const i of [2, 3]) expect(alive(gen1.find((x) => x.instance === i)!.pid), `generation 1 instance ${i} untouched`).toBe(true);
    // The fix, and a reload: every slot serves generation 3.
    behaviour.set('ok');
    const fixed = await reload(run);
    expect(fixed.code, fixed.text).toBe(0);
    await stream.answeredMore(20);
    expect((await stream.stop()).failed).toEqual([]);
    run.signal('SIGTERM');
    expect((await exitOf(run)).code).toBe(0);
    const r = readJson(report);
    expect(r.reload.reloads.map((x: any) => [x.outcome, x.switched, x.instances])).toEqual([['rolled-back', 1, 3], ['switched', 3, 3]]);
    expect(r.reload.generations.map((g: any) => `${g.generation}.${g.instance} ${g.verdict}`)).toEqual([
      '1.1 clean', '1.2 clean', '1.3 clean', '2.1 clean', '2.2 crashed', '3.1 clean', '3.2 clean', '3.3 clean',
    ]);
  });
});

describe('--instances max', () => {
  it('starts one instance per CPU this process may use (sched_getaffinity: taskset)', { timeout: 60_000 }, async () => {
    const hasTaskset = spawnSync('taskset', ['--version']).status === 0;
    const cases: { prefix: string[]; cpus: number }[] = [{ prefix: [], cpus: Math.min(availableParallelism(), 8) }];
    if (hasTaskset) cases.push({ prefix: ['taskset', '-c', '0'], cpus: 1 });
    else console.warn('skipping the taskset case: taskset is not installed');
    for (const { prefix, cpus } of cases) {
      if (prefix.length === 0 && availableParallelism() > 8) continue;
      const port = await freePort();
      const args = ['run', '--listen', `tcp://127.0.0.1:${port}`, '--instances', 'max', '--ready', 'ipc', '--', node, fixture('listen-http.js')];
      // taskset execs graceful: the pid the test signals is graceful's.
      const run = start(args, prefix.length ? { via: [...prefix, ...GRACEFUL, ...args] } : {});
      // Every instance's line, in whatever order they come (under load, instance 2 may be ready first).
      await run.stderr.waitFor(new RegExp(`(?:[^]*?\\(pid \\d+\\) ready in){${cpus}}`), `${cpus} instance(s) ready`);
      run.signal('SIGTERM');
      expect((await exitOf(run)).code).toBe(0);
      expect(run.stderr.text.match(/\(pid \d+\) ready in/g)).toHaveLength(cpus);
    }
  });
});
