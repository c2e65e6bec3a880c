// graceful check's options: run's (with the kill mode a platform delivers a stop with) and
// its own, resolved and validated once. Loaded with commander, and by main.ts for check only.
import { reader, type Inputs, type KeyOf, type OptionSpec } from '../../config/args.js';
import { DEFAULTS } from '../../config/defaults.js';
import { quote, UsageError } from '../../config/errors.js';
import { RUN_OPTIONS, resolveRunOptions, type RunKey, type RunOptions } from '../../config/options.js';
import { formatDuration } from '../../config/parse.js';

// A default as --help shows it, from the value the code uses.
const d = (ms: number) => formatDuration(ms);

// graceful check takes run's options; --kill-mode has another default there (DEFAULTS.checkKillMode).
export const CHECK_RUN_OPTIONS: readonly OptionSpec<RunKey>[] = RUN_OPTIONS.map((spec): OptionSpec<RunKey> =>
  spec.key === 'killMode' ? { ...spec, default: `${DEFAULTS.checkKillMode}, as docker stop delivers a stop (a preset: as its platform does)` } : spec,
);

/** The options graceful check adds to those of run. */
export const CHECK_OPTIONS = [
  { key: 'after', flags: '--after <duration>', env: 'GRACEFUL_AFTER', default: d(DEFAULTS.afterMs), description: 'without --ready: stop the child this long after it started' },
  { key: 'inflight', flags: '--inflight <url>', env: 'GRACEFUL_INFLIGHT', default: 'none', description: 'just before the stop signal, open --inflight-count concurrent requests to this (slow) endpoint; each must complete with 2xx' },
  { key: 'inflightCount', flags: '--inflight-count <n>', env: 'GRACEFUL_INFLIGHT_COUNT', default: String(DEFAULTS.inflightCount), description: 'how many in-flight requests' },
  { key: 'probe', flags: '--probe <url>', env: 'GRACEFUL_PROBE', default: 'none', description: 'after the stop signal, try new requests here while the in-flight ones finish: each must be refused (connection refused or 503)' },
  { key: 'lbLag', flags: '--lb-lag <duration>', env: 'GRACEFUL_LB_LAG', default: 'none', description: "after the stop request, keep sending requests to --probe's URL (new connections and a kept-alive one) for this long, as a load balancer that has not heard of the stop yet; fail on any refused, reset, timed-out or 5xx request" },
  { key: 'requireAll', flags: '--require-all', env: 'GRACEFUL_REQUIRE_ALL', default: 'off', boolean: true, description: 'a check that was not run (not set up, or not reached) fails instead of being listed as not run' },
  { key: 'allowRemote', flags: '--allow-remote', env: 'GRACEFUL_ALLOW_REMOTE', default: 'off', boolean: true, description: 'accept --inflight and --probe URLs that are not on this machine (loopback)' },
  { key: 'maxShutdown', flags: '--max-shutdown <duration>', env: 'GRACEFUL_MAX_SHUTDOWN', default: 'none', description: 'fail if the shutdown (stop signal to exit) takes longer' },
  { key: 'junit', flags: '--junit <path>', env: 'GRACEFUL_JUNIT', default: 'none', description: 'write the checklist as JUnit XML, one testcase per check' },
  { key: 'repeat', flags: '--repeat <n>', env: 'GRACEFUL_REPEAT', default: String(DEFAULTS.repeat), description: 'run the whole check n times; fail if any run fails' },
  { key: 'reload', flags: '--reload <n>', env: 'GRACEFUL_RELOAD', default: '0 (no reloads)', description: 'with --listen: send a steady stream of requests (keep-alive and new connections) to the first held socket through n zero-downtime reloads; fail on any refused, reset or failed request, and report the longest pause (docs/reload.md)' },
] as const satisfies readonly OptionSpec[];
export type CheckKey = RunKey | KeyOf<typeof CHECK_OPTIONS>;
export const CHECK_SPECS: readonly OptionSpec<CheckKey>[] = [...CHECK_RUN_OPTIONS, ...CHECK_OPTIONS];

