#!/usr/bin/env node
// npm run bench -- fleet [options]      (or node bench/fleet/run.mjs [options])
//
// Does a rolling deploy lose requests? Three replicas in podman containers behind haproxy,
// an open-loop load with and without keep-alive, N rolling deploys of all three played in
// each platform's order, with graceful, tini, dumb-init or the bare runtime as PID 1.
// Prints one row per cell (platform x PID 1 x app x keep-alive): requests sent, and those
// refused, reset, timed out or answered 5xx. docs/deploy.md explains the set-up and
// quotes the table.
//
//   --platforms kubernetes,ecs,nomad,heroku (also fly, cloudrun)   --supervisors graceful,tini,dumb-init,bare
//   --apps node,python (also lib: the Node app on graceful's library)
//   --rollouts 20      --rate 100 (requests/s per keep-alive mode)
//   --slow-rate 2 --slow-ms 1000 (slow requests/s per mode, and their length)
//   --lb probe|endpoints  (haproxy health-checks /readyz, or only the platform removes)
//   --lb-server-close     haproxy keeps no connection to a replica: one per request
//   --net host|pod        the replicas in the host's network namespace, on loopback (host), or
//                         each in one of its own on podman's bridge, reached at its address (pod)
//   --lag 5s (the platform's removal reaches the load balancer 0..lag late)
//   --stop-delay <duration|auto|preset>   graceful's stop delay on every platform (default:
//                         auto, or for a graceful without it each platform's fixed one,
//                         platforms.mjs; preset: none given, the preset's own)
//   --app-env K=V         one more variable for the app (repeatable; FLEET_DELAY_MS=5000
//                         gives the library app a delay of its own)
//   --graceful-arg <arg>  one more argument for graceful run (repeatable)
//   --param NAME=MS       a platform's knob (platforms.mjs DEFAULT_PARAMS): shutdownDelayMs=5000
//                         (Nomad's shutdown_delay), killTimeoutS=10, deregistrationDelayMs=3000
//   --idle 60             the harness's own accuracy: 60 s of load and no deploy (every
//                         supervisor listed; a loss there is the harness's, not a deploy's)
//   --seed N   --graceful PATH (default dist/graceful-linux-<arch>)
//   --out FILE            also write the table (markdown) and FILE.json with every figure
//
// Needs root, podman and runc, haproxy, tini, dumb-init (Debian's; .ci/run installs them)
// and the standalone executable (npm run build:binary).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runCell } from './fleet.mjs';
import { endAll, endAllOnExit, own } from './owned.mjs';
import { DEFAULT_PARAMS, DEFAULT_PLATFORMS, PLATFORMS } from './platforms.mjs';
import { podmanWorks } from './podman.mjs';
import { buildRoot } from './root.mjs';
import { label, SUPERVISORS } from './supervisors.mjs';
import { seconds, tableOf, watchedVsSent } from './tables.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

// A duration as graceful and systemd write them, in ms: 5s, 500ms, 1.5s.
function ms(text, what) {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text);
  if (!m) throw new Error(`${what}: expected a duration like 5s or 500ms, got "${text}"`);
  return Number(m[1]) * (m[2] === 'ms' ? 1 : 1000);
}

/**
 * What graceful is given on a platform: its preset when graceful has it (`graceful run
 * --preset <name>` accepted), else the flags that say the same, and the stop delay.
 */
export function gracefulArgsFor(binary, platformName, { params, stopDelay, extra = [] }) {
  const spec = PLATFORMS[platformName].graceful;
  const known = spawnSync(binary, ['run', '--preset', spec.preset, '--platform-timeout', '0', '--', 'true'], { stdio: 'ignore' }).status === 0;
  const args = known ? ['--preset', spec.preset] : spec.flags(params);
  const chosen = stopDelay ?? (acceptsStopDelay(binary, 'auto') ? 'auto' : spec.fixedDelay);
  // `--stop-delay preset`: no --stop-delay at all, whatever the preset (or the default) says.
  const delay = chosen === 'preset' ? [] : ['--stop-delay', chosen];
  return { args: [...args, ...delay, ...extra], preset: known ? spec.preset : null };
}

