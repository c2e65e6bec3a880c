// graceful check --reload N: the proof that a reload is zero-downtime. The program runs as
// graceful run --listen would run it (the same coordinator, supervisors and held sockets);
// once it is ready, a steady stream of requests goes to the first held socket, some on
// kept-alive connections, some each on a new connection, while graceful makes N reloads,
// one after the other, each to its end (the old generation drained). Then everything is
// stopped. It fails on any refused, reset or failed request, on any reload that did not
// switch, and on any generation that did not stop cleanly; it reports the longest pause.
import { timeline } from '../../core/timeline.js';
import { EXIT } from '../../core/exit.js';
import { graded, type Check } from '../../core/judge.js';
import type { Reload } from '../../core/generations.js';
import type { CheckOptions } from './options.js';
import { Coordinator, instanceName } from '../run/generations.js';
import { watchUnready, type Unready } from './unready.js';
import { human, describeCommand } from '../../report/human.js';
import { writeJson, checkOutputPath } from '../../report/files.js';
import { say } from '../../shell/ui/output.js';
import { sendInflight, type InflightOutcome, type StreamStats, type StreamTarget } from './stream.js';
import { statusForSignal } from '../../config/signals.js';
import { bundlePath } from './bundles.js';

// The clients of the stream: a few of each kind keep a 2-core CI machine busy without
// starving the program under test.
const KEEP_ALIVE_CLIENTS = 3;
const NEW_CONNECTION_CLIENTS = 3;
// Before the first reload and after each one: answered requests that show the program
// serves (the new generation, after a switch), with a ceiling in time.
const SETTLE_REQUESTS = 30;
const SETTLE_CEILING_MS = 2000;
// How long past its grace period a replaced generation may take to be gone before the
// check stops waiting for it (it is then judged by what it did).
const DRAIN_SLACK_MS = 5000;

export const RELOAD_CHECK_SCHEMA = 'graceful.reload-check/v1';

/** The checks of a reload check, in their order. */
type ReloadCheck = Check<'reloads' | 'requests' | 'served-before-ready' | 'inflight' | 'drains' | 'final-stop'>;

/** An in-flight request: how it ended, when, and the reload it was sent before. */
type Inflight = InflightOutcome & { at: number; reload: number };

// Runs the check; resolves with graceful's exit status (0 passed, 1 failed, 128+n aborted).
export async function checkReloads(options: CheckOptions): Promise<number> {
  const run = options.run;
  const exited = new Map<string, () => void>();
  const gone = (n: number, instance: number) => new Promise<void>((resolve) => exited.set(`${n}.${instance}`, resolve));
  let firstReady!: () => void;
  const ready = new Promise<void>((resolve) => (firstReady = resolve));
  const coordinator: Coordinator = new Coordinator(
    run,
    {
      ready: () => firstReady(),
      exited: (n, _outcome, instance) => exited.get(`${n}.${instance}`)?.(),
    },
    'check',
  );
  const { ui } = coordinator;
  for (const warning of run.warnings) ui.warn(warning);
  checkOutputPath('--report-file', run.reportFile, ui);

  const done = coordinator.run();
  const ended = await Promise.race([ready.then(() => false), done.then(() => true)]);
  const target = coordinator.sockets?.sockets.find((s) => s.target !== null)?.target ?? null;
  const load = !ended && target ? await reloadUnderStream(coordinator, options, target, gone) : { reloads: [], inflight: [], stats: null, unready: undefined };
  const { reloads, stats } = load;
  const inflightResults = await Promise.all(load.inflight);
  coordinator.stop('check');
  const status = await done;
  // Nothing ever started (a socket graceful could not hold): that line was the verdict.
  if (coordinator.state.generations.length === 0) return status;

  const stoppedBy = coordinator.stoppedBy;
  const verdicts = judgeReloads(coordinator, options.reload, reloads, stats, target === null);
  if (load.unready !== undefined) verdicts.splice(2, 0, unreadyCheck(coordinator, load.unready));
  if (options.inflight) verdicts.splice(2, 0, inflightCheck(options.inflight, inflightResults, reloads));
  const ok = stoppedBy === null && verdicts.every((v) => v.ok !== false);
  const where = coordinator.sockets?.sockets.find((s) => s.target !== null)?.address ?? 'the held socket';
  say(`${ui.paint.dim('graceful:')} reload check of ${describeCommand(run.command)}: ${options.reload} reload(s) under a stream of requests to ${where} (${KEEP_ALIVE_CLIENTS} kept-alive connections, ${NEW_CONNECTION_CLIENTS} clients opening one per request)\n`);
  const width = Math.max(...verdicts.map((v) => v.name.length));
  for (const v of verdicts) say(`  ${v.ok ? ui.paint.good('ok  ') : v.ok === null ? 'n/a ' : ui.paint.bad('FAIL')}  ${v.name.padEnd(width)}  ${v.detail}\n`);
  if (stats) {
    const during = reloadAt(coordinator.state.reloads, stats.longestPauseAt);
    say(`  longest pause in service ${human(stats.longestPauseMs)}${during ? ` (during reload ${during})` : ''}; slowest request ${human(stats.slowestMs)}\n`);
  }
  const failedNames = verdicts.filter((v) => !v.ok).map((v) => v.name);
  const line = stoppedBy
    ? `check aborted by ${stoppedBy}: ${reloads.length} of ${options.reload} reload(s) made`
    : ok
      ? `check passed: ${reloads.length} reload(s) switched, ${stats?.requests ?? 0} requests, 0 failed, longest pause ${human(stats?.longestPauseMs ?? 0)}`
      : `check failed: ${failedNames.join(', ')}`;
  say(`${ok ? ui.paint.good(`graceful: ${line}`) : ui.paint.bad(`graceful: ${line}`)}\n`);
  const exitStatus = stoppedBy ? statusForSignal(stoppedBy) : ok ? EXIT.ok : EXIT.checkFailed;
  if (run.reportFile) {
    const report = coordinator.lastReport(status);
    // Each check as graceful.reload-check/v1 lists it: name, ok, detail (ok is never null here).
    const checks = verdicts.map(({ name, ok, detail }) => ({ name, ok, detail }));
    writeJson('--report-file', run.reportFile, { schema: RELOAD_CHECK_SCHEMA, command: run.command, reloads: options.reload, passed: ok, checks, stream: stats, inflight: inflightResults, run: report }, ui);
  }
  return exitStatus;
}

