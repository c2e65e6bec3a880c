// Option resolution: flag, else GRACEFUL_* variable, else preset, else default; checks.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../e2e/harness.js';
import { LIFECYCLE_OPTIONS, resolveLifecycle, resolveRunOptions, RUN_OPTIONS } from '../../src/config/options.js';
import { CHECK_OPTIONS, CHECK_RUN_OPTIONS, resolveCheckOptions } from '../../src/commands/check/options.js';
import { PLATFORM_RESERVE_MS } from '../../src/config/defaults.js';
import { parseDuration } from '../../src/config/parse.js';
import { detectPlatform, PRESETS } from '../../src/config/presets.js';

const resolve = (flags: Record<string, string | boolean> = {}, env: Record<string, string> = {}, extra: { pid?: number; exists?: (p: string) => boolean } = {}) =>
  resolveRunOptions({ command: ['app'], flags, env, exists: extra.exists ?? (() => false), pid: extra.pid ?? 4242 });

describe('resolution order', () => {
  it('defaults', () => {
    const o = resolve();
    expect(o.policy).toEqual({
      timeoutMs: 30_000,
      stopSignal: null,
      killSignal: 'SIGKILL',
      kill: true,
      killMode: 'group',
      sigcont: true,
      preStop: null,
      stopDelayMs: 0,
      stopDelayAuto: null,
      success: { codes: [], signals: [] },
      readyTimeoutMs: null,
      readyTimeoutFrom: '--ready-timeout',
      followApp: false,
      readyOnAppPhase: false,
      platformSignalsTree: false,
    });
    expect(o.ready).toBe(null);
    expect(o.warnings).toEqual([]);
    expect(o.platform).toBe(null);
  });

  it('a flag beats its variable, a variable beats the preset, the preset beats the default', () => {
    expect(resolve({ timeout: '5s' }, { GRACEFUL_TIMEOUT: '7s' }).policy.timeoutMs).toBe(5000);
    expect(resolve({ preset: 'docker' }, { GRACEFUL_TIMEOUT: '7s' }).policy.timeoutMs).toBe(7000);
    expect(resolve({ preset: 'docker' }).policy.timeoutMs).toBe(9500);
    expect(resolve({}, { GRACEFUL_PRESET: 'supervisord' }).policy.killMode).toBe('process');
  });

  it('boolean variables mean what their flags mean: GRACEFUL_NO_KILL=1 is --no-kill', () => {
    expect(resolve({}, { GRACEFUL_NO_KILL: '1' }).policy.kill).toBe(false);
    expect(resolve({}, { GRACEFUL_NO_KILL: 'false' }).policy.kill).toBe(true);
    expect(resolve({ kill: false }).policy.kill).toBe(false);
    expect(resolve({}, { GRACEFUL_NO_SIGCONT: '1' }).policy.sigcont).toBe(false);
    expect(resolve({ preset: 'docker' }, { GRACEFUL_NO_SIGCONT: '0' }).policy.sigcont).toBe(true);
    expect(resolve({}, { GRACEFUL_QUIET: 'yes' }).quiet).toBe(true);
  });

  it('every option has a GRACEFUL_ variable named after its flag', () => {
    for (const spec of RUN_OPTIONS) {
      const flag = spec.flags.match(/--([\w-]+)/)![1]!;
      expect(spec.env).toBe(`GRACEFUL_${flag.toUpperCase().replace(/-/g, '_')}`);
    }
  });

  it('errors name where the bad value came from', () => {
    expect(() => resolve({}, { GRACEFUL_KILL_SIGNAL: 'SIGNOPE' })).toThrow(/^GRACEFUL_KILL_SIGNAL: /);
    expect(() => resolve({ preset: 'openshift' })).toThrow(/^--preset: expected one of systemd, pm2, docker, podman, containerd, kubernetes, ecs, nomad, fly, cloudrun, heroku, supervisord, got "openshift"/);
    expect(() => resolveRunOptions({ command: [], flags: {}, env: {}, exists: () => false, pid: 2 })).toThrow(/missing the command/);
  });
});

