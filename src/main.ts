// The command line: `graceful run` read by config/args.ts's own parser when it takes it as it
// is (the start path: commander is not loaded), else by commander (cli/program.ts): help,
// version, the other commands, every usage error. The one top-level catch turns every failure into
// one line on stderr and an exit status.
import { existsSync, readFileSync } from 'node:fs';
import { EXIT, helpHint, UsageError } from './config/errors.js';
import { parseRunArgs, type Inputs } from './config/args.js';
import { resolveLifecycle, resolveRunOptions, RUN_SPECS, type LifecycleKey, type RunKey } from './config/options.js';
import type { CheckKey } from './commands/check/options.js';
import type { ReloadKey } from './commands/reload/options.js';
import type { UpKey } from './commands/up/options.js';
import type { CtlKey } from './commands/ctl/options.js';
import { quickExit } from './shell/process/ffi.js';
import { flushOrHardExit, say } from './shell/ui/output.js';

// The app's NODE_OPTIONS, kept aside by bin/graceful.js's sh line so that graceful started
// without it, goes back into the environment every child inherits (the child, --pre-stop
// hooks, graceful check's programs), exactly as it was given. graceful's own stays as it is.
const ownNodeOptions = process.env.NODE_OPTIONS;
const childNodeOptions = process.env.GRACEFUL_CHILD_NODE_OPTIONS;
if (childNodeOptions !== undefined) {
  process.env.NODE_OPTIONS = childNodeOptions;
  delete process.env.GRACEFUL_CHILD_NODE_OPTIONS;
}

// graceful run: supervise until the end; resolves with graceful's exit status.
async function runCommand(given: Inputs<RunKey | LifecycleKey>): Promise<number> {
  const options = resolveLifecycle(resolveRunOptions(given), given);
  // Loaded after the command line is known good: a usage error never pays for it.
  const { run } = await import('./commands/run/run.js');
  return run(options);
}

async function checkCommand(given: Inputs<CheckKey>): Promise<number> {
  const { resolveCheckOptions } = await import('./commands/check/options.js');
  const options = resolveCheckOptions(given);
  const { check } = await import('./commands/check/check.js');
  return check(options);
}

// graceful reload: ask a running graceful, through its control socket.
async function reloadCommand(given: Inputs<ReloadKey>): Promise<number> {
  const { resolveReloadCommand } = await import('./commands/reload/options.js');
  const options = resolveReloadCommand(given);
  const { reloadClient } = await import('./commands/reload/client.js');
  return reloadClient(options);
}

// graceful up: a stack from a file; its code (the stack, the file's parser) loaded only then.
async function upCommand(given: Inputs<UpKey>, check: boolean): Promise<number> {
  const { resolveUpOptions } = await import('./commands/up/options.js');
  const options = resolveUpOptions(given, check);
  const { up } = await import('./commands/up/up.js');
  return up(options);
}

// graceful ctl: steer a running graceful up, through its control socket.
async function ctlCommand(given: Inputs<CtlKey>): Promise<number> {
  const { resolveCtlCommand } = await import('./commands/ctl/options.js');
  const options = resolveCtlCommand(given);
  const { ctlClient } = await import('./commands/ctl/client.js');
  return ctlClient(options);
}

// What the command line gave, with what resolving it may consult of the system: the
// environment, paths and files (platform detection), graceful's own pid.
function withSystem<K extends string>(given: Pick<Inputs<K>, 'command' | 'flags'>): Inputs<K> {
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
function fail(argv: readonly string[], event: 'usage-error' | 'internal-error', text: string): void {
  if (jsonLog(argv)) say(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', event, program: null, msg: text })}\n`);
  else say(`graceful: ${text}\n`);
}

async function main(argv: string[]): Promise<number> {
  if (argv.length <= 2) {
    fail(argv, 'usage-error', 'missing a command, as in: graceful run -- node app.js; see graceful --help');
    return EXIT.usage;
  }
  let commander: typeof import('./cli/program.js') | null = null;
  // The command line as routed (graceful check -f is graceful up --check), for the help hint.
  let routed = argv;
  try {
    const plain = argv[2] === 'run' ? parseRunArgs(argv.slice(3), RUN_SPECS) : null;
    if (plain) return await runCommand(withSystem(plain));
    commander = await import('./cli/program.js');
    let status = 0;
    await commander
      .program({
        run: async (given) => void (status = await runCommand(withSystem(given))),
        check: async (given) => void (status = await checkCommand(withSystem(given))),
        reload: async (given) => void (status = await reloadCommand(withSystem(given))),
        up: async (given, check) => void (status = await upCommand(withSystem(given), check)),
        ctl: async (given) => void (status = await ctlCommand(withSystem(given))),
      })
      .parseAsync((routed = commander.stackCheckArgs(argv) ?? argv));
    return status;
  } catch (error) {
    const usage = commander?.commanderExit(error);
    if (usage) {
      if (usage.status === 0) return 0;
      fail(argv, 'usage-error', `${usage.line}; see ${helpHint(routed.slice(2))}`);
      return EXIT.usage;
    }
    if (error instanceof UsageError) {
      fail(argv, 'usage-error', error.line(helpHint(routed.slice(2))));
      return error.status;
    }
    const e = error as Error;
    fail(argv, 'internal-error', `internal error: ${e?.message ?? String(error)} (set GRACEFUL_DEBUG=1 for details)`);
    if (process.env.GRACEFUL_DEBUG) say(`${e?.stack}\n`);
    return EXIT.internal;
  }
}

main(process.argv).then(async (status) => {
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
});