// Once the first generation is ready: the stream of requests to `target`, then --reload N
// reloads, one after the other, each to its end (the replaced generation gone, `gone`), with
// --inflight's requests sent before each; stops early if graceful is asked to stop.
async function reloadUnderStream(
  coordinator: Coordinator,
  options: CheckOptions,
  target: StreamTarget,
  gone: (n: number, instance: number) => Promise<void>,
): Promise<{ reloads: Reload[]; inflight: Promise<Inflight>[]; stats: StreamStats; unready: Unready[] | null | undefined }> {
  const { clock } = coordinator;
  const reloads: Reload[] = [];
  const inflight: Promise<Inflight>[] = [];
  const aborted = () => coordinator.state.phase.kind === 'stopping' || coordinator.state.phase.kind === 'done';
  const stream = streamWorker(target, { keepAlive: KEEP_ALIVE_CLIENTS, fresh: NEW_CONNECTION_CLIENTS });
  // A TCP socket's port: its connections can be told apart by who accepted them.
  const unready = target.kind === 'tcp' ? watchUnready(target.port, () => coordinator.state, clock.now) : null;
  // Answered requests that show the program serves (the new generation, after a switch).
  const settle = async () => {
    const from = stream.answered();
    const until = clock.now() + SETTLE_CEILING_MS;
    while (stream.answered() - from < SETTLE_REQUESTS && clock.now() < until && !aborted()) await new Promise((r) => setTimeout(r, 10));
  };
  await settle();
  for (let i = 1; i <= options.reload && !aborted(); i++) {
    if (options.inflight) {
      // Slow requests that only the serving generation can have taken: it must finish
      // them while it drains, after the switch.
      const { results, sent } = sendInflight(options.inflight.url, options.inflight.count);
      inflight.push(...results.map((r) => r.then((o) => ({ ...o, at: clock.now(), reload: i }))));
      await sent;
    }
    const reload = await coordinator.reload('check');
    reloads.push(reload);
    if (reload.outcome !== 'switched') continue;
    // Each reload to its end: the replaced generation drained (or its grace period and more passed).
    const old = reload.replacing.filter((s) => coordinator.supervisor(s.n, s.instance));
    if (old.length > 0) {
      const ceiling = new Promise<void>((r) => setTimeout(r, options.run.policy.timeoutMs + DRAIN_SLACK_MS).unref());
      await Promise.race([Promise.all(old.map((s) => gone(s.n, s.instance))), ceiling]);
    }
    await settle();
  }
  const stats = await stream.stop();
  return { reloads, inflight, stats, unready: unready ? await unready.stop() : undefined };
}

