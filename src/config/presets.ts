// The stop semantics of the systems graceful runs under or stands in for, one table, each
// value with where it comes from. --help, docs/presets.md's table (npm run docs) and the tests read it.
import type { KillMode, SignalName } from '../core/types.js';
import { PLATFORM_RESERVE_MS } from './defaults.js';
import { parseDuration } from './parse.js';

export const PRESET_NAMES = ['systemd', 'pm2', 'docker', 'kubernetes', 'supervisord'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];


export interface Preset {
  name: PresetName;
  /** The platform's own deadline: when it SIGKILLs graceful itself. */
  budgetMs: number;
  /** Grace period: the budget less PLATFORM_RESERVE_MS. */
  timeoutMs: number;
  stopSignal: SignalName;
  killSignal: SignalName;
  killMode: KillMode;
  /**
   * How the platform itself delivers its stop to a program run without graceful: what
   * graceful check reproduces, so that a program that relies on someone else stopping its
   * children fails the check (docker stop signals PID 1 only; systemd a whole control group).
   */
  deliveryMode: KillMode;
  sigcont: boolean;
  /** Exit codes and signal names counted as success besides 0. */
  successExitStatus: readonly string[];
  /** Where each value comes from. */
  sources: Record<'budget' | 'stopSignal' | 'killSignal' | 'killMode' | 'deliveryMode' | 'sigcont' | 'successExitStatus', string>;
}

function preset(p: Omit<Preset, 'timeoutMs'>): Preset {
  return { ...p, timeoutMs: p.budgetMs - PLATFORM_RESERVE_MS };
}

export const PRESETS: Record<PresetName, Preset> = {
  systemd: preset({
    name: 'systemd',
    budgetMs: 90_000,
    stopSignal: 'SIGTERM',
    killSignal: 'SIGKILL',
    killMode: 'group',
    deliveryMode: 'group',
    sigcont: true,
    successExitStatus: ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGPIPE'],
    sources: {
      budget: 'DefaultTimeoutStopSec=90s (systemd-system.conf(5)), used for TimeoutStopSec=',
      stopSignal: 'KillSignal=SIGTERM (systemd.kill(5))',
      killSignal: 'FinalKillSignal=SIGKILL, sent when TimeoutStopSec= runs out (systemd.kill(5))',
      killMode: 'KillMode=control-group: every process of the unit (systemd.kill(5))',
      deliveryMode: 'KillMode=control-group: the stop signal goes to every process of the unit (systemd.kill(5))',
      sigcont: 'KillSignal is followed by SIGCONT so stopped processes can act on it (systemd.kill(5))',
      successExitStatus: 'a service that dies of SIGHUP, SIGINT, SIGTERM or SIGPIPE counts as a clean exit (systemd.service(5), SuccessExitStatus=)',
    },
  }),
  pm2: preset({
    name: 'pm2',
    budgetMs: 1600,
    stopSignal: 'SIGINT',
    killSignal: 'SIGKILL',
    killMode: 'group',
    deliveryMode: 'group',
    sigcont: false,
    successExitStatus: [],
    sources: {
      budget: 'kill_timeout: 1600 ms by default (PM2 lib/API/schema.json, constants.js)',
      stopSignal: 'SIGINT first; PM2_KILL_SIGNAL changes it (PM2 constants.js)',
      killSignal: 'SIGKILL to the tree after kill_timeout (PM2 lib/God/Methods.js)',
      killMode: 'treekill: true by default: the whole process tree (PM2 schema.json)',
      deliveryMode: 'treekill: true by default: the stop signal goes to the whole tree (PM2 lib/God/Methods.js)',
      sigcont: 'PM2 sends no SIGCONT (lib/God/Methods.js)',
      successExitStatus: 'PM2 counts only exit code 0 as a clean stop',
    },
  }),
  docker: preset({
    name: 'docker',
    budgetMs: 10_000,
    stopSignal: 'SIGTERM',
    killSignal: 'SIGKILL',
    killMode: 'group',
    deliveryMode: 'mixed',
    sigcont: false,
    successExitStatus: [],
    sources: {
      budget: 'docker stop waits 10 s on Linux (docker stop --time, --stop-timeout; Compose stop_grace_period)',
      stopSignal: 'SIGTERM unless STOPSIGNAL / --stop-signal says otherwise (docker stop reference)',
      killSignal: 'SIGKILL after the timeout (docker stop reference)',
      killMode: 'when PID 1 of a container exits, the kernel SIGKILLs the rest of its PID namespace (pid_namespaces(7))',
      deliveryMode: 'docker stop signals PID 1 only; when it exits, the kernel SIGKILLs the rest of the PID namespace (pid_namespaces(7))',
      sigcont: 'docker stop sends only the stop signal and SIGKILL',
      successExitStatus: 'only exit code 0 is success (restart policy on-failure)',
    },
  }),
  kubernetes: preset({
    name: 'kubernetes',
    budgetMs: 30_000,
    stopSignal: 'SIGTERM',
    killSignal: 'SIGKILL',
    killMode: 'group',
    deliveryMode: 'mixed',
    sigcont: false,
    successExitStatus: [],
    sources: {
      budget: 'terminationGracePeriodSeconds: 30 by default, preStop hook included (Pod lifecycle)',
      stopSignal: "SIGTERM to process 1 of each container, or the image's STOPSIGNAL (Pod lifecycle)",
      killSignal: 'then SIGKILL when the grace period is over (Pod lifecycle)',
      killMode: 'the container is killed as a whole (its PID namespace / cgroup)',
      deliveryMode: 'the kubelet signals process 1 of the container only; the rest dies with it',
      sigcont: 'the kubelet sends only the stop signal and SIGKILL',
      successExitStatus: 'only exit code 0 is success (restartPolicy OnFailure; Job completion)',
    },
  }),
  supervisord: preset({
    name: 'supervisord',
    budgetMs: 10_000,
    stopSignal: 'SIGTERM',
    killSignal: 'SIGKILL',
    killMode: 'process',
    deliveryMode: 'process',
    sigcont: false,
    successExitStatus: [],
    sources: {
      budget: 'stopwaitsecs=10 by default (supervisor/options.py)',
      stopSignal: 'stopsignal=TERM by default (supervisor/options.py)',
      killSignal: 'SIGKILL when stopwaitsecs runs out (supervisor/process.py)',
      killMode: 'stopasgroup=false, killasgroup defaults to it: the main process only (supervisor/options.py)',
      deliveryMode: 'stopasgroup=false: the stop signal goes to the main process only (supervisor/options.py)',
      sigcont: 'supervisord sends no SIGCONT (supervisor/process.py)',
      successExitStatus: 'exitcodes=0 by default',
    },
  }),
};

