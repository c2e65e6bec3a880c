// graceful up's own options (the command line and GRACEFUL_* variables): which file, the
// whole stop's deadline, --exit-with, --check. What each process does is in the file
// (stackfile.ts). Loaded with commander (cli/program.ts): a table, no work.
import { reader, type Inputs, type KeyOf, type OptionSpec } from '../../config/args.js';
import { PLATFORM_RESERVE_MS, UP_FILES } from '../../config/defaults.js';
import { quote, UsageError } from '../../config/errors.js';
import { LIFECYCLE_OPTIONS, LOG_FORMATS, RUN_OPTIONS, type LifecycleKey, type LogFormat, type RunKey } from '../../config/options.js';
import { parsePort } from '../../config/readiness.js';
import { DEFAULTS } from '../../config/defaults.js';
import { formatDuration, parseChoice } from '../../config/parse.js';
import { PRESET_NAMES, PRESETS, resolvePlatform, type Platform } from '../../config/presets.js';

// A run option that means the same for the stack: its flags, variable and default, in up's words.
function shared<K extends RunKey>(key: K, description?: string): OptionSpec<K> {
  const spec = RUN_OPTIONS.find((o) => o.key === key)!;
  return { ...spec, key, description: description ?? spec.description };
}

// One of run's own options (config/options.ts's LIFECYCLE_OPTIONS) that means the same for the stack.
function runOwn<K extends LifecycleKey>(key: K, description?: string): OptionSpec<K> {
  const spec = LIFECYCLE_OPTIONS.find((o) => o.key === key)!;
  return { ...spec, key, description: description ?? spec.description };
}

export const UP_OPTIONS = [
  { key: 'file', flags: '-f, --file <path>', env: 'GRACEFUL_FILE', default: UP_FILES.join(', then '), description: 'the stack: a YAML (or JSON) file of processes, or a Procfile' },
  { key: 'timeout', flags: '-t, --timeout <duration>', env: 'GRACEFUL_UP_TIMEOUT', default: `none (a preset or a detected platform: its deadline less ${formatDuration(PLATFORM_RESERVE_MS)})`, description: "deadline of the whole stop: each process's grace period is cut to what is left of it" },
  shared('preset', `the platform that stops the stack (${PRESET_NAMES.join(', ')}): its deadline bounds the whole stop`),
  shared('platformTimeout', 'the deadline of the platform running graceful (terminationGracePeriodSeconds, docker stop -t); 0 turns it off'),
  { key: 'exitWith', flags: '--exit-with <name>', env: 'GRACEFUL_EXIT_WITH', default: 'none', description: 'when this process ends, stop the stack and exit with its status (CI: start the stack, run the tests, stop it)' },
  { key: 'check', flags: '--check', env: 'GRACEFUL_UP_CHECK', default: 'off', boolean: true, description: 'start the stack, stop it once it is up, and check that each process stopped in order and in time (exit 0 if so, 1 if not); same as graceful check -f FILE' },
  shared('reportFile', 'write a JSON report of the stack: one timeline per process, the order of starts and stops'),
  shared('subreaper', 'do not become a child subreaper (as PID 1, graceful reaps orphans regardless)'),
  shared('quiet'),
  shared('verbose', 'more detail: each step of each process'),
  runOwn('logFormat', "human, or json: each of graceful's lines on stderr as one JSON object (time, level, event, program: the process's name, the line's figures, msg)"),
  runOwn('healthPort', "serve GET /metrics (each figure labelled by process), /healthz (200 while every process runs) and /readyz (200 once the stack is up, 503 from the stop on)"),
  runOwn('healthHost'),
  runOwn('finalScrape'),
] as const satisfies readonly OptionSpec[];
export type UpKey = KeyOf<typeof UP_OPTIONS>;

export interface UpOptions {
  /** The stack file, as given or found; null: none found (stackfile.ts says so). */
  file: string | null;
  /** Where the file name came from, for messages. */
  fileFrom: string;
  /** The processes named on the command line (with what they depend on); empty: all. */
  names: string[];
  /** The whole stop's deadline, or null. */
  deadlineMs: number | null;
  /** How graceful knows that deadline, for messages. */
  deadlineFrom: string | null;
  platform: Platform | null;
  exitWith: string | null;
  check: boolean;
  reportFile: string | null;
  subreaper: boolean;
  quiet: boolean;
  verbose: boolean;
  logFormat: LogFormat;
  /** --health-port: the stack's endpoint (/metrics, /healthz, /readyz), or null. */
  health: { host: string; port: number } | null;
  /** --final-scrape: after the stack's end, how long to wait for one more read of /metrics. */
  finalScrapeMs: number;
}

// Resolves graceful up's options: flag, else GRACEFUL_* variable, else preset, else default.
export function resolveUpOptions(inputs: Inputs<UpKey>, check = false): UpOptions {
  const { text, bool, duration } = reader(UP_OPTIONS, inputs);
  const fileRaw = text('file');
  if (fileRaw?.value === '') throw new UsageError(fileRaw.from, `expected the path of a stack file, got ${quote('')}`);
  const file = fileRaw?.value ?? UP_FILES.find((f) => inputs.exists(f)) ?? null;
  const presetRaw = text('preset');
  const preset = presetRaw ? PRESETS[parseChoice(presetRaw.value, PRESET_NAMES, presetRaw.from)] : null;
  const platform = resolvePlatform(text('platformTimeout'), preset, inputs);
  const timeoutRaw = text('timeout');
  const timeout = duration('timeout');
  let deadlineMs: number | null = null;
  let deadlineFrom: string | null = null;
  if (timeout !== null) [deadlineMs, deadlineFrom] = [timeout, `${timeoutRaw!.from} ${formatDuration(timeout)}`];
  else if (platform) [deadlineMs, deadlineFrom] = [Math.max(0, platform.budgetMs - PLATFORM_RESERVE_MS), `${platform.name ?? 'the platform'}'s ${formatDuration(platform.budgetMs)} (${platform.evidence}) less ${formatDuration(PLATFORM_RESERVE_MS)}`];
  const exitWith = text('exitWith')?.value || null;
  const reportRaw = text('reportFile');
  if (reportRaw?.value === '') throw new UsageError(reportRaw.from, `expected the path of a file for the JSON report, got ${quote('')}`);
  const formatRaw = text('logFormat');
  const portRaw = text('healthPort');
  return {
    file,
    fileFrom: fileRaw?.from ?? '-f',
    names: inputs.command,
    deadlineMs,
    deadlineFrom,
    platform,
    exitWith,
    check: check || (bool('check') ?? false),
    reportFile: reportRaw?.value ?? null,
    subreaper: bool('subreaper') ?? true,
    quiet: bool('quiet') ?? false,
    verbose: bool('verbose') ?? false,
    logFormat: formatRaw ? parseChoice(formatRaw.value, LOG_FORMATS, formatRaw.from) : 'human',
    health: portRaw ? { host: text('healthHost')?.value || DEFAULTS.healthHost, port: parsePort(portRaw.value, portRaw.from) } : null,
    finalScrapeMs: duration('finalScrape') ?? 0,
  };
}
