// The fleet's tables, from the results of runCell (fleet.mjs): run.mjs prints them after a
// run, report.mjs from saved runs.
import { appLabel, label } from './supervisors.mjs';

// graceful's traffic watch against haproxy's log, over a cell's stops: the arrivals it
// counted and the requests haproxy sent from the stop request on, and how far apart the
// last one's times are (|graceful's - haproxy's|, where both saw one); null without a watch.
export function watchedVsSent(stops) {
  const both = stops.filter((s) => s.graceful?.traffic?.watched && s.lbFromRequest);
  if (both.length === 0) return null;
  const diffs = both
    .filter((s) => s.graceful.traffic.lastArrivalAfterMs !== null && s.lbFromRequest.lastAfterMs !== null)
    .map((s) => Math.abs(s.graceful.traffic.lastArrivalAfterMs - s.lbFromRequest.lastAfterMs))
    .sort((a, b) => a - b);
  return {
    stops: both.length,
    arrivals: both.reduce((n, s) => n + s.graceful.traffic.arrivals, 0),
    requests: both.reduce((n, s) => n + s.lbFromRequest.requests, 0),
    medianMs: diffs.length ? diffs[Math.floor(diffs.length / 2)] : null,
    maxMs: diffs.length ? diffs[diffs.length - 1] : null,
    // Stops where one saw work and the other none: a miss of the watch, or a phantom.
    disagree: both.filter((s) => (s.graceful.traffic.lastArrivalAfterMs === null) !== (s.lbFromRequest.lastAfterMs === null)).length,
  };
}

export const COLUMNS = ['sent', 'refused', 'reset', 'timed out', '5xx', 'lost', 'rollouts with a loss', 'last request after a stop'];
export const seconds = (ms) => (ms === null || ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);

export function tableOf(results) {
  // † marks a cell during which the kernel dropped packets on this machine (machineDrops).
  const dropped = (r) => (r.machine?.conntrackDrops || r.machine?.listenDrops ? ' †' : '');
  const lines = [`| platform | PID 1 | app | keep-alive | ${COLUMNS.join(' | ')} |`, `|${'---|'.repeat(4 + COLUMNS.length)}`];
  for (const r of results) {
    for (const ka of ['on', 'off']) {
      const c = r.cells[ka];
      if (!c) continue;
      lines.push(`| ${r.rollouts === 0 ? 'none (idle)' : r.platform} | ${label(r.supervisor, r.app)} | ${appLabel(r.app)} | ${ka} | ${c.sent} | ${c.refused} | ${c.reset} | ${c.timedOut} | ${c.fiveXX + c.other} | ${c.lost}${dropped(r)} | ${r.rollouts === 0 ? '-' : `${c.lossyRollouts}/${r.rollouts}`} | ${r.rollouts === 0 ? '-' : seconds(c.lastRequestAfterStopMs)} |`);
    }
  }
  if (results.some((r) => dropped(r))) lines.push('', "† meanwhile this machine's kernel dropped packets (its conntrack table full, or a listen queue): connect timeouts there may be the machine's, not the deploy's.");
  return lines.join('\n');
}