describe('checks', () => {
  it('a stop signal that cannot be caught is allowed, with a warning', () => {
    expect(resolve({ stopSignal: 'KILL' }).warnings[0]).toMatch(/SIGKILL cannot be caught/);
  });

  it('--stop-delay must leave part of the grace period to the child', () => {
    expect(() => resolve({ stopDelay: '30s' })).toThrow(/^--stop-delay: 30s leaves nothing of the 30s grace period/);
    expect(resolve({ stopDelay: '30s', kill: false }).policy.stopDelayMs).toBe(30_000);
  });

  it('presets fit their own platform; a longer timeout is warned about', () => {
    for (const name of Object.keys(PRESETS)) expect(resolve({ preset: name }).warnings).toEqual([]);
    expect(resolve({ preset: 'kubernetes', timeout: '30s' }).warnings[0]).toMatch(/--timeout 30s does not fit in the 30s that kubernetes \(--preset kubernetes\) allows/);
    expect(resolve({ preset: 'docker', kill: false }).warnings[0]).toMatch(/--no-kill: docker/);
  });

  it('--preset kubernetes waits for the load balancer (--stop-delay auto) unless told otherwise; being in a pod alone does not', () => {
    expect(resolve({ preset: 'kubernetes' }).policy.stopDelayAuto).toEqual({ floorMs: 2000, quietMs: 1000, capMs: 14_750 });
    expect(resolve({ preset: 'kubernetes', stopDelay: '0s' }).policy.stopDelayAuto).toBe(null);
    expect(resolve({ preset: 'kubernetes', stopDelay: '3s' }).policy).toMatchObject({ stopDelayAuto: null, stopDelayMs: 3000 });
    expect(resolve({ timeout: '29s' }, { KUBERNETES_SERVICE_HOST: '10.0.0.1' }).policy.stopDelayAuto).toBe(null);
    for (const name of ['ecs', 'nomad', 'heroku', 'docker']) expect(resolve({ preset: name }).policy.stopDelayAuto).toBe(null);
    // On Nomad the cap is half the grace period: 2.25 s of kill_timeout's 4.5 s by default.
    expect(resolve({ preset: 'nomad', stopDelay: 'auto' }).policy.stopDelayAuto).toEqual({ floorMs: 0, quietMs: 500, capMs: 2250 });
  });

  it('--final-scrape must fit after the grace period in the platform\'s deadline', () => {
    const life = (flags: Record<string, string>) => {
      const inputs = { command: ['app'], flags, env: {}, exists: () => false, pid: 4242 };
      return resolveLifecycle(resolveRunOptions(inputs), inputs);
    };
    // kubernetes: 30s, its preset's grace period 29.5s: a 15s scrape wait does not fit; with 10s of grace it does.
    expect(life({ preset: 'kubernetes', healthPort: '9100', finalScrape: '15s' }).warnings).toEqual([
      '--final-scrape 15s after a grace period of 29.5s does not fit in the 30s that kubernetes (--preset kubernetes) allows: a program that takes its whole grace period leaves graceful to be killed while it waits for the scrape (exit status 137, not the program\'s); lower --final-scrape or --timeout',
    ]);
    expect(life({ preset: 'kubernetes', healthPort: '9100', finalScrape: '15s', timeout: '10s' }).warnings).toEqual([]);
    expect(life({ healthPort: '9100', finalScrape: '15s' }).warnings).toEqual([]); // no platform known
  });

  it('--platform-timeout overrides the detected deadline; 0 turns the check off', () => {
    const k8s = { KUBERNETES_SERVICE_HOST: '10.0.0.1' };
    // graceful's default 30s is as long as the pod's default grace period: no room to report.
    expect(resolve({}, k8s).warnings).toHaveLength(1);
    expect(resolve({ timeout: '29s' }, k8s).warnings).toEqual([]);
    expect(resolve({ timeout: '60s' }, k8s).warnings).toHaveLength(1);
    expect(resolve({ timeout: '60s', platformTimeout: '120s' }, k8s).warnings).toEqual([]);
    expect(resolve({ timeout: '60s', platformTimeout: '0' }, k8s).platform).toBe(null);
  });
});