// Did an instance take connections before it was ready (unready.ts)?
function unreadyCheck(coordinator: Coordinator, seen: Unready[] | null): ReloadCheck {
  if (seen === null) return graded('served-before-ready', null, "not checked: the kernel's table of connections cannot be read here (Linux and the FFI only)");
  if (seen.length === 0) return graded('served-before-ready', true, 'no connection was accepted by a generation before it was ready (read every 10 ms while one started)');
  const total = seen.reduce((s, u) => s + u.connections, 0);
  const each = seen.map((u) => `${instanceName(coordinator.state, u.generation, u.instance)} (pid ${u.pid}) accepted ${u.connections}${inProcesses(u)} from +${human(u.firstAfterMs)}, ${u.readyAfterMs === null ? 'never ready' : `ready at +${human(u.readyAfterMs)}`}`);
  return graded('served-before-ready', false, `${total} connection(s) accepted by a generation that was not ready: ${each.join('; ')}; take the socket (listen({ fd: 3 }), accept) only once the program can serve: the backlog holds the connections until then (docs/reload.md#serving-before-ready)`);
}

// Which processes of the generation's tree took them, when not only its main one (a pre-fork
// server's workers).
function inProcesses(u: Unready): string {
  if (u.holders.length === 1 && u.holders[0] === u.pid) return '';
  return ` in ${u.holders.length === 1 ? 'process' : 'processes'} ${u.holders.join(', ')}`;
}

// --inflight: did the requests sent before each reload complete while their generation drained?
function inflightCheck(asked: NonNullable<CheckOptions['inflight']>, results: readonly Inflight[], reloads: readonly Reload[]): ReloadCheck {
  const bad = results.filter((r) => r.error !== null || r.status === null || r.status < 200 || r.status > 299);
  // One that ended before its reload switched was never in flight during a drain: it tested nothing.
  const switchedAt = (n: number) => reloads[n - 1]?.endedAt ?? Infinity;
  const early = results.filter((r) => !bad.includes(r) && r.at <= switchedAt(r.reload));
  const what = `${results.length} in-flight request(s) to ${asked.url.pathname}${asked.url.search} (${asked.count} before each reload)`;
  const readyMs = Math.max(0, ...reloads.map((r) => (r.endedAt ?? r.requestedAt) - r.requestedAt));
  if (bad.length > 0) return graded('inflight', false, `${bad.length} of ${what} failed (${tally(bad.map((r) => r.error ?? `HTTP ${r.status}`))}): the replaced generation did not finish its work`);
  if (early.length > 0) return graded('inflight', false, `${early.length} of ${what} ended before their reload switched, so they tested no drain: make the endpoint slower than a reload takes (up to ${human(readyMs)} here)`);
  return graded('inflight', results.length > 0, `${what} completed with 2xx while their generation drained`);
}

// The stream in a worker thread (dist/stream-worker.cjs): graceful's own work at each reload
// (a fork, /proc scans) must not count as the program's pause.
function streamWorker(target: StreamTarget, counts: { keepAlive: number; fresh: number }): { answered(): number; stop(): Promise<StreamStats> } {
  const { Worker } = process.getBuiltinModule('node:worker_threads');
  const worker = new Worker(bundlePath('stream-worker.cjs'), { workerData: { target, path: '/', counts } });
  let answered = 0;
  let finished!: (stats: StreamStats) => void;
  const done = new Promise<StreamStats>((resolve) => (finished = resolve));
  worker.on('message', (m: { type: 'progress'; answered: number } | { type: 'done'; stats: StreamStats }) => {
    if (m.type === 'progress') answered = m.answered;
    else finished(m.stats);
  });
  worker.on('error', (error: Error) => finished({ requests: 0, keepAlive: 0, fresh: 0, failed: 1, failures: [{ at: 0, kind: 'new-connection', error: `the stream failed: ${error.message}` }], retried: 0, longestPauseMs: 0, longestPauseAt: null, slowestMs: 0 }));
  return {
    answered: () => answered,
    stop() {
      worker.postMessage('stop');
      return done;
    },
  };
}

// Which reload (by number) was under way, from its request to its old generation drained, at `at`.
function reloadAt(reloads: readonly Reload[], at: number | null): number | null {
  if (at === null) return null;
  return reloads.find((r) => at >= r.requestedAt && at <= (r.drainedAt ?? r.endedAt ?? Infinity))?.n ?? null;
}