export interface CheckOptions {
  run: RunOptions;
  afterMs: number;
  inflight: { url: URL; count: number } | null;
  probe: URL | null;
  /** --require-all: a check not run fails. */
  requireAll: boolean;
  /** --lb-lag: where the load balancer's requests go (--probe's URL) and for how long. */
  lbLag: { url: URL; ms: number } | null;
  maxShutdownMs: number | null;
  junit: string | null;
  repeat: number;
  /** --reload: reloads to make under a stream of requests (0: the shutdown check instead). */
  reload: number;
}

// Resolves the options of graceful check: run's, and its own.
export function resolveCheckOptions(inputs: Inputs<CheckKey>): CheckOptions {
  const run = resolveRunOptions(inputs, 'check');
  const { text, bool, duration, count } = reader(CHECK_OPTIONS, inputs);
  const allowRemote = bool('allowRemote') ?? false;
  const url = (key: 'inflight' | 'probe') => {
    const r = text(key);
    return r && r.value !== '' ? parseLocalUrl(r.value, r.from, allowRemote) : null;
  };
  // Every value is checked, whether or not the option it goes with was given.
  const inflightUrl = url('inflight');
  const inflightCount = count('inflightCount', DEFAULTS.inflightCount, 1, 1000);
  const reload = count('reload', 0, 0, 10_000);
  const held = run.reload?.listen.length ?? 0;
  if (reload > 0 && held === 0) throw new UsageError(text('reload')!.from, 'needs --listen: the socket graceful holds, where the requests go');
  // The reload check judges the stream, the reloads and the drains: these belong to the
  // shutdown check, and would be silently ignored.
  for (const key of ['probe', 'maxShutdown', 'junit', 'repeat', 'after'] as const) {
    const given = text(key);
    if (reload > 0 && given) throw new UsageError(given.from, 'is not taken by the reload check (--reload); run the shutdown check without --reload for it');
  }
  if (reload === 0 && run.reload) {
    if (run.reload.listen.length === 0 && run.reload.instances !== 1) throw new UsageError('--instances', 'graceful check takes --instances with --listen and --reload N (the reload check); the shutdown check runs one program as it is');
    throw new UsageError(run.reload.listen.length > 0 ? '--listen' : 'reloads', 'graceful check takes --listen with --reload N (the reload check); the shutdown check runs the program as it is');
  }
  // The load balancer's requests go where --probe's go: the program's public address.
  const lagRaw = text('lbLag');
  const lagMs = duration('lbLag');
  const probeUrl = url('probe');
  if (lagMs !== null && lagMs > 0 && probeUrl === null) throw new UsageError(lagRaw!.from, 'needs --probe URL: where the load balancer sends its requests');
  const lbLag = lagMs !== null && lagMs > 0 && probeUrl ? { url: probeUrl, ms: lagMs } : null;
  return {
    run,
    afterMs: duration('after') ?? DEFAULTS.afterMs,
    inflight: inflightUrl && { url: inflightUrl, count: inflightCount },
    probe: url('probe'),
    lbLag,
    requireAll: bool('requireAll') ?? false,
    maxShutdownMs: duration('maxShutdown'),
    junit: text('junit')?.value || null,
    repeat: count('repeat', DEFAULTS.repeat, 1, 1000),
    reload,
  };
}

// Requests from graceful check go to the service under test, on this machine, unless the
// user says otherwise: a typo must not send load to a production host.
function parseLocalUrl(input: string, what: string, allowRemote: boolean): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new UsageError(what, `expected a URL like http://127.0.0.1:3000/slow, got ${quote(input)}`);
  }
  if (url.protocol !== 'http:') throw new UsageError(what, `only http:// URLs are supported, got ${quote(input)}`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  if (!loopback && !allowRemote) {
    throw new UsageError(what, `${host} is not this machine (loopback); add --allow-remote to send requests there`);
  }
  return url;
}
