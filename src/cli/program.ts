// commander's view of the command line: `run`, `check`, --help, --version and every usage
// error, in commander's words made one line. main.ts loads it only when its own parser of
// `graceful run` (options.ts, parseRunArgs) does not take the command line as it is:
// commander and the program it builds cost start-up time and heap at every start
// (bench/analysis.md, "commander off the start path").
import { existsSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { exitHelp } from '../core/exit.js';
import { CHECKS } from '../core/judge.js';
import type { Inputs, OptionSpec } from '../config/options.js';
import { CHECK_SPECS, RUN_SPECS } from '../config/options.js';
import { RELOAD_COMMAND_OPTIONS } from '../config/listen.js';
import { addUpCommand } from './up-command.js';
import { fdStream } from '../shell/ui/output.js';
import { TRAPPED, type Disposition } from '../config/signals.js';

declare const __VERSION__: string;

const DOES: Record<Disposition, string> = {
  stop: 'starts the shutdown',
  forward: 'forwarded',
  suspend: 'graceful stops with the child',
};

const EPILOG = `
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

const CHECK_EPILOG = `
Checks: ${CHECKS.join(', ')}.

Exit status:
${exitHelp('check')}

Examples:
  graceful check --ready tcp:3000 --inflight http://127.0.0.1:3000/slow -- node server.js
  graceful check --ready http://127.0.0.1:3000/health --probe http://127.0.0.1:3000/ \\
    --max-shutdown 5s --junit junit.xml --repeat 3 -- node server.js`;

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

/** What each command does with its inputs (the command line's flags, the environment). */
export interface Actions {
  run(inputs: Inputs): Promise<void>;
  check(inputs: Inputs): Promise<void>;
  reload(flags: Record<string, unknown>): Promise<void>;
  up(inputs: Inputs, check: boolean): Promise<void>;
}

// The program: `run` and `check`, each with its options and help.
export function program(actions: Actions): Command {
  const cli = new Command('graceful')
    .description('Run a program and stop it gracefully: forward signals, count down a grace period, escalate, report.')
    .version(typeof __VERSION__ === 'string' ? __VERSION__ : 'dev', '-V, --version')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput(OUTPUT)
    .showSuggestionAfterError(true);

  command(cli, 'run', 'run <command> and supervise it until it exits', RUN_SPECS, EPILOG).action(
    (command: string[], _opts: unknown, cmd: Command) => actions.run(inputs(command, cmd, RUN_SPECS)),
  );
  command(
    cli,
    'check',
    'run <command>, stop it, and check that it shut down gracefully (exit 0 if every check passed, 1 if not)',
    CHECK_SPECS,
    CHECK_EPILOG,
  ).action((command: string[], _opts: unknown, cmd: Command) => actions.check(inputs(command, cmd, CHECK_SPECS)));
  reloadCommand(cli, actions);
  addUpCommand(cli, OUTPUT, (given, check) => actions.up(given, check));
  return cli;
}

// graceful reload: no command to run, a control socket to reach.
function reloadCommand(cli: Command, actions: Actions): void {
  const sub = cli
    .command('reload')
    .description('ask a running graceful (run with --listen or --control) for a zero-downtime reload; its exit status says switched, rolled back or failed')
    .exitOverride()
    .configureOutput(OUTPUT)
    .addHelpText('after', `\nExit status:\n${exitHelp('reload')}\n\nExamples:\n  graceful reload                  # the only graceful running with reloads on\n  ExecReload=graceful reload       # systemd: $MAINPID names it\n  graceful reload --control /run/app/graceful.sock`);
  for (const spec of RELOAD_COMMAND_OPTIONS) sub.addOption(new Option(spec.flags, `${spec.description} [default: ${spec.default}; env ${spec.env}]`));
  sub.action((_opts: unknown, cmd: Command) => actions.reload(cmd.opts()));
}

// A subcommand taking a command to run, with `specs` as its options.
function command(cli: Command, name: string, description: string, specs: readonly OptionSpec[], epilog: string): Command {
  const sub = cli
    .command(name)
    .description(description)
    .usage('[options] -- <command> [args...]')
    .argument('[command...]', 'the program and its arguments, run directly (no shell)')
    // Everything from the command on belongs to the child, even what looks like our flags.
    .passThroughOptions()
    .exitOverride()
    .configureOutput(OUTPUT)
    .addHelpText('after', epilog);
  for (const spec of specs) {
    const option = new Option(spec.flags, `${spec.description} [default: ${spec.default}; env ${spec.env}]`);
    if (spec.repeatable) option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    sub.addOption(option);
  }
  return sub;
}

// The values given on the command line (not commander's defaults), with the environment.
function inputs(command: string[], cmd: Command, specs: readonly OptionSpec[]): Inputs {
  const flags: Inputs['flags'] = {};
  for (const spec of specs) {
    if (cmd.getOptionValueSource(spec.key) === 'cli') flags[spec.key] = cmd.getOptionValue(spec.key);
  }
  return { command, flags, env: process.env, exists: existsSync, pid: process.pid };
}

// A commander error as graceful's exit: 0 for help and version (printed), else a usage
// error's one line; null for an error that is not commander's.
export function commanderExit(error: unknown): { status: 0 } | { status: 'usage'; line: string } | null {
  if (!(error instanceof CommanderError)) return null;
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return { status: 0 };
  // Commander's messages, made one line in graceful's format.
  const text = error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
  return { status: 'usage', line: text };
}

export { stackCheckArgs } from './up-command.js';