function judgeReloads(coordinator: Coordinator, wanted: number, reloads: readonly Reload[], stats: StreamStats | null, noTarget: boolean): ReloadCheck[] {
  const state = coordinator.state;
  const switched = reloads.filter((r) => r.outcome === 'switched');
  const readyMs = switched.map((r) => (r.readyAt ?? r.requestedAt) - r.requestedAt);
  const reloadDetail =
    switched.length === wanted
      ? `${wanted} of ${wanted} switched; the new generation ready ${spread(readyMs)} after the request`
      : reloads.length === 0
        ? `no reload made: ${noTarget ? 'no held socket with an address to send requests to' : 'the program never became ready'}`
        : `${switched.length} of ${wanted} switched; ${reloads.filter((r) => r.outcome !== 'switched').map((r) => `reload ${r.n} ${r.outcome}`).join(', ')}`;
  const requests: ReloadCheck = !stats
    ? graded('requests', false, 'no request was sent')
    : stats.failed === 0
      ? graded('requests', true, `${stats.requests} answered (${stats.keepAlive} on kept-alive connections, ${stats.fresh} on new ones), none refused, reset or failed${stats.retried ? `; ${stats.retried} sent again on a new connection after the server closed an idle kept-alive one (RFC 9112, 9.3.1)` : ''}`)
      : graded('requests', false, `${stats.failed} of ${stats.requests} failed (${tally(stats.failures.map((f) => `${f.error} on ${f.kind}`))}); the first at +${human(stats.failures[0]!.at - (reloads[0]?.requestedAt ?? stats.failures[0]!.at))} from the first reload`);
  // Every generation replaced by a reload must have stopped cleanly: the old one drains.
  const retired = state.generations.filter((g) => g.retiredAt !== null);
  const verdictOf = (n: number, instance: number) => {
    const f = coordinator.factsOf(n, instance);
    return f ? timeline(f, coordinator.options.policy) : null;
  };
  const unclean = retired.filter((g) => verdictOf(g.n, g.instance)?.verdict !== 'clean');
  const drainMs = retired.map((g) => verdictOf(g.n, g.instance)?.shutdownMs ?? 0);
  const name = (g: { n: number; instance: number }) => instanceName(state, g.n, g.instance);
  const drains: ReloadCheck =
    retired.length === 0
      ? graded('drains', true, 'no generation was replaced')
      : unclean.length === 0
        ? graded('drains', true, `${retired.length} replaced ${state.instances > 1 ? 'instance' : 'generation'}(s) stopped cleanly, in ${spread(drainMs)}`)
        : graded('drains', false, unclean.map((g) => `${name(g)} (pid ${g.pid}): ${verdictOf(g.n, g.instance)?.verdict ?? 'still running'}`).join('; '));
  // The instances that served to the end: each must stop cleanly at the final stop.
  const lastN = state.generations.filter((g) => g.retiredAt === null && g.pid !== null).at(-1)?.n;
  const finals = state.generations.filter((g) => g.retiredAt === null && g.pid !== null && (state.instances > 1 ? g.readyAt !== null || g.n === lastN : g.n === lastN));
  const finalVerdicts = finals.map((g) => ({ g, v: verdictOf(g.n, g.instance) }));
  const finalOk = finals.length > 0 && finalVerdicts.every((f) => f.v?.verdict === 'clean');
  const finalDetail = finalVerdicts.map(({ g, v }) => `${name(g)} (pid ${g.pid}): ${v?.verdict ?? 'unknown'}${v?.shutdownMs != null ? ` in ${human(v.shutdownMs)}` : ''}`).join('; ');
  const finalStop = graded('final-stop', finalOk, finals.length > 0 ? finalDetail : 'no generation ran');
  return [graded('reloads', switched.length === wanted, reloadDetail), requests, drains, finalStop];
}

// "120ms" or "95ms-180ms".
function spread(values: readonly number[]): string {
  if (values.length === 0) return 'n/a';
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return Math.round(lo) === Math.round(hi) ? human(lo) : `${human(lo)}-${human(hi)}`;
}

// "ECONNREFUSED on new-connection x2, ECONNRESET on keep-alive"
function tally(items: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const i of items) counts.set(i, (counts.get(i) ?? 0) + 1);
  return [...counts].map(([k, n]) => (n > 1 ? `${k} x${n}` : k)).join(', ');
}