/** A platform graceful runs under, with its deadline and how graceful knows. */
export interface Platform {
  /** null when only --platform-timeout tells graceful about it. */
  name: PresetName | null;
  budgetMs: number;
  /** 'preset', 'GRACEFUL_...', or the environment clue that revealed it. */
  evidence: string;
}

// Recognises the platform graceful runs under from its environment, to warn when the grace
// period cannot fit inside the platform's own deadline. `exists` tests a path; `pid` is
// graceful's own pid.
export function detectPlatform(env: NodeJS.ProcessEnv, exists: (path: string) => boolean, pid: number): Platform | null {
  const found = (name: PresetName, evidence: string): Platform => ({ name, budgetMs: PRESETS[name].budgetMs, evidence });
  // Most specific first: a Kubernetes pod may also look like a Docker container.
  if (env.KUBERNETES_SERVICE_HOST) return found('kubernetes', 'KUBERNETES_SERVICE_HOST is set');
  if (env.pm_id !== undefined) return found('pm2', 'pm_id is set (PM2)');
  if (env.SUPERVISOR_ENABLED) return found('supervisord', 'SUPERVISOR_ENABLED is set');
  if (env.INVOCATION_ID) return found('systemd', 'INVOCATION_ID is set (systemd)');
  // Only as the container's entrypoint: docker stop signals PID 1. In a dev container or a
  // CI job container, something else is PID 1 and docker stop is not what stops graceful.
  if (pid === 1 && exists('/.dockerenv')) return found('docker', 'PID 1 and /.dockerenv exists');
  return null;
}

// The platform whose deadline graceful must fit in: --platform-timeout (0: none), else the
// preset's, else the one detected from the environment. One reading for run, check and up.
export function resolvePlatform(
  flag: { value: string; from: string } | null,
  preset: Preset | null,
  where: { env: NodeJS.ProcessEnv; exists: (path: string) => boolean; pid: number },
): Platform | null {
  const detected = preset ? { name: preset.name, budgetMs: preset.budgetMs, evidence: `--preset ${preset.name}` } : detectPlatform(where.env, where.exists, where.pid);
  if (!flag) return detected;
  const budgetMs = parseDuration(flag.value, flag.from);
  if (budgetMs === 0) return null;
  return { name: detected?.name ?? null, budgetMs, evidence: flag.from };
}
