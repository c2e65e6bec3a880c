// commander's view of the command line: the four commands, --help, --version and every usage
// error, in commander's words made one line. main.ts (dist/cli.cjs) loads it; `graceful run`
// never does when main-run.ts's own parser (config/args.ts, parseRunArgs) takes the command
// line as it is: commander and the program it builds cost start-up time and heap at every start
// (bench/analysis.md, "commander off the start path").
import { Command, CommanderError, Option } from 'commander';
import type { Inputs, OptionSpec } from '../config/args.js';
import { RUN_SPECS, type LifecycleKey, type RunKey } from '../config/options.js';
import { TRAPPED, type Disposition } from '../config/signals.js';
import { exitHelp } from '../core/exit.js';
import { CHECKS } from '../core/judge.js';
import { CHECK_SPECS, type CheckKey } from '../commands/check/options.js';
import { RELOAD_COMMAND_OPTIONS, type ReloadKey } from '../commands/reload/options.js';
import { UP_OPTIONS, type UpKey } from '../commands/up/options.js';
import { CTL_COMMANDS, CTL_OPTIONS, type CtlKey } from '../commands/ctl/options.js';
import { fdStream } from '../shell/ui/output.js';

declare const __VERSION__: string;

const DOES: Record<Disposition, string> = {
  stop: 'starts the shutdown',
  forward: 'forwarded',
  suspend: 'graceful stops with the child',
};

const RUN_EPILOG = () => `
Signals:
${TRAPPED.map((s) => `  ${s.name.padEnd(9)} ${DOES[s.disposition]}${s.interactive ? `; with --interactive: ${s.interactive === 'forward' ? "the child's alone" : DOES[s.interactive]}` : ''}`).join('\n')}
On a terminal, the child shares graceful's process group and terminal: what the terminal
sends (Ctrl+C, Ctrl+Z, a resize) reaches it directly, once.

Exit status:
${exitHelp('run')}

Examples:
  graceful run -- node app.js
  graceful run --timeout 10s --pre-stop 'curl -fsS -X POST localhost:3000/drain' -- node app.js
  graceful run --preset kubernetes --stop-delay 5s --report-file /tmp/stop.json -- ./server`;

const CHECK_EPILOG = () => `
Checks: ${CHECKS.join(', ')}.

Exit status:
${exitHelp('check')}

Examples:
  graceful check --ready tcp:3000 --inflight http://127.0.0.1:3000/slow -- node server.js
  graceful check --ready http://127.0.0.1:3000/health --probe http://127.0.0.1:3000/ \\
    --max-shutdown 5s --junit junit.xml --repeat 3 -- node server.js`;

const RELOAD_EPILOG = () => `
Exit status:
${exitHelp('reload')}

Examples:
  graceful reload                  # the only graceful running with reloads on
  ExecReload=graceful reload       # systemd: $MAINPID names it
  graceful reload --control /run/app/graceful.sock`;

const CTL_EPILOG = () => `
Commands:
${Object.entries(CTL_COMMANDS).map(([name, c]) => `  ${`${name} ${c.operands.map((o) => o.toUpperCase()).join(' ')}`.padEnd(20)}${c.does}`).join('\n')}

Exit status:
${exitHelp('ctl')}

Examples:
  graceful ctl status
  graceful ctl restart api             # its restart: true dependents follow it
  graceful ctl stop redis --with-dependents
  graceful ctl scale web 4             # web has listen: in the stack file`;

const UP_EPILOG = () => `
The file (docs/up.md): processes: (or services:), each with command, depends_on (started,
ready or completed), ready (tcp:PORT, http://..., log:REGEX, exec:COMMAND, ipc, notify), env,
cwd, on_exit, and graceful run's options (stop_signal, stop_grace_period or timeout,
kill_signal, kill_mode, pre_stop, stop_delay, restart, max_memory, ...). Or a Procfile.

Start: each process once its dependencies meet their condition; independent ones together.
Stop (SIGTERM, Ctrl+C, --exit-with's process ending, a process failing): reverse order,
independent branches together, each through its own stop sequence. Ctrl+C again kills.

Exit status:
${exitHelp('up')}

Examples:
  graceful up
  graceful up -f stack.yml api
  graceful up --exit-with tests          # CI: start the stack, run the tests, stop it
  graceful check -f stack.yml            # stops in order and in time?`;

// --help and --version are the only text graceful writes to stdout. Through output.ts, like
// everything else: a closed stdout (`graceful run --help | head -1`) or a full disk ends the
// text, never graceful with a stack trace (a Node stream would throw EPIPE as an unhandled
// 'error' event).
const OUTPUT = {
  writeOut: (text: string) => {
    const stdout = fdStream(1);
    if (!stdout.destroyed) stdout.write(text);
  },
  writeErr: () => {},
  outputError: () => {},
};

