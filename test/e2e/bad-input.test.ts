// The bad input matrix: every option with malformed values, from the command line and from
// its GRACEFUL_* variable. Each must end in one line on stderr that names the option or the
// variable, exit status 2, nothing on stdout, no stack trace, and nothing started.
import { describe, expect, it } from 'vitest';
import { CHECK_OPTIONS, LIFECYCLE_OPTIONS, RUN_OPTIONS, type OptionSpec } from '../../src/options.js';
import { exitOf, start, useHarness } from './harness.js';

useHarness();

type Kind = 'duration' | 'signal' | 'size' | 'port' | 'count' | 'choice' | 'url' | 'statuses' | 'ready' | 'boolean' | 'free';

// What each option takes, by its key.
const KIND: Record<string, Kind> = {
  timeout: 'duration', stopDelay: 'duration', readyTimeout: 'duration', platformTimeout: 'duration',
  restartDelay: 'duration', restartDelayMax: 'duration', minUptime: 'duration', restartWindow: 'duration',
  monitorInterval: 'duration', after: 'duration', maxShutdown: 'duration',
  stopSignal: 'signal', killSignal: 'signal',
  maxMemory: 'size', healthPort: 'port',
  maxRestarts: 'count', inflightCount: 'count', repeat: 'count',
  killMode: 'choice', preset: 'choice', restart: 'choice',
  inflight: 'url', probe: 'url',
  successExitStatus: 'statuses', ready: 'ready',
  kill: 'boolean', sigcont: 'boolean', subreaper: 'boolean', quiet: 'boolean', verbose: 'boolean',
  backoff: 'boolean', stats: 'boolean', allowRemote: 'boolean',
  // Any text is a valid value: a shell command, a path, a host name.
  preStop: 'free', reportFile: 'free', junit: 'free', healthHost: 'free',
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
  free: [],
};

interface Case {
  name: string;
  args: string[];
  env: Record<string, string>;
  names: string;
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
        out.push({ name: `${verb} ${flag} ${JSON.stringify(value)}`, args: [verb, flag, value, '--', 'true'], env: {}, names: flag });
      }
      if (value !== '') out.push({ name: `${verb} ${spec.env}=${JSON.stringify(value)}`, args: [verb, '--', 'true'], env: { [spec.env]: value }, names: spec.env });
    }
  }
  return out;
}

const MATRIX: Case[] = [
  ...cases('run', [...RUN_OPTIONS, ...LIFECYCLE_OPTIONS]),
  ...cases('check', CHECK_OPTIONS),
  { name: 'run --timout (unknown option)', args: ['run', '--timout', '1s', '--', 'true'], env: {}, names: "unknown option '--timout'" },
  { name: 'check --inflite (unknown option)', args: ['check', '--inflite', 'x', '--', 'true'], env: {}, names: "unknown option '--inflite'" },
  { name: 'run without a command', args: ['run'], env: {}, names: 'run' },
  { name: 'check without a command', args: ['check', '--after', '1s'], env: {}, names: 'check' },
  { name: 'run --stop-delay as long as --timeout', args: ['run', '--timeout', '2s', '--stop-delay', '2s', '--', 'true'], env: {}, names: '--stop-delay' },
  { name: 'run --timeout without a value', args: ['run', '--timeout'], env: {}, names: "option '-t, --timeout <duration>' argument missing" },
];

describe('the bad input matrix', () => {
  it(`covers every option (${MATRIX.length} cases)`, () => {
    expect(MATRIX.length).toBeGreaterThan(150);
  });

  it.each(MATRIX)('$name: one line naming it, status 2', async ({ args, env, names }) => {
    const run = start(args, { env });
    const exit = await exitOf(run);
    expect(exit.code).toBe(2);
    const lines = run.stderr.text.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^graceful: /);
    expect(lines[0]).toContain(names);
    expect(run.stderr.text).not.toMatch(/\n\s+at /);
    expect(run.stdout.text).toBe('');
  });
});

describe('accepted with a warning', () => {
  it('--stop-signal KILL runs, and says the child gets no chance to shut down', async () => {
    const run = start(['run', '--stop-signal', 'KILL', '--', 'true']);
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stderr.text).toMatch(/warning: --stop-signal SIGKILL cannot be caught: the child gets no chance to shut down gracefully/);
  });

  it('an empty variable is unset: GRACEFUL_TIMEOUT= leaves the default', async () => {
    const run = start(['run', '--', 'true'], { env: { GRACEFUL_TIMEOUT: '', GRACEFUL_STOP_SIGNAL: '' } });
    expect((await exitOf(run)).code).toBe(0);
    expect(run.stderr.text).not.toMatch(/GRACEFUL_/);
  });
});
