// `graceful up` on commander's command line, and `graceful check -f FILE` routed to it. The
// stack's code (commands/up/, the file's parser) is loaded only when `up` is the command: nothing of
// it runs, or is even compiled, on graceful run's start path.
import { existsSync } from 'node:fs';
import { Option, type Command, type OutputConfiguration } from 'commander';
import { exitHelp } from '../core/exit.js';
import type { Inputs } from '../config/options.js';
import { UP_OPTIONS } from '../commands/up/options.js';

const epilog = () => `
The file (docs/up.md): processes: (or services:), each with command, depends_on (started,
ready or completed), ready (tcp:PORT, http://..., log:REGEX, exec:COMMAND, ipc, notify), env,
cwd, on_exit, and graceful run's options (stop_signal, stop_grace_period or timeout,
kill_signal, kill_mode, pre_stop, stop_delay, restart, max_memory, ...). Or a Procfile.

Start: each process once its dependencies meet their condition; independent ones together.
Stop (SIGTERM, Ctrl+C, --exit-with's process ending, a process failing): reverse order,
independent branches together, each through its own stop sequence. Ctrl+C again kills.

Exit status: --exit-with's process's status; else the status of the process that ended the
stack; else 0 if each process stopped with success, or the first failure.
${exitHelp('run').split('\n').filter((l) => /^\s+(2|70)\s/.test(l)).join('\n')}

Examples:
  graceful up
  graceful up -f stack.yml api
  graceful up --exit-with tests          # CI: start the stack, run the tests, stop it
  graceful check -f stack.yml            # stops in order and in time?`;

/** What the command does with its options: commands/up/up.ts, loaded then. */
export type UpAction = (inputs: Inputs, check: boolean) => Promise<void>;

// Adds `up` to the program.
export function addUpCommand(cli: Command, output: OutputConfiguration, action: UpAction): void {
  const sub = cli
    .command('up')
    .description('start the processes of a stack file in dependency order, and stop them in reverse order')
    .usage('[options] [name...]')
    .argument('[name...]', 'start only these processes, and those they depend on')
    .exitOverride()
    .configureOutput(output);
  sub.addHelpText('after', epilog());
  for (const spec of UP_OPTIONS) sub.addOption(new Option(spec.flags, `${spec.description} [default: ${spec.default}; env ${spec.env}]`));
  sub.action(async (names: string[], _opts: unknown, cmd: Command) => {
    const flags: Record<string, string | boolean | undefined> = {};
    for (const spec of UP_OPTIONS) if (cmd.getOptionValueSource(spec.key) === 'cli') flags[spec.key] = cmd.getOptionValue(spec.key);
    await action({ command: names, flags, env: process.env, exists: existsSync, pid: process.pid }, false);
  });
}

// `graceful check -f FILE ...` (or --file): a stack check, the same as `graceful up --check
// -f FILE ...`. Returns up's argv, or null when it is a check of one command.
export function stackCheckArgs(argv: readonly string[]): string[] | null {
  if (argv[2] !== 'check') return null;
  const args = argv.slice(3);
  const end = args.indexOf('--');
  const own = end === -1 ? args : args.slice(0, end);
  if (!own.some((a) => a === '-f' || a === '--file' || a.startsWith('--file='))) return null;
  return [...argv.slice(0, 2), 'up', '--check', ...args];
}

