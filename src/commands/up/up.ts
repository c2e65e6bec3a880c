// graceful up: several programs, started in dependency order and stopped in reverse. up()
// reads as the lifecycle: load, trap, start, wait, stop the orphans, say how it ended,
// report. The coordinator (coordinator.ts) runs the stack: one Supervisor per program (the
// one shutdown path of graceful run), in the order the pure layer above them decides
// (core/stack.ts); what belongs to the whole process is its: the signals (trapped once),
// the terminal (one display: display.ts), graceful's stdout and stderr (each line of each
// program with its name: prefix.ts). The stack's words are narration.ts's and live.ts's; the
// orphans nobody can claim, orphans.ts's; the verdict of graceful check -f, stack-check.ts's.
import { EXIT } from '../../core/exit.js';
import { writeJson, checkOutputPath } from '../../report/files.js';
import { buildStackReport } from '../../report/stack.js';
import { StackCoordinator } from './coordinator.js';
import { StackUi } from './display.js';
import { endFields, endLine } from './narration.js';
import type { UpOptions } from './options.js';
import { ownedBy, stopOrphans } from './orphans.js';
import { stackVerdict } from './stack-check.js';
import { loadStack } from './stackfile.js';
import { serveStackControl } from './control.js';

// Runs the stack to its end; resolves with graceful's exit status.
export async function up(options: UpOptions): Promise<number> {
  const stack = loadStack(options);
  const display = new StackUi(options);
  const coordinator = new StackCoordinator(stack, options, display);
  // The signals first: a stop that comes before anything started ends the stack there.
  coordinator.trap();
  if (options.health) {
    // node:http and the metrics: loaded only for --health-port.
    const { serveHealth } = await import('../../shell/probes/health.js');
    const served = await serveHealth(options.health.host, options.health.port, { health: () => coordinator.healthNow(), now: () => coordinator.metricsNow() });
    if (typeof served === 'string') {
      display.error(null, `${served}; choose another port`, 'usage-error');
      return EXIT.usage;
    }
    coordinator.health = served;
  }
  // Traces, when the OpenTelemetry environment names an endpoint (loaded only then).
  if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
    coordinator.tracer = (await import('../../shell/telemetry/otlp.js')).startTracing(process.env, (t) => display.warn(null, t));
  }
  for (const warning of stack.warnings) display.warn(null, warning);
  for (const e of stack.entries) for (const w of e.run.warnings) display.warn(null, w);
  checkOutputPath('--report-file', options.reportFile, { error: (t) => display.error(null, t) });
  await coordinator.nameLines();
  // graceful ctl's way in (not for graceful check -f: nothing steers a check).
  const control = options.check ? null : await serveStackControl(coordinator);
  if (typeof control === 'string') display.warn(null, `no control socket (${control}): graceful ctl cannot reach this stack`);

  let status = await coordinator.run();
  if (control && typeof control !== 'string') control.close();

  // Orphans that left their program's session are adopted by graceful (subreaper, PID 1):
  // none can be told to be one program's, so they are stopped after the last one.
  // Those of a program with kill_mode process were left alone on purpose, as run leaves them.
  const spared = stack.entries.filter((e) => e.run.policy.killMode === 'process').map((e) => e.name);
  const orphans = await stopOrphans(coordinator.clock.now, (pid) => spared.some((name) => ownedBy(pid, name)));
  if (orphans.length > 0) display.warn(null, `stopped after the stack: ${orphans.map((o) => `${o.command} (pid ${o.pid})`).join(', ')}, left by its programs outside their sessions`, 'orphans-stopped', { pids: orphans.map((o) => o.pid).join(' ') });

  const { state, programs } = coordinator;
  if (options.check) {
    const span = coordinator.stopSpan();
    const verdict = stackVerdict(state, programs, span && { ...span, deadlineMs: options.deadlineMs }, display.paint);
    for (const line of verdict.lines) display.info(null, line, 'stack-check', { exitStatus: verdict.status });
    status = verdict.status;
  } else if (!options.quiet) display.info(null, endLine(state, status, coordinator.stop), 'stack-ended', endFields(state, status, coordinator.stop));
  if (options.reportFile !== null) {
    const span = coordinator.stopSpan();
    const report = buildStackReport({
      file: stack.file,
      startedAt: coordinator.startedAt,
      wall: coordinator.clock.wall,
      programs: stack.entries.map((e) => ({ name: e.name, run: e.run, dependsOn: e.dependsOn, runs: programs.get(e.name)!.runs })),
      order: coordinator.order,
      stop: span && { cause: state.cause!, ...span, deadlineMs: options.deadlineMs },
      status,
    });
    writeJson('--report-file', options.reportFile, report, { error: (t) => display.error(null, t) });
  }
  await coordinator.tracer?.flush();
  // The stop that ends graceful, seen by one more scrape (--final-scrape).
  await coordinator.health?.finalScrape(options.finalScrapeMs);
  coordinator.health?.close();
  return status;
}
