// Command line + GRACEFUL_* environment + --preset -> typed, validated options. The one
// place where user input is checked: everything after this trusts its values.
import type { AutoDelay, KillMode, Policy, SignalName } from '../core/types.js';
import { quote, UsageError } from './errors.js';
import type { RestartPolicy } from '../core/restart.js';
import { reader, type Inputs, type KeyOf, type OptionSpec } from './args.js';
import { DEFAULT_AUTO_DELAY, DEFAULTS, PLATFORM_RESERVE_MS, RELOAD_DEFAULTS, RESTART_DEFAULTS } from './defaults.js';
import { formatDuration, parseChoice, parseDuration, parseSize } from './parse.js';
import { PRESET_NAMES, PRESETS, resolvePlatform, type Platform, type Preset, type PresetName } from './presets.js';
import { parsePort, parseReady, type ReadySpec } from './readiness.js';
import { parseSignal, UNCATCHABLE } from './signals.js';
import { describeListen, GENERATION, inheritedSockets, parseInstances, parseListen, parseReloadSignal, probesSharedSocket, readyFor, type ReloadOptions } from './listen.js';
import { launcherKind } from '../core/launchers.js';

export const KILL_MODES = ['group', 'mixed', 'process'] as const satisfies readonly KillMode[];

/** The values of --log-format: graceful's lines for people, or one JSON object per line (report/log.ts). */
export const LOG_FORMATS = ['human', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

// A default as --help shows it, from the value the code uses: the two cannot disagree.
const d = (ms: number) => formatDuration(ms);

// The options of `graceful run`, in --help order. cli/program.ts declares them to commander from
// this table, and npm run docs writes docs/options.md's table from it.
export const RUN_OPTIONS = [
  { key: 'timeout', flags: '-t, --timeout <duration>', env: 'GRACEFUL_TIMEOUT', default: `${d(DEFAULTS.timeoutMs)} (preset: its platform's deadline less ${d(PLATFORM_RESERVE_MS)})`, description: 'grace period from the stop request to the kill signal; pre-stop and stop delay count against it' },
  { key: 'stopSignal', flags: '-s, --stop-signal <signal>', env: 'GRACEFUL_STOP_SIGNAL', default: 'the signal received', description: 'signal that asks the child to stop' },
  { key: 'killSignal', flags: '--kill-signal <signal>', env: 'GRACEFUL_KILL_SIGNAL', default: DEFAULTS.killSignal, description: 'signal sent when the grace period runs out or on a second Ctrl+C' },
  { key: 'kill', flags: '--no-kill', env: 'GRACEFUL_NO_KILL', default: 'off', boolean: true, description: 'never send the kill signal: wait for the child however long it takes' },
  { key: 'killMode', flags: '--kill-mode <mode>', env: 'GRACEFUL_KILL_MODE', default: DEFAULTS.killMode, description: 'who gets the signals (systemd KillMode): group = the whole tree; mixed = stop signal to the main process, kill signal to the tree; process = the main process only' },
  { key: 'preStop', flags: '--pre-stop <command>', env: 'GRACEFUL_PRE_STOP', default: 'none', description: 'shell command run (sh -c) before the stop signal, like a Kubernetes preStop hook' },
  { key: 'stopDelay', flags: '--stop-delay <duration>', env: 'GRACEFUL_STOP_DELAY', default: `${d(DEFAULTS.stopDelayMs)} (auto with --preset kubernetes)`, description: 'keep the child serving this long before signalling it (load balancer deregistration); auto: until no new connection or request has reached it for a quiet window, within its platform\'s bounds (docs/deploy.md)' },
  { key: 'sigcont', flags: '--no-sigcont', env: 'GRACEFUL_NO_SIGCONT', default: 'on (SIGCONT follows the stop signal)', boolean: true, description: 'do not send SIGCONT after the stop signal (sent by default, as systemd does, so a stopped child can act on it)' },
  { key: 'subreaper', flags: '--no-subreaper', env: 'GRACEFUL_NO_SUBREAPER', default: 'on, on Linux', boolean: true, description: 'do not become a child subreaper: orphans of the tree go to PID 1 instead of graceful, and a double-forked daemon can escape the stop (as PID 1, graceful reaps orphans regardless)' },
  { key: 'successExitStatus', flags: '--success-exit-status <list>', env: 'GRACEFUL_SUCCESS_EXIT_STATUS', default: '0 only', description: 'exit codes and signal names that count as success and exit 0, e.g. 143,SIGTERM' },
  { key: 'ready', flags: '--ready <probe>', env: 'GRACEFUL_READY', default: 'none', description: 'how to know the child is ready: tcp:PORT, tcp:HOST:PORT, http://HOST:PORT/PATH (2xx), log:REGEX (a line of its output), exec:COMMAND (exits 0, run through sh), ipc (process.send("ready")), notify (sd_notify READY=1), app (graceful-supervisor/app\'s life.ready())' },
  { key: 'readyTimeout', flags: '--ready-timeout <duration>', env: 'GRACEFUL_READY_TIMEOUT', default: d(DEFAULTS.readyTimeoutMs), description: 'with --ready: stop the child and exit 124 if it is not ready this long after it started' },
  { key: 'preset', flags: '--preset <name>', env: 'GRACEFUL_PRESET', default: 'none', description: `stop semantics of ${PRESET_NAMES.join(', ')}; explicit flags still win` },
  { key: 'platformTimeout', flags: '--platform-timeout <duration>', env: 'GRACEFUL_PLATFORM_TIMEOUT', default: 'from --preset or the environment', description: 'the deadline of the platform running graceful (terminationGracePeriodSeconds, docker stop -t); 0 turns the fit check off' },
  { key: 'listen', flags: '--listen <address>', env: 'GRACEFUL_LISTEN', default: 'none', repeatable: true, description: 'hold a listening socket for the program, [name=]tcp://HOST:PORT or [name=]unix:/PATH (repeatable): bound once, passed to every generation as fd 3 onwards with LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID; turns on zero-downtime reloads (docs/reload.md)' },
  { key: 'listenPid', flags: '--listen-pid <mode>', env: 'GRACEFUL_LISTEN_PID', default: RELOAD_DEFAULTS.listenPid, description: "child: LISTEN_PID is the program's own pid (it is started through sh -c 'exec', which keeps the pid); none: LISTEN_PID is not set" },
  { key: 'control', flags: '--control <path>', env: 'GRACEFUL_CONTROL', default: 'with reloads on: $XDG_RUNTIME_DIR/graceful/<pid>.sock, else /tmp/graceful-<uid>/<pid>.sock', description: 'the Unix socket (mode 0600) through which `graceful reload` asks this graceful for a reload and hears the outcome; turns reloads on without --listen' },
  { key: 'reloadSignal', flags: '--reload-signal <signal>', env: 'GRACEFUL_RELOAD_SIGNAL', default: `${RELOAD_DEFAULTS.signal} with reloads on, else none`, description: 'the signal that starts a reload; none passes it on to the program, as without reloads' },
  { key: 'instances', flags: '--instances <n>', env: 'GRACEFUL_INSTANCES', default: '1', description: 'run N copies of the program on the held sockets, each supervised on its own (its grace period, tree, restarts); max: one per CPU graceful may use (affinity and cgroup quota). A reload replaces them one at a time; turns reloads on (docs/reload.md#instances)' },
  { key: 'interactive', flags: '--interactive', env: 'GRACEFUL_INTERACTIVE', default: 'off', boolean: true, description: 'for REPLs, shells and pagers: Ctrl+C goes to the child alone and does not stop it; SIGTERM, a closed terminal (SIGHUP) or its exit does' },
  { key: 'reportFile', flags: '--report-file <path>', env: 'GRACEFUL_REPORT_FILE', default: 'none', description: 'write a JSON report of the run there (atomically, mode 0600)' },
  { key: 'quiet', flags: '-q, --quiet', env: 'GRACEFUL_QUIET', default: 'off', boolean: true, description: "silence graceful's own lines (errors still print)" },
  { key: 'verbose', flags: '-v, --verbose', env: 'GRACEFUL_VERBOSE', default: 'off', boolean: true, description: 'more detail: spawn, forwarded signals, tree scans' },
] as const satisfies readonly OptionSpec[];
export type RunKey = KeyOf<typeof RUN_OPTIONS>;


/** graceful run's lifecycle policies: restarts, the memory limit, stats, the health endpoint. */
export interface LifecyclePolicy {
  restart: RestartPolicy;
  /** --max-memory, in bytes, over the child's whole tree. */
  maxMemory: number | null;
  monitorIntervalMs: number;
  stats: boolean;
  health: { host: string; port: number } | null;
  /** --final-scrape: after the last run, how long the endpoint waits for one more read of /metrics (0: not at all). */
  finalScrapeMs: number;
}

export interface RunOptions {
  command: string[];
  policy: Policy;
  lifecycle: LifecyclePolicy;
  /** --ready: how to tell that the child is ready, or null. */
  ready: ReadySpec | null;
  /**
   * Values that came from GRACEFUL_* variables and may hold secrets (a pre-stop command
   * with a token in it): the report names their variable instead of copying them.
   */
  secretFromEnv: { preStop: string | null };
  preset: PresetName | null;
  /** The platform whose deadline the grace period must fit in, if known. */
  platform: Platform | null;
  reportFile: string | null;
  /** Become a child subreaper (Linux), adopting and reaping the tree's orphans. */
  subreaper: boolean;
  /** --interactive: Ctrl+C belongs to the child; a hang-up starts the stop instead. */
  interactive: boolean;
  /**
   * Whether terminal mode may apply (shell/terminal.ts): graceful run. graceful check keeps
   * the child in a session of its own, so that its verdicts do not depend on where it runs.
   */
  terminal: boolean;
  quiet: boolean;
  verbose: boolean;
  /** --log-format: graceful's lines as words, or as one JSON object each (graceful run and up). */
  logFormat: LogFormat;
  /** Problems worth a line at start that do not stop the run. */
  warnings: string[];
  /** Zero-downtime reloads (--listen, --control, --reload-signal, sockets from systemd), or null. */
  reload: ReloadOptions | null;
}



const NO_LIFECYCLE: LifecyclePolicy = { restart: RESTART_DEFAULTS, maxMemory: null, monitorIntervalMs: DEFAULTS.monitorIntervalMs, stats: false, health: null, finalScrapeMs: 0 };

/** The options of graceful run only: what happens across the child's life. */
export const LIFECYCLE_OPTIONS = [
  { key: 'restart', flags: '--restart <when>', env: 'GRACEFUL_RESTART', default: RESTART_DEFAULTS.mode, description: 'restart the child when it ends: no, on-failure (failure status, signal, memory limit) or always; a stop request (SIGTERM, SIGINT) is always final' },
  { key: 'restartDelay', flags: '--restart-delay <duration>', env: 'GRACEFUL_RESTART_DELAY', default: d(RESTART_DEFAULTS.delayMs), description: 'pause before a restart' },
  { key: 'backoff', flags: '--backoff', env: 'GRACEFUL_BACKOFF', default: 'off', boolean: true, description: 'double the restart delay for each unstable run in a row, up to --restart-delay-max' },
  { key: 'restartDelayMax', flags: '--restart-delay-max <duration>', env: 'GRACEFUL_RESTART_DELAY_MAX', default: d(RESTART_DEFAULTS.delayMaxMs), description: 'the longest restart delay with --backoff' },
  { key: 'minUptime', flags: '--min-uptime <duration>', env: 'GRACEFUL_MIN_UPTIME', default: d(RESTART_DEFAULTS.minUptimeMs), description: 'a run shorter than this is an unstable start' },
  { key: 'maxRestarts', flags: '--max-restarts <n>', env: 'GRACEFUL_MAX_RESTARTS', default: String(RESTART_DEFAULTS.maxRestarts), description: 'give up after more unstable runs than this within --restart-window, exiting with the last status' },
  { key: 'restartWindow', flags: '--restart-window <duration>', env: 'GRACEFUL_RESTART_WINDOW', default: d(RESTART_DEFAULTS.windowMs), description: 'the window of --max-restarts' },
  { key: 'maxMemory', flags: '--max-memory <size>', env: 'GRACEFUL_MAX_MEMORY', default: 'none', description: 'over this RSS (512M, 1G, bytes) for the whole tree: stop gracefully, then restart with --restart, else exit 125' },
  { key: 'monitorInterval', flags: '--monitor-interval <duration>', env: 'GRACEFUL_MONITOR_INTERVAL', default: d(DEFAULTS.monitorIntervalMs), description: 'how often --max-memory and --stats sample the tree' },
  { key: 'stats', flags: '--stats', env: 'GRACEFUL_STATS', default: 'off', boolean: true, description: "report the tree's peak RSS and CPU time" },
  { key: 'healthPort', flags: '--health-port <port>', env: 'GRACEFUL_HEALTH_PORT', default: 'none', description: 'serve GET /healthz (200 while the child runs), /readyz (200 once ready, 503 from the stop request on) and /metrics (Prometheus: stops, restarts, time to ready, reloads)' },
  { key: 'healthHost', flags: '--health-host <host>', env: 'GRACEFUL_HEALTH_HOST', default: DEFAULTS.healthHost, description: 'address of the health endpoint' },
  { key: 'finalScrape', flags: '--final-scrape <duration>', env: 'GRACEFUL_FINAL_SCRAPE', default: `${d(0)} (exit at once)`, description: 'with --health-port: after the last run, keep serving until /metrics is read once more, at most this long, so that Prometheus sees the stop that ends graceful (set it to your scrape interval)' },
  { key: 'logFormat', flags: '--log-format <format>', env: 'GRACEFUL_LOG_FORMAT', default: LOG_FORMATS[0], description: "human, or json: each of graceful's lines on stderr as one JSON object (time, level, event, program, the line's figures, msg)" },
] as const satisfies readonly OptionSpec[];
export type LifecycleKey = KeyOf<typeof LIFECYCLE_OPTIONS>;

/** Every option of `graceful run`, and of `graceful check`. */
export const RUN_SPECS: readonly OptionSpec<RunKey | LifecycleKey>[] = [...RUN_OPTIONS, ...LIFECYCLE_OPTIONS];


// Adds graceful run's lifecycle options to `run`.
export function resolveLifecycle(run: RunOptions, inputs: Inputs<LifecycleKey>): RunOptions {
  const read = reader(LIFECYCLE_OPTIONS, inputs);
  const { text, bool, count } = read;
  const duration = (key: LifecycleKey, fallback: number) => read.duration(key) ?? fallback;
  const modeRaw = text('restart');
  const maxRestarts = count('maxRestarts', RESTART_DEFAULTS.maxRestarts, 0, 100_000);
  const memRaw = text('maxMemory');
  const portRaw = text('healthPort');
  const formatRaw = text('logFormat');
  const restart: RestartPolicy = {
    mode: modeRaw ? parseChoice(modeRaw.value, ['no', 'on-failure', 'always'] as const, modeRaw.from) : 'no',
    delayMs: duration('restartDelay', RESTART_DEFAULTS.delayMs),
    backoff: bool('backoff') ?? false,
    delayMaxMs: duration('restartDelayMax', RESTART_DEFAULTS.delayMaxMs),
    minUptimeMs: duration('minUptime', RESTART_DEFAULTS.minUptimeMs),
    maxRestarts,
    windowMs: duration('restartWindow', RESTART_DEFAULTS.windowMs),
  };
  const monitorIntervalMs = duration('monitorInterval', DEFAULTS.monitorIntervalMs);
  if (monitorIntervalMs < 10) throw new UsageError(text('monitorInterval')!.from, 'expected at least 10ms between samples');
  const finalScrapeMs = duration('finalScrape', 0);
  const late = run.platform && finalScrapeMs > 0 ? finalScrapeLate(run.platform, run.policy.timeoutMs, finalScrapeMs) : null;
  return {
    ...run,
    warnings: late ? [...run.warnings, late] : run.warnings,
    logFormat: formatRaw ? parseChoice(formatRaw.value, LOG_FORMATS, formatRaw.from) : run.logFormat,
    lifecycle: {
      restart,
      maxMemory: memRaw ? parseSize(memRaw.value, memRaw.from) : null,
      monitorIntervalMs,
      stats: bool('stats') ?? false,
      health: portRaw ? { host: text('healthHost')?.value || DEFAULTS.healthHost, port: parsePort(portRaw.value, portRaw.from) } : null,
      finalScrapeMs,
    },
  };
}


export function resolveRunOptions(inputs: Inputs<RunKey>, verb: 'run' | 'check' = 'run'): RunOptions {
  const { command } = inputs;
  if (command.length === 0 || command[0] === '') {
    throw new UsageError(verb, `missing the command to ${verb}, as in: graceful ${verb} -- node app.js`);
  }
  const warnings: string[] = [];
  const { text, bool, name } = reader(RUN_OPTIONS, inputs);

  const presetRaw = text('preset');
  const preset = presetRaw ? parseChoice(presetRaw.value, PRESET_NAMES, presetRaw.from) : null;
  const p = preset ? PRESETS[preset] : null;

  const timeoutRaw = text('timeout');
  const timeoutMs = timeoutRaw ? parseDuration(timeoutRaw.value, timeoutRaw.from) : (p?.timeoutMs ?? DEFAULTS.timeoutMs);
  const stopRaw = text('stopSignal');
  const stopSignal = stopRaw ? parseSignal(stopRaw.value, stopRaw.from) : (p?.stopSignal ?? null);
  const killRaw = text('killSignal');
  const killSignal = killRaw ? parseSignal(killRaw.value, killRaw.from) : (p?.killSignal ?? DEFAULTS.killSignal);
  const modeRaw = text('killMode');
  // graceful check reproduces how the platform delivers its stop (docker stop: PID 1 only);
  // graceful run stops the whole tree, which is what it is there for.
  const killMode = modeRaw
    ? parseChoice(modeRaw.value, KILL_MODES, modeRaw.from)
    : verb === 'check'
      ? (p?.deliveryMode ?? DEFAULTS.checkKillMode)
      : (p?.killMode ?? DEFAULTS.killMode);
  const delayRaw = text('stopDelay');
  // auto: wait for the load balancer, as the program's sockets tell (docs/deploy.md); the
  // preset's own when none is given (kubernetes: auto).
  const autoDelay = (delayRaw?.value ?? p?.stopDelay ?? '').trim().toLowerCase() === 'auto';
  const stopDelayMs = autoDelay ? 0 : delayRaw ? parseDuration(delayRaw.value, delayRaw.from) : DEFAULTS.stopDelayMs;
  const preStopRaw = text('preStop');
  const preStop = preStopRaw && preStopRaw.value.trim() !== '' ? preStopRaw.value : null;
  const successRaw = text('successExitStatus');
  const success = successRaw
    ? parseSuccessStatuses(successRaw.value, successRaw.from)
    : parseSuccessStatuses((p?.successExitStatus ?? []).join(','), '--preset');
  const kill = bool('kill') ?? true;
  const readyRaw = text('ready');
  // {generation} (reloads: a per-generation probe address) is generation 1's when checked here.
  const ready = readyRaw && readyRaw.value.trim() !== '' ? parseReady(readyFor(readyRaw.value, 1), readyRaw.from) : null;
  const readyTimeoutRaw = text('readyTimeout');
  const readyTimeoutMs = readyTimeoutRaw ? parseDuration(readyTimeoutRaw.value, readyTimeoutRaw.from) : DEFAULTS.readyTimeoutMs;
  const sigcont = bool('sigcont') ?? p?.sigcont ?? DEFAULTS.sigcont;

  if (stopSignal !== null && UNCATCHABLE.has(stopSignal)) {
    warnings.push(`--stop-signal ${stopSignal} cannot be caught: the child gets no chance to shut down gracefully`);
  }
  if (kill && stopDelayMs > 0 && stopDelayMs >= timeoutMs) {
    throw new UsageError(
      delayRaw!.from,
      `${formatDuration(stopDelayMs)} leaves nothing of the ${formatDuration(timeoutMs)} grace period (--timeout) for the child to stop; make it shorter than --timeout`,
    );
  }

  const platform = resolvePlatform(text('platformTimeout'), p, inputs);
  const stopDelayAuto = autoDelay ? autoDelayFor(p ?? (platform?.name ? PRESETS[platform.name] : null), timeoutMs, kill) : null;
  if (platform) {
    const fit = checkBudget(platform, timeoutMs, kill);
    if (fit) warnings.push(fit);
  }

  const reportRaw = text('reportFile');
  // An empty path would silently write nothing (an unset variable is the way to say none).
  if (reportRaw?.value === '') throw new UsageError(reportRaw.from, `expected the path of a file for the JSON report, got ${quote('')}`);
  return {
    command,
    policy: {
      timeoutMs,
      stopSignal,
      killSignal,
      kill,
      killMode,
      sigcont,
      preStop,
      stopDelayMs,
      stopDelayAuto,
      success,
      readyTimeoutMs: ready && readyTimeoutMs > 0 ? readyTimeoutMs : null,
      readyTimeoutFrom: readyTimeoutRaw?.from ?? name('readyTimeout'),
      followApp: verb === 'check',
      platformSignalsTree: (p ?? (platform?.name ? PRESETS[platform.name] : null))?.signalsEveryProcess ?? false,
      readyOnAppPhase: ready?.kind === 'app',
    },
    ready,
    secretFromEnv: { preStop: preStopRaw?.from.startsWith('GRACEFUL_') ? preStopRaw.from : null },
    lifecycle: NO_LIFECYCLE,
    preset,
    platform,
    reportFile: reportRaw ? reportRaw.value : null,
    subreaper: bool('subreaper') ?? true,
    interactive: bool('interactive') ?? false,
    terminal: verb === 'run',
    quiet: bool('quiet') ?? false,
    verbose: bool('verbose') ?? false,
    logFormat: 'human',
    warnings,
    reload: resolveReload(inputs, readyRaw?.value ?? '', ready, warnings),
  };
}

// --listen, --listen-pid, --control, --reload-signal and systemd's sockets: the reload
// machinery, or null when none of them asks for it.
function resolveReload(inputs: Inputs<RunKey>, readyText: string, ready: ReadySpec | null, warnings: string[]): ReloadOptions | null {
  const { text, list } = reader(RUN_OPTIONS, inputs);
  const listenRaw = list('listen');
  const listen = (listenRaw?.values ?? []).map((value) => parseListen(value, listenRaw!.from));
  const pidRaw = text('listenPid');
  const listenPid = (pidRaw ? parseChoice(pidRaw.value, ['child', 'none'] as const, pidRaw.from) : RELOAD_DEFAULTS.listenPid) === 'child';
  const controlRaw = text('control');
  if (controlRaw && !controlRaw.value.startsWith('/')) throw new UsageError(controlRaw.from, `expected the absolute path of a Unix socket, got ${quote(controlRaw.value)}`);
  const signalRaw = text('reloadSignal');
  const signal = signalRaw ? parseReloadSignal(signalRaw.value, signalRaw.from) : undefined;
  const instancesRaw = text('instances');
  const instances = instancesRaw ? parseInstances(instancesRaw.value, instancesRaw.from) : 1;
  const inherited = inheritedSockets(inputs.env, inputs.pid);
  for (const [i, spec] of listen.entries()) {
    // Port 0 twice is two sockets, each on a port of its own.
    const first = listen.findIndex((o) => describeListen(o) === describeListen(spec));
    if (first !== i && !(spec.kind === 'tcp' && spec.port === 0)) {
      throw new UsageError(listenRaw!.from, `${describeListen(spec)} is given twice; give each address once`);
    }
  }
  const on = listen.length > 0 || controlRaw !== null || inherited !== null || (signal !== undefined && signal !== null) || instances !== 1;
  if (!on) return null;
  const shared = probesSharedSocket(readyText, ready, listen);
  if (shared) {
    throw new UsageError(
      text('ready')!.from,
      `${describeListen(shared)} is the socket --listen holds: whichever generation accepts would answer, the old one too; probe a per-generation address with {generation} in it, or use notify, ipc or log:`,
    );
  }
  if (listenPid && listen.length + (inherited?.count ?? 0) > 0 && launcherKind(inputs.command) !== null) {
    warnings.push(`LISTEN_PID will be ${inputs.command[0]}'s pid, not the program's it starts: libraries that check it (sd_listen_fds, go-systemd) will ignore the sockets; run the program directly (or with exec), or give --listen-pid none for programs that do not check it`);
  }
  const readyTemplate = ready && readyText.includes(GENERATION) ? readyText : null;
  return { listen, listenPid, control: controlRaw?.value ?? null, signal: signal === undefined ? RELOAD_DEFAULTS.signal : signal, inherited, readyTemplate, instances };
}


// Budgets nest: the platform SIGKILLs graceful at its own deadline. If graceful's grace
// period ends later, graceful dies before it can kill the child's tree or report anything.
function checkBudget(platform: Platform, timeoutMs: number, kill: boolean): string | null {
  const label = `${platform.name ?? 'the platform'} (${platform.evidence})`;
  const limit = formatDuration(platform.budgetMs);
  const fix = 'lower --timeout, or set --platform-timeout to the real deadline';
  if (!kill) {
    return `--no-kill: ${label} kills everything after ${limit} anyway, without a report; ${fix}`;
  }
  if (timeoutMs + PLATFORM_RESERVE_MS > platform.budgetMs) {
    return `--timeout ${formatDuration(timeoutMs)} does not fit in the ${limit} that ${label} allows (graceful needs ${PLATFORM_RESERVE_MS}ms after its kill signal to reap and report): the platform would SIGKILL graceful first; ${fix}`;
  }
  return null;
}

// --final-scrape waits after the last run, the report written: a program that takes its
// whole grace period leaves the wait less than the platform's deadline allows, and the
// platform's SIGKILL then ends graceful with 137 instead of the program's status.
function finalScrapeLate(platform: Platform, timeoutMs: number, finalScrapeMs: number): string | null {
  if (timeoutMs + PLATFORM_RESERVE_MS + finalScrapeMs <= platform.budgetMs) return null;
  const label = `${platform.name ?? 'the platform'} (${platform.evidence})`;
  return `--final-scrape ${formatDuration(finalScrapeMs)} after a grace period of ${formatDuration(timeoutMs)} does not fit in the ${formatDuration(platform.budgetMs)} that ${label} allows: a program that takes its whole grace period leaves graceful to be killed while it waits for the scrape (exit status 137, not the program's); lower --final-scrape or --timeout`;
}

// --stop-delay auto's bounds: the platform's (its preset's, each with its source), the cap
// no more than half the grace period, so that the drain keeps its share.
function autoDelayFor(preset: Preset | null, timeoutMs: number, kill: boolean): AutoDelay {
  const base = preset?.autoDelay ?? DEFAULT_AUTO_DELAY;
  const capMs = kill ? Math.min(base.capMs, Math.floor(timeoutMs / 2)) : base.capMs;
  return { floorMs: Math.min(base.floorMs, capMs), quietMs: base.quietMs, capMs };
}

// Parses "143,SIGTERM" (commas or spaces) into exit codes and signal names.
export function parseSuccessStatuses(input: string, what: string): Policy['success'] {
  const codes: number[] = [];
  const signals: SignalName[] = [];
  for (const item of input.split(/[\s,]+/).filter(Boolean)) {
    if (/^\d+$/.test(item)) {
      const code = Number(item);
      if (code > 255) throw new UsageError(what, `exit codes run from 0 to 255, got ${quote(item)}`);
      codes.push(code);
    } else {
      signals.push(parseSignal(item, what));
    }
  }
  return { codes, signals };
}


