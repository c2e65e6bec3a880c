// A process of the stack with `listen:` (or `instances:`) in the file: graceful holds its
// socket, so it runs under a `graceful run` of its own (the generations, the instances, the
// reloads: commands/run/generations.ts), which up supervises as it supervises any program.
// graceful ctl scale and reload reach that graceful through its control socket; up's stop
// sends it SIGTERM, and it stops every instance through its own stop sequence.
import { resolve } from 'node:path';
import type { RunOptions } from '../../config/options.js';
import { RUN_SPECS } from '../../config/options.js';
import { parseReady } from '../../config/readiness.js';
import { RESTART_DEFAULTS } from '../../config/defaults.js';
import { runtimeDir } from '../../shell/sockets/rundir.js';
import type { StackEntry } from './stackfile.js';

// Room for the inner graceful to say how its instances stopped, and report, after their
// own grace period.
const REPORT_MS = 5000;

// The control socket of the process at `index` of the stack of graceful up `pid`.
export function nestedControlPath(pid: number, index: number): string {
  return `${runtimeDir()}/${pid}.${index + 1}.sock`;
}

// How up runs the entry: `graceful run <its flags> --control PATH -- <command>`, ready when
// the inner graceful says an instance is, stopped by SIGTERM to the inner graceful alone
// (which stops the rest), killed whole past the inner grace period and a margin.
export function nestedRun(entry: StackEntry, control: string): RunOptions {
  const run = entry.run;
  const self = resolve(process.argv[1] ?? '') === process.execPath ? [process.execPath] : [process.execPath, process.argv[1]!];
  const argv: string[] = [...self, 'run'];
  for (const [key, value] of Object.entries(entry.flags)) {
    const spec = RUN_SPECS.find((s) => s.key === key);
    if (!spec) continue;
    const flag = spec.flags.match(/--[\w-]+/)![0];
    if (typeof value === 'boolean') {
      // --no-kill, --no-sigcont, --backoff: given when the file's value asks for the flag's effect.
      if (value === !flag.startsWith('--no-')) argv.push(flag);
    } else argv.push(flag, value);
  }
  argv.push('--control', control, '--', ...run.command);
  return {
    ...run,
    command: argv,
    reload: null,
    ready: run.ready ? parseReady('log:\\) ready in \\d', 'ready') : null,
    policy: { ...run.policy, timeoutMs: run.policy.timeoutMs + REPORT_MS, stopSignal: 'SIGTERM', killMode: 'mixed', preStop: null, stopDelayMs: 0, stopDelayAuto: null, readyTimeoutMs: run.policy.readyTimeoutMs === null ? null : run.policy.readyTimeoutMs + REPORT_MS },
    // The inner graceful restarts its instances; it ends only when its program is done.
    lifecycle: { ...run.lifecycle, restart: { ...RESTART_DEFAULTS, mode: 'no' }, maxMemory: null },
    warnings: [],
  };
}
