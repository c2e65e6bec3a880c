// The whole command line, read by commander (cli/program.ts): help, version, every command,
// every usage error. The one top-level catch turns every failure into one line on stderr and
// an exit status. Bundled into dist/cli.cjs. `graceful run` starts from main-run.ts
// (dist/run.cjs), whose own parser takes the plain command lines; what it does not take, it
// hands to this file, so there is no fast path here to read them a second time.
import { EXIT, helpHint } from './config/errors.js';
import type { Inputs } from './config/args.js';
import type { CheckKey } from './commands/check/options.js';
import type { ReloadKey } from './commands/reload/options.js';
import type { UpKey } from './commands/up/options.js';
import type { CtlKey } from './commands/ctl/options.js';
import { adoptEnvironment, fail, failed, finish, runCommand, withSystem } from './entry.js';

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

async function main(argv: string[]): Promise<number> {
  if (argv.length <= 2) {
    fail(argv, 'usage-error', 'missing a command, as in: graceful run -- node app.js; see graceful --help');
    return EXIT.usage;
  }
  let commander: typeof import('./cli/program.js') | null = null;
  // The command line as routed (graceful check -f is graceful up --check), for the help hint.
  let routed = argv;
  try {
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
    return failed(argv, error, helpHint(routed.slice(2)));
  }
}

adoptEnvironment();
main(process.argv).then(finish);
