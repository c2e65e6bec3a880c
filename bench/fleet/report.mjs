#!/usr/bin/env node
// node bench/fleet/report.mjs RESULTS.json... [--summary] [--watch] [--cells]
//
// The tables of docs/deploy.md from one or more runs of `npm run bench -- fleet --out FILE`
// (FILE.json holds every figure): every cell (--cells, the default), the losses summed per
// platform and PID 1 (--summary), and graceful's traffic watch against haproxy's log
// (--watch: what `stop.traffic` in graceful's report says came after the stop request,
// beside what haproxy says it sent to that replica from the same instant).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { tableOf, watchedVsSent } from './tables.mjs';
import { appLabel } from './supervisors.mjs';

const { values: opt, positionals: files } = parseArgs({
  allowPositionals: true,
  options: { summary: { type: 'boolean' }, watch: { type: 'boolean' }, cells: { type: 'boolean' } },
});
const results = files.flatMap((f) => JSON.parse(readFileSync(f, 'utf8')));
const out = [];

if (opt.summary) {
  // Both keep-alive modes and every app of a platform and PID 1, added up.
  const rows = new Map();
  for (const r of results) {
    const key = `${r.platform}|${r.lb}|${r.supervisor}`;
    const row = rows.get(key) ?? { platform: r.platform, lb: r.lb, supervisor: r.supervisor, lost: 0, sent: 0, lossy: 0, rollouts: 0, dropped: false };
    for (const c of Object.values(r.cells)) {
      row.lost += c.lost;
      row.sent += c.sent;
    }
    row.lossy += Math.max(...Object.values(r.cells).map((c) => c.lossyRollouts));
    row.rollouts += r.rollouts;
    row.dropped ||= Boolean(r.machine?.conntrackDrops || r.machine?.listenDrops);
    rows.set(key, row);
  }
  out.push('| platform | load balancer | PID 1 | lost of sent | rollouts with a loss |', '|---|---|---|---|---|');
  for (const row of rows.values()) {
    out.push(`| ${row.platform} | ${row.lb} | ${row.supervisor === 'bare' ? 'bare runtime' : row.supervisor} | ${row.lost} of ${row.sent}${row.dropped ? ' †' : ''} | ${row.lossy}/${row.rollouts} |`);
  }
  out.push('');
}

if (opt.watch) {
  out.push(
    "| platform | load balancer | app | stops | arrivals seen by graceful | requests haproxy sent | last one: graceful - haproxy, median | largest gap | stops where one saw work and the other none |",
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of results) {
    const w = watchedVsSent(r.stops);
    if (!w) continue;
    const signed = r.stops
      .filter((s) => s.graceful?.traffic?.lastArrivalAfterMs != null && s.lbFromRequest?.lastAfterMs != null)
      .map((s) => s.graceful.traffic.lastArrivalAfterMs - s.lbFromRequest.lastAfterMs)
      .sort((a, b) => a - b);
    const median = signed.length ? signed[Math.floor(signed.length / 2)] : null;
    out.push(`| ${r.platform} | ${r.lb}${r.serverClose ? ', no pool' : ''}${r.net === 'pod' ? ', own netns' : ''} | ${appLabel(r.app)} | ${w.stops} | ${w.arrivals} | ${w.requests} | ${median === null ? '-' : `${median > 0 ? '+' : ''}${median} ms`} | ${w.maxMs === null ? '-' : `${w.maxMs} ms`} | ${w.disagree} |`);
  }
  out.push('');
}

if (opt.cells || (!opt.summary && !opt.watch)) out.push(tableOf(results), '');
console.log(out.join('\n'));
