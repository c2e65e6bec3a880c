// The bad input matrix: every option of graceful run and graceful check, with malformed
// values, from the command line and from its GRACEFUL_* variable. Shared by the test that
// runs it and the README test that checks the count the README states.
import { CHECK_OPTIONS, LIFECYCLE_OPTIONS, RUN_OPTIONS, type OptionSpec } from '../../src/options.js';

type Kind = 'duration' | 'signal' | 'size' | 'port' | 'count' | 'choice' | 'url' | 'statuses' | 'ready' | 'boolean' | 'path' | 'free' | 'listen' | 'socket' | 'reloadSignal';

// What each option takes, by its key.
const KIND: Record<string, Kind> = {
  timeout: 'duration', stopDelay: 'duration', readyTimeout: 'duration', platformTimeout: 'duration',
  restartDelay: 'duration', restartDelayMax: 'duration', minUptime: 'duration', restartWindow: 'duration',
  monitorInterval: 'duration', after: 'duration', maxShutdown: 'duration',
  stopSignal: 'signal', killSignal: 'signal',
  maxMemory: 'size', healthPort: 'port',
  maxRestarts: 'count', inflightCount: 'count', repeat: 'count', reload: 'count',
  killMode: 'choice', preset: 'choice', restart: 'choice', listenPid: 'choice',
  listen: 'listen', control: 'socket', reloadSignal: 'reloadSignal',
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
};

export interface Case {
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

export const MATRIX: Case[] = [
  ...cases('run', [...RUN_OPTIONS, ...LIFECYCLE_OPTIONS]),
  ...cases('check', CHECK_OPTIONS),
  { name: 'run --timout (unknown option)', args: ['run', '--timout', '1s', '--', 'true'], env: {}, names: "unknown option '--timout'" },
  { name: 'check --inflite (unknown option)', args: ['check', '--inflite', 'x', '--', 'true'], env: {}, names: "unknown option '--inflite'" },
  { name: 'run without a command', args: ['run'], env: {}, names: 'run' },
  { name: 'check without a command', args: ['check', '--after', '1s'], env: {}, names: 'check' },
  { name: 'run --stop-delay as long as --timeout', args: ['run', '--timeout', '2s', '--stop-delay', '2s', '--', 'true'], env: {}, names: '--stop-delay' },
  { name: 'run --timeout without a value', args: ['run', '--timeout'], env: {}, names: "option '-t, --timeout <duration>' argument missing" },
];

