// graceful check: start the program, wait until it is ready, put it under in-flight work,
// ask it to stop (through the same supervisor and shutdown sequence as graceful run), and
// grade the shutdown against the checklist of a graceful shutdown. Exit 0 if every check
// passes, 1 if any fails.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { preloadEnv } from './bundles.js';
import { beginAudit, finishAudit, initialObservations, loadThenStop, observeAfter, observeKill, probeNewWork } from './observe.js';
import { judge, type InflightResult } from '../../core/judge.js';
import type { CheckOptions } from './options.js';
import { abortedRun, checklist, checkReport, junit, runPassed, semantics, verdictLine, type CheckRun } from '../../report/checks.js';
import { statusForSignal } from '../../config/signals.js';
import { EXIT } from '../../core/exit.js';
import { describeCommand, human } from '../../report/human.js';
import { checkOutputPath, writeJson, writeOutput } from '../../report/files.js';
import { buildReport } from '../../report/json.js';
import { say } from '../../shell/ui/output.js';
import { Supervisor } from '../../shell/supervisor.js';
import { systemClock } from '../../shell/clock.js';
import { Trap } from '../../shell/trap.js';

// Runs the check --repeat times; resolves with graceful's exit status.
export async function check(options: CheckOptions): Promise<number> {
  // --reload N: the reload check (a stream of requests through N reloads), loaded only then.
  if (options.reload > 0) return (await import('./reload-check.js')).checkReloads(options);
  const runs: CheckRun[] = [];
  let lastUi: Supervisor['ui'] | null = null;
  const trap = new Trap(systemClock().now);
  for (let i = 1; i <= options.repeat; i++) {
    const { run, ui } = await checkOnce(options, i, trap);
    runs.push(run);
    lastUi = ui;
    if (run.observations.aborted) break; // asked to stop: no further run
  }
  const ui = lastUi!;
  const ok = runs.every(runPassed);
  const aborted = abortedRun(runs)?.observations.aborted ?? null;
  // Interrupted: 128 + the signal's number, as a shell reports a command ended by a signal.
  const status = aborted ? statusForSignal(aborted.signal) : ok ? EXIT.ok : EXIT.checkFailed;
  const line = `graceful: ${verdictLine(runs)}${aborted ? `; exit status ${status}` : ''}`;
  say(`${ok ? ui.paint.good(line) : ui.paint.bad(line)}\n`);
  const command = options.run.command;
  if (options.run.reportFile) writeJson('--report-file', options.run.reportFile, checkReport(command, runs), ui);
  if (options.junit) writeOutput('--junit', options.junit, junit(command, runs), ui);
  return status;
}

// One run: start the program under a supervisor, load it and stop it once it is ready (or
// --after its start), watch it stop, then grade what was seen; prints its checklist.
async function checkOnce(options: CheckOptions, round: number, trap: Trap): Promise<{ run: CheckRun; ui: Supervisor['ui'] }> {
  const { run: runOptions } = options;
  // A fresh private TMPDIR: whatever is left in it afterwards, the child left.
  const tmp = mkdtempSync(join(tmpdir(), 'graceful-check-'));
  // The preload's trace files (src/commands/check/preload.ts), one per Node process of the tree.
  const traces = mkdtempSync(join(tmpdir(), 'graceful-trace-'));
  const obs = initialObservations(options);
  // The audit of every process first: its thread starts while the rest is set up.
  const audit = beginAudit(runOptions.command, obs);
  const inflight: Promise<InflightResult>[] = [];
  let signalAt: number | null = null;
  // --probe's attempts, each answered (or timed out) before the run is judged.
  let probing: Promise<void> | null = null;
  let stopping = false;
  let after: NodeJS.Timeout | null = null;

  const supervisor: Supervisor = new Supervisor(
    { ...runOptions, reportFile: null },
    {
      ready: () => void stopWhenLoaded(),
      beforeSignal: (reason) => {
        if (reason === 'stop' && signalAt === null) {
          signalAt = supervisor.clock.now();
          if (options.probe) probing = probeNewWork(options.probe, supervisor, () => signalAt!, obs, inflight);
        }
        if (reason === 'kill') observeKill(supervisor, obs);
      },
      stopRequested: (signal) => {
        // A CI timeout or a cancelled job: the supervisor stops the child as graceful run
        // would; the check records that it was interrupted and starts nothing more.
        if (obs.aborted) return;
        const afterMs = Math.round(supervisor.clock.now() - supervisor.state.facts.spawnAt);
        obs.aborted = { signal, afterMs, at: new Date().toISOString() };
        stopping = true;
        if (after) clearTimeout(after);
      },
    },
    { trap, env: { TMPDIR: tmp, ...preloadEnv(traces) }, steps: false, observe: true, shim: audit },
  );
  const { ui } = supervisor;
  if (round === 1) {
    for (const warning of runOptions.warnings) ui.warn(warning);
    checkOutputPath('--report-file', runOptions.reportFile, ui);
    checkOutputPath('--junit', options.junit, ui);
  }

  // Once, when it is ready (or --after its start): the load, then the stop.
  async function stopWhenLoaded(): Promise<void> {
    if (stopping || supervisor.state.phase.kind !== 'running') return;
    stopping = true;
    await loadThenStop(supervisor, options, obs, inflight, audit);
  }

  const started = Date.now();
  // The program's first trapped call waits for the audit's thread: up first (it starts in a
  // few tens of ms, while graceful's own start goes on).
  await audit?.ready;
  const running = supervisor.start();
  // Without --ready: stop it --after its start (the spawn is done by now).
  after = runOptions.ready ? null : setTimeout(() => void stopWhenLoaded(), options.afterMs);
  const outcome = await running;
  if (after) clearTimeout(after);
  await probing;
  await observeAfter(outcome, obs, inflight, tmp, traces);
  // The tree is gone: the audit's report.
  await finishAudit(audit, obs);

  const { state, status, extras } = outcome;
  // --require-all: what was not run fails, saying why it was not.
  const checks = judge(state.facts, runOptions.policy, obs, human).map((c) =>
    options.requireAll && c.status === 'not run' ? { ...c, ok: false, status: 'fail' as const, detail: `not run (--require-all): ${c.detail}` } : c,
  );
  const head = `check of ${describeCommand(runOptions.command)}, ${semantics(runOptions.policy.killMode)}${options.repeat > 1 ? ` (run ${round}/${options.repeat})` : ''}`;
  if (state.facts.spawnError) ui.error(state.facts.spawnError.message);
  say(`${ui.paint.dim('graceful:')} ${head}\n${checklist(checks, ui.paint).join('\n')}\n`);
  const report = buildReport(state.facts, runOptions, status, supervisor.clock.wall, extras);
  return { run: { checks, report, observations: obs, seconds: (Date.now() - started) / 1000 }, ui };
}
