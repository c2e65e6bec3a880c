// The renderers of issue 27 on a fake clock: the JSON log's summary, the Prometheus text and
// the spans of one stop, each figure pinned, and each agreeing with the summary line.
import { describe, expect, it } from 'vitest';
import { stepRecords, summaryFields, summaryLine } from '../../src/report/human.js';
import { jsonLine } from '../../src/report/log.js';
import { Metrics } from '../../src/report/metrics.js';
import { runSpans, traceparent, parseTraceparent } from '../../src/report/spans.js';
import { Sim } from './sim.js';

// SIGTERM at +0, SIGTERM sent, the grace period of 1 s runs out, SIGKILL, died at +1003 ms.
function escalated(): Sim {
  const sim = Sim.started({ timeoutMs: 1000 });
  sim.now = 10;
  sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
  sim.advanceTo(1010);
  sim.now = 1013;
  sim.feed({ type: 'child-exited', code: null, signal: 'SIGKILL', signo: 9, survivors: 0 });
  return sim;
}

describe('the JSON log', () => {
  it("the summary's fields are the figures of its sentence", () => {
    const sim = escalated();
    const fields = summaryFields(sim.state.facts, sim.policy, sim.status!);
    expect(summaryLine(sim.state.facts, sim.policy, sim.status!)).toBe('app (pid 100) had to be killed: SIGTERM received, SIGTERM sent at +0ms, SIGKILL sent at +1s (grace period of 1s over), died of SIGKILL at +1.00s; exit status 137 [escalated]');
    expect(fields).toEqual({
      verdict: 'escalated', exitStatus: 137, pid: 100, appPid: null, trigger: 'SIGTERM', exitCode: null, exitSignal: 'SIGKILL',
      uptimeMs: 1013, readyMs: null, graceMs: 1000, preStopMs: null, signal: 'SIGTERM', signalSentAfterMs: 0,
      killSignal: 'SIGKILL', killSentAfterMs: 1000, killReason: 'deadline', shutdownMs: 1003, treeGoneAfterMs: null, arrivalsAfterStop: null, lastArrivalAfterMs: null,
    });
    const line = JSON.parse(jsonLine({ event: 'summary', level: 'info', text: 'x', fields }, 'node app.js', Date.UTC(2026, 0, 2, 3, 4, 5, 6)));
    expect(Object.keys(line).slice(0, 4)).toEqual(['time', 'level', 'event', 'program']);
    expect(line).toMatchObject({ time: '2026-01-02T03:04:05.006Z', level: 'info', event: 'summary', program: 'node app.js', shutdownMs: 1003, msg: 'x' });
  });

  it('each step line has its event, and the kill its reason and time', () => {
    const sim = Sim.started({ timeoutMs: 1000 });
    const prev = sim.state;
    sim.now = 10;
    const actions = sim.feed({ type: 'stop-requested', signal: 'SIGTERM' });
    expect(stepRecords(prev, { type: 'stop-requested', at: 10, signal: 'SIGTERM' }, sim.state, actions, sim.policy, false).map((r) => [r.event, r.fields])).toEqual([
      ['stop-requested', { pid: 100, trigger: 'SIGTERM', graceMs: 1000 }],
      ['signal-sent', { pid: 100, signal: 'SIGTERM', target: 'tree', sentAfterMs: 0, killSignal: 'SIGKILL', killInMs: 1000 }],
    ]);
  });
});

describe('the Prometheus text', () => {
  it('counts a stop by trigger and verdict, its duration in seconds, the kill by reason', () => {
    const sim = escalated();
    const m = new Metrics();
    m.runEnded(sim.state.facts, sim.policy, { program: 'api' });
    m.restarted('crashed', { program: 'api' });
    const text = m.render({ running: [{ labels: { program: 'api' }, value: 0 }], orphansReaped: 3 });
    const samples = text.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(samples).toContain('graceful_stops_total{program="api",trigger="SIGTERM",verdict="escalated"} 1');
    expect(samples).toContain('graceful_shutdown_duration_seconds_bucket{program="api",le="1"} 0');
    expect(samples).toContain('graceful_shutdown_duration_seconds_bucket{program="api",le="2.5"} 1');
    expect(samples).toContain('graceful_shutdown_duration_seconds_sum{program="api"} 1.003');
    expect(samples).toContain('graceful_last_shutdown_duration_seconds{program="api"} 1.003');
    expect(samples).toContain('graceful_kill_signals_total{program="api",reason="deadline"} 1');
    expect(samples).toContain('graceful_restarts_total{program="api",reason="crashed"} 1');
    expect(samples).toContain('graceful_orphans_reaped_total 3');
    expect(text).toContain('# TYPE graceful_shutdown_duration_seconds histogram\n');
    // Reloads appear only once reloads are on.
    expect(text).not.toContain('graceful_reloads_total');
  });

  it('escapes label values as the format says', () => {
    const m = new Metrics();
    m.restarted('crashed', { program: 'a"b\\c\nd' });
    expect(m.render({ running: [], orphansReaped: 0 })).toContain('graceful_restarts_total{program="a\\"b\\\\c\\nd",reason="crashed"} 1');
  });
});

describe('the spans of a stop', () => {
  it('run, stop, drain and kill on the timeline of the summary, the stop marked as an error', () => {
    const sim = escalated();
    let n = 0;
    const run = { traceId: 'a'.repeat(32), spanId: '1'.repeat(16), parentSpanId: null };
    const spans = runSpans(sim.state.facts, sim.policy, sim.status!, run, (at) => 1_000_000 + at, () => String(++n).padStart(16, '0'));
    expect(spans.map((s) => [s.name, s.parentSpanId, s.startMs - 1_000_000, s.endMs - 1_000_000, s.error])).toEqual([
      ['graceful run', null, 0, 1013, 'verdict escalated, exit status 137'],
      ['stop', run.spanId, 10, 1013, 'the kill signal was needed (deadline)'],
      ['drain', '0000000000000001', 10, 1010, null],
      ['kill', '0000000000000001', 1010, 1013, null],
    ]);
    expect(traceparent(run)).toBe(`00-${'a'.repeat(32)}-${'1'.repeat(16)}-01`);
    expect(parseTraceparent(traceparent(run))).toEqual({ traceId: 'a'.repeat(32), spanId: '1'.repeat(16) });
    expect(parseTraceparent(`00-${'0'.repeat(32)}-${'1'.repeat(16)}-01`)).toBeNull();
  });
});