// Whether this graceful takes a --stop-delay value (auto, before it exists).
export function acceptsStopDelay(binary, value) {
  return spawnSync(binary, ['run', '--stop-delay', value, '--', 'true'], { stdio: 'ignore' }).status === 0;
}

async function main() {
  const { values: opt } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== 'fleet'),
    options: {
      platforms: { type: 'string', default: DEFAULT_PLATFORMS.join(',') },
      supervisors: { type: 'string', default: 'graceful,tini,dumb-init,bare' },
      apps: { type: 'string', default: 'node,python' },
      rollouts: { type: 'string', default: '20' },
      rate: { type: 'string', default: '100' },
      'slow-rate': { type: 'string', default: '2' },
      'slow-ms': { type: 'string', default: '1000' },
      lb: { type: 'string', default: 'probe' },
      'lb-server-close': { type: 'boolean', default: false },
      net: { type: 'string', default: 'host' },
      'app-env': { type: 'string', multiple: true, default: [] },
      param: { type: 'string', multiple: true, default: [] },
      lag: { type: 'string', default: `${DEFAULT_PARAMS.lagMs}ms` },
      'stop-delay': { type: 'string' },
      'graceful-arg': { type: 'string', multiple: true, default: [] },
      idle: { type: 'string' },
      seed: { type: 'string', default: String(Date.now() % 100000) },
      graceful: { type: 'string', default: join(ROOT, `dist/graceful-linux-${process.arch}`) },
      out: { type: 'string' },
    },
  });
  const list = (v, known, what) => {
    const items = v.split(',').filter(Boolean);
    for (const x of items) if (!known.includes(x)) throw new Error(`--${what}: unknown "${x}" (one of ${known.join(', ')})`);
    return items;
  };
  const platforms = list(opt.platforms, Object.keys(PLATFORMS), 'platforms');
  const supervisors = list(opt.supervisors, Object.keys(SUPERVISORS), 'supervisors');
  const apps = list(opt.apps, ['node', 'python', 'lib'], 'apps');
  const appEnv = {};
  for (const kv of opt['app-env']) {
    const m = /^([A-Za-z_]\w*)=(.*)$/.exec(kv);
    if (!m) throw new Error(`--app-env: expected NAME=value, got "${kv}"`);
    appEnv[m[1]] = m[2];
  }
  if (!['probe', 'endpoints'].includes(opt.lb)) throw new Error(`--lb: probe or endpoints, got "${opt.lb}"`);
  if (!['host', 'pod'].includes(opt.net)) throw new Error(`--net: host or pod, got "${opt.net}"`);
  const binary = resolve(opt.graceful);
  if (supervisors.includes('graceful') && !existsSync(binary)) throw new Error(`--graceful: ${binary} is not there: npm run build:binary first`);
  if (opt['stop-delay'] && opt['stop-delay'] !== 'preset' && !acceptsStopDelay(binary, opt['stop-delay'])) throw new Error(`--stop-delay ${opt['stop-delay']}: this graceful (${binary}) does not take it`);
  for (const tool of ['haproxy', 'podman']) if (spawnSync(tool, ['-v'], { stdio: 'ignore' }).error) throw new Error(`${tool} is not installed (apt-get install haproxy podman runc tini dumb-init)`);
  const params = { ...DEFAULT_PARAMS, lagMs: ms(opt.lag, '--lag') };
  for (const kv of opt.param) {
    const m = /^(\w+)=(\d+(?:\.\d+)?)$/.exec(kv);
    if (!m || !(m[1] in DEFAULT_PARAMS)) throw new Error(`--param: expected NAME=number with NAME one of ${Object.keys(DEFAULT_PARAMS).join(', ')}, got "${kv}"`);
    params[m[1]] = Number(m[2]);
  }
  const seed = Number(opt.seed);

  endAllOnExit();
  const root = own.dir(mkdtempSync(join(os.tmpdir(), 'graceful-fleet-root-')));
  console.error(`fleet: the replicas' root in ${root}`);
  const built = buildRoot(root, { graceful: supervisors.includes('graceful') ? binary : null });
  if (apps.includes('python') && !built.python) throw new Error("--apps python: Debian's /usr/bin/python3 and its standard library are not there");
  if (apps.includes('lib') && !built.library) throw new Error('--apps lib: the library is not built (packages/graceful-lifecycle/dist/index.cjs): npm run build');
  const why = podmanWorks(root);
  if (why) throw new Error(why);

  const log = (line) => console.error(line);
  const results = [];
  const idle = opt.idle !== undefined;
  const rollouts = idle ? 0 : Number(opt.rollouts);
  let cell = 0;
  for (const platform of idle ? ['kubernetes'] : platforms) {
    for (const app of apps) {
      for (const supervisor of supervisors) {
        const graceful = supervisor === 'graceful' ? gracefulArgsFor(binary, platform, { params, stopDelay: opt['stop-delay'], extra: opt['graceful-arg'] }) : { args: [] };
        log(`fleet: ${idle ? `idle ${opt.idle}s` : `${platform}, ${rollouts} rollouts`}, ${app} app, ${label(supervisor, app)}${graceful.args.length ? ` (graceful run ${graceful.args.join(' ')})` : ''}, seed ${seed + cell}`);
        const result = await runCell({ root, platform, supervisor, app, rollouts, idleS: idle ? Number(opt.idle) : 0, rate: Number(opt.rate), slowRate: Number(opt['slow-rate']), slowMs: Number(opt['slow-ms']), lb: opt.lb, serverClose: opt['lb-server-close'], net: opt.net, seed: seed + cell++, params, gracefulArgs: graceful.args, appEnv, log });
        results.push(result);
        if (result.machine.conntrackDrops || result.machine.listenDrops) {
          log(`  warning: meanwhile this machine's kernel dropped packets (conntrack table full: ${result.machine.conntrackDrops ?? 'n/a'}, listen queues: ${result.machine.listenDrops ?? 'n/a'}); connect timeouts in this cell may be the machine's, not the deploy's`);
        }
        const seen = watchedVsSent(result.stops);
        if (seen) log(`  --stop-delay auto saw ${seen.arrivals} arrivals after the stop requests where haproxy sent ${seen.requests}; the last one's time differs by ${seen.medianMs} ms in the median, ${seen.maxMs} ms at most (${seen.stops} stops)`);
        for (const [ka, c] of Object.entries(result.cells)) log(`  keep-alive ${ka}: ${c.sent} sent, ${c.lost} lost (refused ${c.refused}, reset ${c.reset}, timed out ${c.timedOut}, 5xx ${c.fiveXX + c.other}); sends at most ${c.maxLagMs} ms late${rollouts ? `; haproxy's last request to a stopping replica ${seconds(c.lastRequestAfterStopMs)} after its stop began` : ''}`);
      }
    }
  }
  const table = tableOf(results);
  console.log(table);
  if (opt.out) {
    const header = `Rate ${opt.rate}/s per keep-alive mode plus ${opt['slow-rate']}/s slow (${opt['slow-ms']} ms); load balancer: ${opt.lb}; lag 0..${params.lagMs} ms; seed ${seed}; ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}).\n\n`;
    writeFileSync(opt.out, `${header}${table}\n`);
    writeFileSync(`${opt.out}.json`, `${JSON.stringify(results, null, 1)}\n`);
  }
}

try {
  await main();
} catch (error) {
  console.error(`fleet: ${error.message}`);
  process.exitCode = 1;
} finally {
  endAll();
}
