// The command line: commander declares `run` from the option table in options.ts; the one
// top-level catch turns every failure into one line on stderr and an exit status.
import { existsSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { EXIT, UsageError } from './errors.js';
import { exitHelp } from './core/exit.js';
import { CHECKS } from './core/judge.js';
import { CHECK_OPTIONS, CHECK_RUN_OPTIONS, LIFECYCLE_OPTIONS, RUN_OPTIONS, resolveCheckOptions, resolveLifecycle, resolveRunOptions, type OptionSpec } from './options.js';
import { drained, fdStream, say } from './shell/output.js';
import { TRAPPED, type Disposition } from './signals.js';
import { addUpCommand, resolveUpOptions, stackCheckArgs } from './up-command.js';

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

function program(): Command {
  const cli = new Command('graceful')
    .description('Run a program and stop it gracefully: forward signals, count down a grace period, escalate, report.')
    .version(typeof __VERSION__ === 'string' ? __VERSION__ : 'dev', '-V, --version')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput(OUTPUT)
    .showSuggestionAfterError(true);

  const runSpecs = [...RUN_OPTIONS, ...LIFECYCLE_OPTIONS];
  command(cli, 'run', 'run <command> and supervise it until it exits', runSpecs, EPILOG).action(
    async (command: string[], _opts: unknown, cmd: Command) => {
      const given = inputs(command, cmd, runSpecs);
      const options = resolveLifecycle(resolveRunOptions(given), given);
      // Loaded after the command line is known good: a usage error never pays for it.
      const { run } = await import('./run.js');
      process.exitCode = await run(options);
    },
  );
  command(
    cli,
    'check',
    'run <command>, stop it, and check that it shut down gracefully (exit 0 if every check passed, 1 if not)',
    [...CHECK_RUN_OPTIONS, ...CHECK_OPTIONS],
    CHECK_EPILOG,
  ).action(async (command: string[], _opts: unknown, cmd: Command) => {
    const options = resolveCheckOptions(inputs(command, cmd, [...CHECK_RUN_OPTIONS, ...CHECK_OPTIONS]));
    const { check } = await import('./check.js');
    process.exitCode = await check(options);
  });
  addUpCommand(cli, OUTPUT, async (given, check) => {
    const options = resolveUpOptions(given, check);
    // Loaded only for `up`: the stack, its file's parser (js-yaml).
    const { up } = await import('./up.js');
    process.exitCode = await up(options);
  });
  return cli;
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
    sub.addOption(new Option(spec.flags, `${spec.description} [default: ${spec.default}; env ${spec.env}]`));
  }
  return sub;
}

// The values given on the command line (not commander's defaults), with the environment.
function inputs(command: string[], cmd: Command, specs: readonly OptionSpec[]) {
  const flags: Record<string, string | boolean | undefined> = {};
  for (const spec of specs) {
    if (cmd.getOptionValueSource(spec.key) === 'cli') flags[spec.key] = cmd.getOptionValue(spec.key);
  }
  return { command, flags, env: process.env, exists: existsSync, pid: process.pid };
}

// Commander's messages, made one line in graceful's format.
function commanderLine(error: CommanderError): string {
  const text = error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
  return `${text}; see graceful run --help`;
}

async function main(argv: string[]): Promise<number> {
  if (argv.length <= 2) {
    say('graceful: missing a command, as in: graceful run -- node app.js; see graceful --help\n');
    return EXIT.usage;
  }
  try {
    await program().parseAsync(stackCheckArgs(argv) ?? argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
      say(`graceful: ${commanderLine(error).replace('graceful run --help', argv[2] === 'up' ? 'graceful up --help' : 'graceful run --help')}\n`);
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

// graceful's last lines may still be on their way to a slow stderr: give them a moment,
// not for ever (a reader that never reads must not keep graceful from exiting).
const EXIT_FLUSH_MS = 1000;

main(process.argv).then(async (status) => {
  if (!(await drained(EXIT_FLUSH_MS))) {
    // A write still stuck on stderr would make process.exit() wait for it for ever.
    const { hardExit } = await import('./shell/ffi.js');
    hardExit(status);
  }
  process.exit(status);
});
