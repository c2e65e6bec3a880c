// What graceful's two entries share (main.ts, the whole CLI in dist/cli.cjs; main-run.ts,
// `graceful run` alone in dist/run.cjs): the app's NODE_OPTIONS given back, the run command,
// the one top-level failure line, and the way out. Both entries are bundled from here, and a
// process runs one of them: bin/graceful.js loads run.cjs for `graceful run` and cli.cjs for
// everything else, and for a `run` command line that run.cjs's parser hands over.
import { existsSync, readFileSync } from 'node:fs';
import { EXIT, UsageError } from './config/errors.js';
import type { Inputs } from './config/args.js';
import { resolveLifecycle, resolveRunOptions, type LifecycleKey, type RunKey } from './config/options.js';
import { quickExit } from './shell/process/ffi.js';
import { flushOrHardExit, say } from './shell/ui/output.js';

// graceful's own NODE_OPTIONS (when started as `node bin/graceful.js` under it), read before
// the app's goes back: it decides whether graceful may end by quickExit.
let ownNodeOptions: string | undefined;

// The app's NODE_OPTIONS, kept aside by bin/graceful.js's sh line so that graceful started
// without it, goes back into the environment every child inherits (the child, --pre-stop
// hooks, graceful check's programs), exactly as it was given. graceful's own stays as it is.
// Called once, by the entry that runs, before anything is spawned.
export function adoptEnvironment(): void {
  ownNodeOptions = process.env.NODE_OPTIONS;
  const childNodeOptions = process.env.GRACEFUL_CHILD_NODE_OPTIONS;
  if (childNodeOptions !== undefined) {
    process.env.NODE_OPTIONS = childNodeOptions;
    delete process.env.GRACEFUL_CHILD_NODE_OPTIONS;
  }
}

// graceful run: supervise until the end; resolves with graceful's exit status.
export async function runCommand(given: Inputs<RunKey | LifecycleKey>): Promise<number> {
  const options = resolveLifecycle(resolveRunOptions(given), given);
  // Loaded after the command line is known good: a usage error never pays for it.
  const { run } = await import('./commands/run/run.js');
  return run(options);
}

// What the command line gave, with what resolving it may consult of the system: the
// environment, paths and files (platform detection), graceful's own pid.
export function withSystem<K extends string>(given: Pick<Inputs<K>, 'command' | 'flags'>): Inputs<K> {
  return { ...given, env: process.env, exists: existsSync, read: readText, pid: process.pid };
}

// A file of the system as text, or null (platform detection reads /proc/self/mountinfo).
function readText(path: string): string | null {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return null;
  }
}

// --log-format json (or GRACEFUL_LOG_FORMAT=json) asks for JSON lines; a usage error comes
// before the options are resolved, so the command line is read for it here: the flag before
// the command's own arguments (after `--`), in either of its forms.
function jsonLog(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  const ours = end === -1 ? argv : argv.slice(0, end);
  const at = ours.indexOf('--log-format');
  return ours.includes('--log-format=json') || (at !== -1 && ours[at + 1] === 'json') || (at === -1 && process.env.GRACEFUL_LOG_FORMAT === 'json');
}

// graceful's own one-line failure: its words, or with --log-format json, the same line as
// report/log.ts renders one (an event, no program, msg).
export function fail(argv: readonly string[], event: 'usage-error' | 'internal-error', text: string): void {
  if (jsonLog(argv)) say(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', event, program: null, msg: text })}\n`);
  else say(`graceful: ${text}\n`);
}

// The one top-level catch of either entry, past commander's own errors: a usage error's line
// pointing to `hint`, else an internal error's; returns graceful's exit status.
export function failed(argv: readonly string[], error: unknown, hint: string): number {
  if (error instanceof UsageError) {
    fail(argv, 'usage-error', error.line(hint));
    return error.status;
  }
  const e = error as Error;
  fail(argv, 'internal-error', `internal error: ${e?.message ?? String(error)} (set GRACEFUL_DEBUG=1 for details)`);
  if (process.env.GRACEFUL_DEBUG) say(`${e?.stack}\n`);
  return EXIT.internal;
}

// The way out, once the command has its status.
export async function finish(status: number): Promise<never> {
  // graceful's last lines may still be on their way to a slow stderr.
  await flushOrHardExit(status);
  // As PID 1, a logger graceful was handed (exec > >(tee log)) gets to read them first.
  if (process.pid === 1) await (await import('./shell/process/pid1.js')).letInheritedFinish();
  // Every line is written and every file closed: unless something asked Node for work at
  // exit (an 'exit' listener, such as the build's code cache or a library's clean-up; a
  // profiler or coverage flag), end here (output.ts: drained; ffi.ts: quickExit).
  if (process.listenerCount('exit') === 0 && process.execArgv.length === 0 && !ownNodeOptions && !process.env.NODE_V8_COVERAGE) {
    quickExit(status);
  }
  process.exit(status);
}