/** What the command line gave a command: its operands and the flags given (not commander's defaults). */
export type Given<K extends string> = Pick<Inputs<K>, 'command' | 'flags'>;

/** What each command does with what it was given (main.ts adds the environment). */
export interface Actions {
  run(given: Given<RunKey | LifecycleKey>): Promise<void>;
  check(given: Given<CheckKey>): Promise<void>;
  reload(given: Given<ReloadKey>): Promise<void>;
  up(given: Given<UpKey>, check: boolean): Promise<void>;
  ctl(given: Given<CtlKey>): Promise<void>;
}

/** A command as commander shows it: its words, its operands, its options and its help's end. */
interface CommandDef<K extends string> {
  name: string;
  description: string;
  usage: string;
  /** Its operands ([name, help]), or none. */
  operands: [string, string] | null;
  /** Everything from the operands on belongs to the child, even what looks like our flags. */
  passThrough: boolean;
  specs: readonly OptionSpec<K>[];
  epilog: () => string;
  action: (given: Given<K>) => Promise<void>;
}

// The program: every command, each with its options and help.
export function program(actions: Actions): Command {
  const cli = new Command('graceful')
    .description('Run a program and stop it gracefully: forward signals, count down a grace period, escalate, report.')
    .version(typeof __VERSION__ === 'string' ? __VERSION__ : 'dev', '-V, --version')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput(OUTPUT)
    .showSuggestionAfterError(true);
  const command = '[command...]';
  const program = 'the program and its arguments, run directly (no shell)';
  addCommand(cli, { name: 'run', description: 'run <command> and supervise it until it exits', usage: '[options] -- <command> [args...]', operands: [command, program], passThrough: true, specs: RUN_SPECS, epilog: RUN_EPILOG, action: actions.run });
  addCommand(cli, {
    name: 'check',
    description: 'run <command>, stop it, and check that it shut down gracefully (exit 0 if every check passed, 1 if not)',
    usage: '[options] -- <command> [args...]',
    operands: [command, program],
    passThrough: true,
    specs: CHECK_SPECS,
    epilog: CHECK_EPILOG,
    action: actions.check,
  });
  addCommand(cli, {
    name: 'reload',
    description: 'ask a running graceful (run with --listen or --control) for a zero-downtime reload; its exit status says switched, rolled back or failed',
    usage: '[options]',
    operands: null,
    passThrough: false,
    specs: RELOAD_COMMAND_OPTIONS,
    epilog: RELOAD_EPILOG,
    action: actions.reload,
  });
  addCommand(cli, {
    name: 'up',
    description: 'start the processes of a stack file in dependency order, and stop them in reverse order',
    usage: '[options] [name...]',
    operands: ['[name...]', 'start only these processes, and those they depend on'],
    passThrough: false,
    specs: UP_OPTIONS,
    epilog: UP_EPILOG,
    action: (inputs) => actions.up(inputs, false),
  });
  addCommand(cli, {
    name: 'ctl',
    description: 'steer a running graceful up: status, and start, stop, restart, scale or reload one of its processes, in the stack\'s order',
    usage: '[options] <command> [name] [count]',
    operands: ['[words...]', 'the command (status, start, stop, restart, scale, reload), the process\'s name, scale\'s count'],
    passThrough: false,
    specs: CTL_OPTIONS,
    epilog: CTL_EPILOG,
    action: actions.ctl,
  });
  return cli;
}

// Adds one command: its options from its table (help text with the default and the
// variable), and an action given the values from the command line (not commander's
// defaults).
function addCommand<K extends string>(cli: Command, def: CommandDef<K>): void {
  const sub = cli.command(def.name).description(def.description).usage(def.usage).exitOverride().configureOutput(OUTPUT).addHelpText('after', () => def.epilog());
  if (def.operands) sub.argument(def.operands[0], def.operands[1]);
  if (def.passThrough) sub.passThroughOptions();
  for (const spec of def.specs) {
    const option = new Option(spec.flags, `${spec.description} [default: ${spec.default}; env ${spec.env}]`);
    if (spec.repeatable) option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    sub.addOption(option);
  }
  sub.action((...args: unknown[]) => {
    const cmd = args.at(-1) as Command;
    const operands = def.operands ? (args[0] as string[]) : [];
    const flags: Inputs<K>['flags'] = {};
    for (const spec of def.specs) {
      if (cmd.getOptionValueSource(spec.key) === 'cli') flags[spec.key] = cmd.getOptionValue(spec.key);
    }
    return def.action({ command: operands, flags });
  });
}

// A commander error as graceful's exit: 0 for help and version (printed), else a usage
// error's one line (main.ts adds the help hint); null for an error that is not commander's.
export function commanderExit(error: unknown): { status: 0 } | { status: 'usage'; line: string } | null {
  if (!(error instanceof CommanderError)) return null;
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return { status: 0 };
  // Commander's messages, made one line in graceful's format.
  const text = error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
  return { status: 'usage', line: text };
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
