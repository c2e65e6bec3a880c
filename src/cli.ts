// The command line: commander declares `run` from the option table in options.ts; the one
// top-level catch turns every failure into one line on stderr and an exit status.
import { existsSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { EXIT, UsageError } from './errors.js';
import { RUN_OPTIONS, resolveRunOptions } from './options.js';
import { TRAPPED } from './signals.js';

declare const __VERSION__: string;

const EPILOG = `
Signals:
${TRAPPED.map((s) => `  ${s.name.padEnd(9)} ${s.disposition === 'stop' ? 'starts the shutdown' : s.disposition === 'forward' ? 'forwarded' : 'child gets SIGSTOP, then graceful stops'}`).join('\n')}

Exit status: the child's code; 128+n if it died of signal n; 0 for --success-exit-status;
126 not executable; 127 not found; 2 usage error.

Examples:
  graceful run -- node app.js
  graceful run --timeout 10s --pre-stop 'curl -fsS -X POST localhost:3000/drain' -- node app.js
  graceful run --preset kubernetes --stop-delay 5s --report-file /tmp/stop.json -- ./server`;

function program(): Command {
  const cli = new Command('graceful')
    .description('Run a program and stop it gracefully: forward signals, count down a grace period, escalate, report.')
    .version(typeof __VERSION__ === 'string' ? __VERSION__ : 'dev', '-V, --version')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeErr: () => {}, outputError: () => {} })
    .showSuggestionAfterError(true);

  const run = cli
    .command('run')
    .description('run <command> and supervise it until it exits')
    .usage('[options] -- <command> [args...]')
    .argument('[command...]', 'the program and its arguments, run directly (no shell)')
    // Everything from the command on belongs to the child, even what looks like our flags.
    .passThroughOptions()
    .exitOverride()
    .configureOutput({ writeErr: () => {}, outputError: () => {} })
    .addHelpText('after', EPILOG);
  for (const spec of RUN_OPTIONS) {
    run.addOption(new Option(spec.flags, `${spec.description} [default: ${spec.default}; env ${spec.env}]`));
  }
  run.action(async (command: string[], _opts: unknown, cmd: Command) => {
    const flags: Record<string, string | boolean | undefined> = {};
    for (const spec of RUN_OPTIONS) {
      if (cmd.getOptionValueSource(spec.key) === 'cli') flags[spec.key] = cmd.getOptionValue(spec.key);
    }
    const options = resolveRunOptions({ command, flags, env: process.env, exists: existsSync, pid: process.pid });
    // Loaded after the command line is known good: a usage error never pays for it.
    const { run: supervise } = await import('./run.js');
    process.exitCode = await supervise(options);
  });
  return cli;
}

// Commander's messages, made one line in graceful's format.
function commanderLine(error: CommanderError): string {
  const text = error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
  return `${text}; see graceful run --help`;
}

async function main(argv: string[]): Promise<number> {
  if (argv.length <= 2) {
    process.stderr.write('graceful: missing a command, as in: graceful run -- node app.js; see graceful --help\n');
    return EXIT.usage;
  }
  try {
    await program().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
      process.stderr.write(`graceful: ${commanderLine(error)}\n`);
      return EXIT.usage;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`graceful: ${error.line()}\n`);
      return error.status;
    }
    const e = error as Error;
    process.stderr.write(`graceful: internal error: ${e?.message ?? String(error)} (set GRACEFUL_DEBUG=1 for details)\n`);
    if (process.env.GRACEFUL_DEBUG) process.stderr.write(`${e?.stack}\n`);
    return EXIT.internal;
  }
}

main(process.argv).then((status) => process.exit(status));