describe('presets and platforms', () => {
  it('every preset keeps the reserve inside its platform deadline', () => {
    for (const p of Object.values(PRESETS)) expect(p.timeoutMs).toBe(p.budgetMs - PLATFORM_RESERVE_MS);
  });

  it('detects the platform from its environment', () => {
    const none = () => false;
    expect(detectPlatform({ KUBERNETES_SERVICE_HOST: 'x' }, none, 1)?.name).toBe('kubernetes');
    expect(detectPlatform({ pm_id: '0' }, none, 50)?.name).toBe('pm2');
    expect(detectPlatform({ INVOCATION_ID: 'abc' }, none, 50)?.name).toBe('systemd');
    expect(detectPlatform({ SUPERVISOR_ENABLED: '1' }, none, 50)?.name).toBe('supervisord');
    const docker = (p: string) => p === '/.dockerenv';
    expect(detectPlatform({}, docker, 1)?.name).toBe('docker');
    // Not the entrypoint: docker stop does not signal graceful.
    expect(detectPlatform({}, docker, 77)).toBe(null);
    expect(detectPlatform({}, none, 1)).toBe(null);
  });

  it('recognises the container runtimes and the platforms users move to, each with its deadline (issues 23, 24)', () => {
    const none = () => false;
    const at = (env: Record<string, string>, pid = 50, exists: (p: string) => boolean = none, read: (p: string) => string | null = () => null) => {
      const p = detectPlatform(env, exists, pid, read);
      return p && `${p.name} ${p.budgetMs} (${p.evidence})`;
    };
    expect(at({ NOMAD_ALLOC_ID: 'a1' })).toBe('nomad 5000 (NOMAD_ALLOC_ID is set)');
    expect(at({ ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/x' })).toBe('ecs 30000 (ECS_CONTAINER_METADATA_URI_V4 is set)');
    expect(at({ FLY_APP_NAME: 'app' })).toBe('fly 5000 (FLY_APP_NAME is set)');
    expect(at({ K_SERVICE: 'svc' })).toBe('cloudrun 10000 (K_SERVICE is set)');
    expect(at({ DYNO: 'web.1' })).toBe('heroku 30000 (DYNO is set)');
    // A pod on ECS or Fly is still recognised by the most specific clue first.
    expect(at({ KUBERNETES_SERVICE_HOST: '10.0.0.1', DYNO: 'web.1' })?.startsWith('kubernetes')).toBe(true);
    // An empty variable says nothing.
    expect(at({ DYNO: '' })).toBe(null);
    // podman writes /run/.containerenv (and some images carry a stale /.dockerenv too).
    const podman = (p: string) => p === '/run/.containerenv' || p === '/.dockerenv';
    expect(at({}, 1, podman)).toBe('podman 10000 (PID 1 and /run/.containerenv exists (podman))');
    expect(at({}, 77, podman)).toBe(null);
    // containerd: no marker file; its snapshotter's overlay is the root.
    const mountinfo = '1585 1530 0:179 / / rw,relatime master:512 - overlay overlay rw,lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/12/fs,upperdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/13/fs\n';
    expect(at({}, 1, none, () => mountinfo)).toBe("containerd 10000 (PID 1 and the root is containerd's overlay (/proc/self/mountinfo))");
    expect(at({}, 1, none, () => mountinfo.replaceAll('containerd/io.containerd.snapshotter.v1.overlayfs', 'docker/overlay2'))).toBe(null);
  });

  it('on a platform that signals every process itself (Heroku), graceful does not signal the child again', () => {
    expect(resolve({ preset: 'heroku' }).policy.platformSignalsTree).toBe(true);
    expect(resolve({}, { DYNO: 'web.1' }).policy.platformSignalsTree).toBe(true);
    expect(resolve({ preset: 'docker' }).policy.platformSignalsTree).toBe(false);
    expect(resolve({}, { KUBERNETES_SERVICE_HOST: 'x' }).policy.platformSignalsTree).toBe(false);
  });
});

describe('--help states the defaults the code uses', () => {
  // Resolved with nothing given, each option's value is the one its help text names.
  const inputs = { command: ['x'], flags: {}, env: {}, exists: () => false, pid: 1000 };
  const run = resolveLifecycle(resolveRunOptions(inputs), inputs);
  const check = resolveCheckOptions(inputs);
  const reloading = resolveRunOptions({ ...inputs, flags: { listen: ['tcp://127.0.0.1:0'] } });
  const help = (key: string) => [...RUN_OPTIONS, ...LIFECYCLE_OPTIONS, ...CHECK_OPTIONS].find((s) => s.key === key)!.default.split(' ')[0]!;
  const ms = (key: string) => parseDuration(help(key), key);
  it.each([
    ['timeout', () => run.policy.timeoutMs, ms],
    ['stopDelay', () => run.policy.stopDelayMs, ms],
    ['readyTimeout', () => resolveRunOptions({ ...inputs, flags: { ready: 'tcp:1' } }).policy.readyTimeoutMs, ms],
    ['killSignal', () => run.policy.killSignal, help],
    ['killMode', () => run.policy.killMode, help],
    ['restart', () => run.lifecycle.restart.mode, help],
    ['restartDelay', () => run.lifecycle.restart.delayMs, ms],
    ['restartDelayMax', () => run.lifecycle.restart.delayMaxMs, ms],
    ['minUptime', () => run.lifecycle.restart.minUptimeMs, ms],
    ['maxRestarts', () => run.lifecycle.restart.maxRestarts, (k: string) => Number(help(k))],
    ['restartWindow', () => run.lifecycle.restart.windowMs, ms],
    ['monitorInterval', () => run.lifecycle.monitorIntervalMs, ms],
    ['after', () => check.afterMs, ms],
    ['repeat', () => check.repeat, (k: string) => Number(help(k))],
    // Reloads on (a held socket): LISTEN_PID and the signal that asks for a reload.
    ['listenPid', () => (reloading.reload!.listenPid ? 'child' : 'none'), help],
    ['reloadSignal', () => reloading.reload!.signal, help],
  ] as const)('%s', (key, value, read) => {
    expect(value()).toBe((read as (k: string) => unknown)(key));
  });

  // The reload defaults are conventions users rely on, stated in docs/reload.md's prose (not
  // only in its generated table): SIGHUP, as nginx, haproxy and systemd's ExecReload= use it;
  // LISTEN_PID set to the program's pid, as systemd sets it and sd_listen_fds() checks it.
  it("the reload defaults are the conventions docs/reload.md's prose names", () => {
    const prose = readFileSync(join(ROOT, 'docs/reload.md'), 'utf8');
    expect(reloading.reload!.signal).toBe('SIGHUP');
    expect(prose).toContain('`SIGHUP` (or `--reload-signal`) starts the same reload');
    expect(reloading.reload!.listenPid).toBe(true);
    expect(prose).toContain('`--listen-pid none` to programs that do not check it');
  });

  // Its help's gloss ("as docker stop delivers a stop") is the rule: the stop signal to the
  // main process only, as docker stop and the kubelet deliver it; --kill-mode's default in run
  // stays the whole tree.
  it('graceful check delivers the stop as docker stop and the kubelet do', () => {
    expect(CHECK_RUN_OPTIONS.find((s) => s.key === 'killMode')!.default).toContain(`${check.run.policy.killMode}, as docker stop delivers a stop`);
    expect(check.run.policy.killMode).toBe(PRESETS.docker.deliveryMode);
    expect(check.run.policy.killMode).toBe(PRESETS.kubernetes.deliveryMode);
    expect(check.run.policy.killMode).not.toBe(run.policy.killMode);
  });
});
