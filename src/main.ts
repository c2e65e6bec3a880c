// The command line: `graceful run` read by options.ts's own parser when it takes it as it
// is (the start path: commander is not loaded), else by commander (program.ts): help,
// version, `check`, every usage error. The one top-level catch turns every failure into
// one line on stderr and an exit status.
import { existsSync } from 'node:fs';
import { EXIT, UsageError } from './config/errors.js';
import { parseRunArgs, resolveCheckOptions, resolveLifecycle, resolveRunOptions, RUN_SPECS, type Inputs } from './config/options.js';
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
async function runCommand(given: Inputs): Promise<number> {
  const options = resolveLifecycle(resolveRunOptions(given), given);
  // Loaded after the command line is known good: a usage error never pays for it.
  const { run } = await import('./commands/run/run.js');
  return run(options);
}

async function checkCommand(given: Inputs): Promise<number> {
  const options = resolveCheckOptions(given);
  const { check } = await import('./commands/check/check.js');
  return check(options);
}

// graceful reload: ask a running graceful, through its control socket.
async function reloadCommand(flags: Record<string, unknown>): Promise<number> {
  const { resolveReloadCommand } = await import('./config/listen.js');
  const options = resolveReloadCommand(flags, process.env);
  const { reloadClient } = await import('./commands/reload/client.js');
  return reloadClient(options);
}

// graceful up: a stack from a file; its code (the stack, the file's parser) loaded only then.
async function upCommand(given: Inputs, check: boolean): Promise<number> {
  const { resolveUpOptions } = await import('./commands/up/options.js');
  const options = resolveUpOptions(given, check);
  const { up } = await import('./commands/up/up.js');
  return up(options);
}

async function main(argv: string[]): Promise<number> {
  if (argv.length <= 2) {
    say('graceful: missing a command, as in: graceful run -- node app.js; see graceful --help\n');
    return EXIT.usage;
  }
  let commander: typeof import('./cli/program.js') | null = null;
  try {
    const plain = argv[2] === 'run' ? parseRunArgs(argv.slice(3), RUN_SPECS) : null;
    if (plain) return await runCommand({ ...plain, env: process.env, exists: existsSync, pid: process.pid });
    commander = await import('./cli/program.js');
    let status = 0;
    await commander
      .program({
        run: async (given) => void (status = await runCommand(given)),
        check: async (given) => void (status = await checkCommand(given)),
        reload: async (flags) => void (status = await reloadCommand(flags)),
        up: async (given, check) => void (status = await upCommand(given, check)),
      })
      .parseAsync(commander.stackCheckArgs(argv) ?? argv);
    return status;
  } catch (error) {
    const usage = commander?.commanderExit(error);
    if (usage) {
      if (usage.status === 0) return 0;
      say(`graceful: ${argv[2] === 'up' ? usage.line.replace('graceful run --help', 'graceful up --help') : usage.line}\n`);
      return EXIT.usage;
    }
    if (error instanceof UsageError) {
      say(`graceful: ${error.line()}\n`);
      return error.status;
    }
    const e = error as Error;
    say(`graceful: internal error: ${e?.message ?? String(error)} (set GRACEFUL_DEBUG=1 for details)\n`);
    if (process.env.GRACEFUL_DEBUG) say(`${e?.stack}\n`);
    return EXIT.internal;
  }
}

main(process.argv).then(async (status) => {
  // graceful's last lines may still be on their way to a slow stderr.
  await flushOrHardExit(status);
  // Every line is written and every file closed: unless something asked Node for work at
  // exit (an 'exit' listener, such as the build's code cache or a library's clean-up; a
  // profiler or coverage flag), end here (output.ts: drained; ffi.ts: quickExit).
  if (process.listenerCount('exit') === 0 && process.execArgv.length === 0 && !ownNodeOptions && !process.env.NODE_V8_COVERAGE) {
    quickExit(status);
  }
  process.exit(status);
});
