// The bad input matrix: every option of graceful run and graceful check, with malformed
// values, from the command line and from its GRACEFUL_* variable. Run in-process against
// options.ts (test/unit/bad-input.test.ts), a few of them through the real CLI
// (test/e2e/bad-input.test.ts), and counted in the docs (test/unit/readme.test.ts).
import { helpHint, UsageError } from '../../src/config/errors.js';
import type { OptionSpec } from '../../src/config/args.js';
import { LIFECYCLE_OPTIONS, RUN_OPTIONS, resolveLifecycle, resolveRunOptions } from '../../src/config/options.js';
import { CHECK_OPTIONS, resolveCheckOptions } from '../../src/commands/check/options.js';

type Kind = 'duration' | 'signal' | 'size' | 'port' | 'count' | 'choice' | 'url' | 'statuses' | 'ready' | 'boolean' | 'path' | 'free' | 'listen' | 'socket' | 'reloadSignal' | 'instances';

// What each option takes, by its key.
const KIND: Record<string, Kind> = {
  timeout: 'duration', stopDelay: 'duration', readyTimeout: 'duration', platformTimeout: 'duration',
  restartDelay: 'duration', restartDelayMax: 'duration', minUptime: 'duration', restartWindow: 'duration',
  monitorInterval: 'duration', after: 'duration', maxShutdown: 'duration', lbLag: 'duration', requireAll: 'boolean', finalScrape: 'duration',
  stopSignal: 'signal', killSignal: 'signal',
  maxMemory: 'size', healthPort: 'port',
  maxRestarts: 'count', inflightCount: 'count', repeat: 'count', reload: 'count',
  killMode: 'choice', preset: 'choice', restart: 'choice', listenPid: 'choice', logFormat: 'choice',
  listen: 'listen', control: 'socket', reloadSignal: 'reloadSignal', instances: 'instances',
  inflight: 'url', probe: 'url',
  successExitStatus: 'statuses', ready: 'ready',
  kill: 'boolean', sigcont: 'boolean', subreaper: 'boolean', interactive: 'boolean', quiet: 'boolean', verbose: 'boolean',
  backoff: 'boolean', stats: 'boolean', allowRemote: 'boolean',
  reportFile: 'path',
  // Any text is a valid value: a shell command, a path, a host name.
  preStop: 'free', junit: 'free', healthHost: 'free',
};

// Malformed values of each kind. Empty strings are bad flag values; an empty variable
// counts as unset, so variables get the others only.
const BAD: Record<Kind, string[]> = {
  duration: ['10x', '-1s', '1e999', 'Infinity', '1m30', ''],
  signal: ['SIGFOO', '0', '99', '-15', ''],
  size: ['0', '10X', '-1M', '1e9', 'M', ''],
  port: ['0', '70000', 'http', '-1', ''],
  count: ['x', '-1', '1.5', ''],
  choice: ['sometimes', 'GROUPS', ''],
  url: ['http://10.1.2.3/slow', 'https://127.0.0.1/', 'not a url'],
  statuses: ['256', 'SIGNOPE', '1,,x'],
  ready: ['tcp:70000', 'tcp:x', 'log:(', 'carrier-pigeon'],
  boolean: ['maybe', '2'],
  // A file to write: any name will do, but no name at all.
  path: [''],
  free: [],
  listen: ['tcp://example.com:80', 'tcp://127.0.0.1:70000', 'tcp://[::g]:80', 'http://127.0.0.1:80', 'unix:relative.sock', 'we b=tcp://127.0.0.1:1', ''],
  // A Unix socket's path: absolute.
  socket: ['relative.sock', ''],
  reloadSignal: ['SIGTERM', 'SIGFOO', 'SIGCONT', ''],
  // A count of copies from 1, or max.
  instances: ['0', '-2', '1.5', 'all', '99999', ''],
};

export interface Case {
  name: string;
  /** The command line, after `graceful`. */
  args: string[];
  env: Record<string, string>;
  /** What the error line must name: the option, the variable or the argument. */
  names: string;
  /**
   * What the command-line parser hands to options.ts for `args` (the command, and the flags
   * given, by option key); null where the parser itself rejects the line (an unknown option,
   * a missing value), before options.ts sees it.
   */
  parsed: { verb: 'run' | 'check'; command: string[]; flags: Record<string, string> } | null;
}

const NO_FLAG_VALUE: Partial<Record<Kind, true>> = { boolean: true };

function cases(verb: 'run' | 'check', specs: readonly OptionSpec[]): Case[] {
  const out: Case[] = [];
  for (const spec of specs) {
    const kind = KIND[spec.key];
    if (!kind) throw new Error(`no kind for option ${spec.key}: add it to the matrix`);
    const flag = spec.flags.match(/--[\w-]+/)![0];
    for (const value of BAD[kind]) {
      if (!NO_FLAG_VALUE[kind] && !(kind === 'url' && value === '') && !(kind === 'ready' && value === '')) {
        out.push({
          name: `${verb} ${flag} ${JSON.stringify(value)}`,
          args: [verb, flag, value, '--', 'true'],
          env: {},
          names: flag,
          parsed: { verb, command: ['true'], flags: { [spec.key]: value } },
        });
      }
      if (value !== '') {
        out.push({
          name: `${verb} ${spec.env}=${JSON.stringify(value)}`,
          args: [verb, '--', 'true'],
          env: { [spec.env]: value },
          names: spec.env,
          parsed: { verb, command: ['true'], flags: {} },
        });
      }
    }
  }
  return out;
}

export const MATRIX: Case[] = [
  ...cases('run', [...RUN_OPTIONS, ...LIFECYCLE_OPTIONS]),
  ...cases('check', CHECK_OPTIONS),
  { name: 'run --timout (unknown option)', args: ['run', '--timout', '1s', '--', 'true'], env: {}, names: "unknown option '--timout'", parsed: null },
  { name: 'check --inflite (unknown option)', args: ['check', '--inflite', 'x', '--', 'true'], env: {}, names: "unknown option '--inflite'", parsed: null },
  { name: 'run without a command', args: ['run'], env: {}, names: 'run', parsed: { verb: 'run', command: [], flags: {} } },
  { name: 'check without a command', args: ['check', '--after', '1s'], env: {}, names: 'check', parsed: { verb: 'check', command: [], flags: { after: '1s' } } },
  {
    name: 'run --stop-delay as long as --timeout',
    args: ['run', '--timeout', '2s', '--stop-delay', '2s', '--', 'true'],
    env: {},
    names: '--stop-delay',
    parsed: { verb: 'run', command: ['true'], flags: { timeout: '2s', stopDelay: '2s' } },
  },
  { name: 'run --timeout without a value', args: ['run', '--timeout'], env: {}, names: "option '-t, --timeout <duration>' argument missing", parsed: null },
];

// What graceful answers a parsed case with, in-process: options.ts resolves it as the CLI's
// run and check actions do, and a UsageError becomes what main.ts's one top-level catch
// prints and exits with. null: the values were accepted. The real CLI gives the same line
// (test/e2e/bad-input.test.ts compares them).
export function answer(parsed: NonNullable<Case['parsed']>, env: Record<string, string>): { status: number; line: string } | null {
  // No platform: this machine may look like a container (/.dockerenv); that is not under test.
  const inputs = { command: parsed.command, flags: parsed.flags, env, exists: () => false, pid: 4242 };
  try {
    if (parsed.verb === 'run') resolveLifecycle(resolveRunOptions(inputs), inputs);
    else resolveCheckOptions(inputs);
    return null;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return { status: error.status, line: `graceful: ${error.line(helpHint([parsed.verb]))}` };
  }
}
