// The stop semantics of the systems graceful runs under or stands in for, one table, each
// value with where it comes from. --help, docs/presets.md's table (npm run docs) and the tests read it.
import type { AutoDelay, KillMode, SignalName } from '../core/types.js';
import { DEFAULT_AUTO_DELAY, PLATFORM_RESERVE_MS } from './defaults.js';
import { parseDuration } from './parse.js';

export const PRESET_NAMES = ['systemd', 'pm2', 'docker', 'podman', 'containerd', 'kubernetes', 'ecs', 'nomad', 'fly', 'cloudrun', 'heroku', 'supervisord'] as const;
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
  /** --stop-delay auto's bounds on this platform: how long its load balancers keep sending work after the stop. */
  autoDelay: AutoDelay;
  /** The preset's --stop-delay when none is given: `auto` where the platform signals while its load balancers still send (Kubernetes), else none. */
  stopDelay: 'auto' | null;
  /**
   * The platform sends its stop signal to every process itself (Heroku: every process of the
   * dyno), so graceful must not send the child the same signal a second time.
   */
  signalsEveryProcess: boolean;
  /** Where each value comes from. */
  sources: Record<'budget' | 'stopSignal' | 'killSignal' | 'killMode' | 'deliveryMode' | 'sigcont' | 'successExitStatus' | 'signalsEveryProcess' | 'autoDelay' | 'stopDelay', string>;
}

// What most platforms do not do: signal every process themselves.
const SIGNALS_MAIN_ONLY = 'the platform signals one process; graceful passes the stop on';

// What a platform with no load balancer of its own in front of the program gets from
// --stop-delay auto: the work that still comes is whatever a proxy the user put there sends.
const NO_BALANCER = 'no load balancer of its own: a second of quiet, at most 5 s (config/defaults.ts)';

// Where the platform stops the program only once its load balancer is done with it, or has
// none: no stop delay unless asked for.
const NO_DEFAULT_DELAY = 'none: nothing is routed to the program once the platform signals it, or the platform has no load balancer of its own';

function preset(
  p: Omit<Preset, 'timeoutMs' | 'signalsEveryProcess' | 'autoDelay' | 'stopDelay' | 'sources'> & {
    signalsEveryProcess?: boolean;
    autoDelay?: AutoDelay;
    stopDelay?: 'auto';
    sources: Omit<Preset['sources'], 'signalsEveryProcess' | 'autoDelay' | 'stopDelay'> & { signalsEveryProcess?: string; autoDelay?: string; stopDelay?: string };
  },
): Preset {
  return {
    ...p,
    timeoutMs: p.budgetMs - PLATFORM_RESERVE_MS,
    signalsEveryProcess: p.signalsEveryProcess ?? false,
    autoDelay: p.autoDelay ?? DEFAULT_AUTO_DELAY,
    stopDelay: p.stopDelay ?? null,
    sources: {
      ...p.sources,
      signalsEveryProcess: p.sources.signalsEveryProcess ?? SIGNALS_MAIN_ONLY,
      autoDelay: p.sources.autoDelay ?? NO_BALANCER,
      stopDelay: p.sources.stopDelay ?? NO_DEFAULT_DELAY,
    },
  };
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
  podman: preset({
    name: 'podman',
    budgetMs: 10_000,
    stopSignal: 'SIGTERM',
    killSignal: 'SIGKILL',
    killMode: 'group',
    deliveryMode: 'mixed',
    sigcont: false,
    successExitStatus: [],
    sources: {
      budget: 'podman stop waits 10 s (podman-stop(1) --time; stop_timeout in containers.conf(5))',
      stopSignal: "SIGTERM unless the image's STOPSIGNAL or --stop-signal says otherwise (podman-stop(1))",
      killSignal: 'SIGKILL after the timeout (podman-stop(1))',
      killMode: 'when PID 1 of a container exits, the kernel SIGKILLs the rest of its PID namespace (pid_namespaces(7))',
      deliveryMode: 'podman stop signals PID 1 only, as docker stop does',
      sigcont: 'podman stop sends only the stop signal and SIGKILL',
      successExitStatus: 'only exit code 0 is success (--restart on-failure)',
    },
  }),
  containerd: preset({
    name: 'containerd',
    budgetMs: 10_000,
    stopSignal: 'SIGTERM',
    killSignal: 'SIGKILL',
    killMode: 'group',
    deliveryMode: 'mixed',
    sigcont: false,
    successExitStatus: [],
    sources: {
      budget: 'nerdctl stop waits 10 s, as docker stop (nerdctl command reference: stop --time)',
      stopSignal: "SIGTERM unless the image's STOPSIGNAL says otherwise (nerdctl command reference)",
      killSignal: 'SIGKILL after the timeout (nerdctl command reference)',
      killMode: 'when PID 1 of a container exits, the kernel SIGKILLs the rest of its PID namespace (pid_namespaces(7))',
      deliveryMode: 'nerdctl stop signals PID 1 only, as docker stop does',
      sigcont: 'nerdctl stop sends only the stop signal and SIGKILL',
      successExitStatus: 'only exit code 0 is success (--restart on-failure)',
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
    autoDelay: { floorMs: 2000, quietMs: 1000, capMs: 15_000 },
    stopDelay: 'auto',
    sources: {
      autoDelay: 'endpoints are removed in parallel with SIGTERM and kube-proxy, ingress controllers and cloud load balancers follow seconds later (Pod lifecycle, termination; KEP-3960 preStop sleep): 2 s at least, at most 15 s. Measured behind haproxy (docs/deploy.md): a load balancer checking /readyz sent its last request 1.5 s after the stop at most, one following the endpoints up to their lag (5 s here); auto waited for both and lost nothing',
      stopDelay: 'auto: the kubelet signals while the endpoints are still being removed; measured behind haproxy (docs/deploy.md), graceful without a stop delay lost requests in every rolling deploy, with auto none',
      budget: 'terminationGracePeriodSeconds: 30 by default, preStop hook included (Pod lifecycle)',
      stopSignal: "SIGTERM to process 1 of each container, or the image's STOPSIGNAL (Pod lifecycle)",
      killSignal: 'then SIGKILL when the grace period is over (Pod lifecycle)',
      killMode: 'the container is killed as a whole (its PID namespace / cgroup)',
      deliveryMode: 'the kubelet signals process 1 of the container only; the rest dies with it',
      sigcont: 'the kubelet sends only the stop signal and SIGKILL',
      successExitStatus: 'only exit code 0 is success (restartPolicy OnFailure; Job completion)',
    },
  }),
  ecs: preset({
    name: 'ecs',
    budgetMs: 30_000,
    stopSignal: 'SIGTERM',
    killSignal: 'SIGKILL',
    killMode: 'group',
    deliveryMode: 'mixed',
    sigcont: false,
    successExitStatus: [],
    autoDelay: { floorMs: 0, quietMs: 1000, capMs: 5000 },
    sources: {
      autoDelay: 'ECS deregisters the task from its target groups and waits their deregistration delay before it stops the task: nothing came after the stop request in the measured deploys (docs/deploy.md), a second of quiet, at most 5 s',
      budget: "stopTimeout: 30 s when the task definition does not set it (Fargate's maximum is 120 s; EC2: ECS_CONTAINER_STOP_TIMEOUT) (ECS ContainerDefinition, StopTask API)",
      stopSignal: "the equivalent of docker stop: SIGTERM, or the image's STOPSIGNAL (StopTask API)",
      killSignal: 'SIGKILL when stopTimeout runs out (StopTask API)',
      killMode: 'the task\'s containers are stopped as wholes, like docker stop',
      deliveryMode: 'docker stop semantics: PID 1 of each container',
      sigcont: 'ECS sends only the stop signal and SIGKILL',
      successExitStatus: 'only exit code 0 is success (essential containers)',
    },
  }),
  nomad: preset({
    name: 'nomad',
    budgetMs: 5_000,
    stopSignal: 'SIGINT',
    killSignal: 'SIGKILL',
    killMode: 'group',
    deliveryMode: 'mixed',
    sigcont: false,
    successExitStatus: [],
    autoDelay: { floorMs: 0, quietMs: 500, capMs: 15_000 },
    sources: {
      autoDelay: "Nomad deregisters the service before kill_signal (and waits shutdown_delay, 0 by default); what follows Consul learns it later: half a second of quiet, the cap half of kill_timeout's grace period (2.25 s by default, the drain keeps the rest). A load balancer checking /readyz stopped within 1.5 s (docs/deploy.md); one that follows Consul later than the cap needs shutdown_delay",
      budget: 'kill_timeout: "5s" by default (Nomad job specification, task block)',
      stopSignal: "kill_signal: SIGINT by default; with the docker driver, the image's STOPSIGNAL (SIGTERM) (Nomad, configure exit signals)",
      killSignal: 'SIGKILL when kill_timeout runs out (Nomad job specification, task block)',
      killMode: 'the task is force-killed as a whole after kill_timeout',
      deliveryMode: 'the kill signal goes to the task\'s process',
      sigcont: 'Nomad sends only kill_signal and SIGKILL',
      successExitStatus: 'only exit code 0 is success (restart and reschedule blocks)',
    },
  }),
  fly: preset({
    name: 'fly',
    budgetMs: 5_000,
    stopSignal: 'SIGINT',
    killSignal: 'SIGKILL',
    killMode: 'group',
    deliveryMode: 'mixed',
    sigcont: false,
    successExitStatus: [],
    autoDelay: { floorMs: 0, quietMs: 500, capMs: 15_000 },
    sources: {
      autoDelay: "Fly's proxy stops routing to a stopping Machine; half a second of quiet, the cap half of kill_timeout's grace period (2.25 s by default, the drain keeps the rest)",
      budget: 'kill_timeout: 5 s by default, 300 s at most (fly.toml reference)',
      stopSignal: 'kill_signal: SIGINT by default (fly.toml reference)',
      killSignal: 'SIGKILL once kill_timeout passes (fly.toml reference)',
      killMode: 'the Machine is stopped as a whole',
      deliveryMode: "Fly's init signals the image's entrypoint process",
      sigcont: 'Fly sends only kill_signal and SIGKILL',
      successExitStatus: 'only exit code 0 is success (restart policy on-failure)',
    },
  }),
  cloudrun: preset({
    name: 'cloudrun',
    budgetMs: 10_000,
    stopSignal: 'SIGTERM',
    killSignal: 'SIGKILL',
    killMode: 'group',
    deliveryMode: 'mixed',
    sigcont: false,
    successExitStatus: [],
    autoDelay: { floorMs: 0, quietMs: 500, capMs: 3000 },
    sources: {
      autoDelay: 'Cloud Run stops routing to an instance before SIGTERM; SIGKILL follows 10 s later',
      budget: 'SIGTERM, then SIGKILL 10 s later (Cloud Run container runtime contract, instance shutdown)',
      stopSignal: 'SIGTERM to the container instance (Cloud Run container runtime contract)',
      killSignal: 'SIGKILL 10 s after SIGTERM (Cloud Run container runtime contract)',
      killMode: 'the instance is shut down as a whole',
      deliveryMode: "the container's entrypoint process is signalled",
      sigcont: 'Cloud Run sends only SIGTERM and SIGKILL',
      successExitStatus: 'only exit code 0 is success',
    },
  }),
  heroku: preset({
    name: 'heroku',
    budgetMs: 30_000,
    stopSignal: 'SIGTERM',
    killSignal: 'SIGKILL',
    killMode: 'group',
    deliveryMode: 'group',
    sigcont: false,
    successExitStatus: [],
    signalsEveryProcess: true,
    sources: {
      autoDelay: "the program has Heroku's SIGTERM already: graceful's delay cannot keep it serving, and the watch only reports what still came (the program's own delay does the job: graceful-lifecycle's 5 s on Heroku)",
      budget: 'processes have 30 s to shut down, then SIGKILL (Heroku Dev Center, dyno shutdown behavior)',
      stopSignal: 'SIGTERM, which cannot be changed (Heroku Dev Center, dyno shutdown behavior)',
      killSignal: 'SIGKILL for what remains after 30 s (Heroku Dev Center, dyno shutdown behavior)',
      killMode: 'every process of the dyno is killed',
      deliveryMode: 'SIGTERM goes to every process in the dyno (Heroku Dev Center, dyno shutdown behavior)',
      sigcont: 'Heroku sends only SIGTERM and SIGKILL',
      successExitStatus: 'only exit code 0 is success',
      signalsEveryProcess: 'SIGTERM goes to every process in the dyno, and may come more than once (Heroku Dev Center, dyno shutdown behavior): the child has it already',
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
export function detectPlatform(env: NodeJS.ProcessEnv, exists: (path: string) => boolean, pid: number, read: (path: string) => string | null = () => null): Platform | null {
  const found = (name: PresetName, evidence: string): Platform => ({ name, budgetMs: PRESETS[name].budgetMs, evidence });
  // Most specific first: a pod or a task may also look like a container of a runtime.
  for (const [variable, name] of PLATFORM_VARIABLES) if (env[variable] !== undefined && env[variable] !== '') return found(name, `${variable} is set`);
  if (env.pm_id !== undefined) return found('pm2', 'pm_id is set (PM2)');
  if (env.SUPERVISOR_ENABLED) return found('supervisord', 'SUPERVISOR_ENABLED is set');
  if (env.INVOCATION_ID) return found('systemd', 'INVOCATION_ID is set (systemd)');
  // Only as the container's entrypoint: the runtime's stop signals PID 1. In a dev container
  // or a CI job container, something else is PID 1 and no runtime's stop reaches graceful.
  if (pid !== 1) return null;
  if (exists('/run/.containerenv')) return found('podman', 'PID 1 and /run/.containerenv exists (podman)');
  if (exists('/.dockerenv')) return found('docker', 'PID 1 and /.dockerenv exists');
  // containerd writes no marker file: its root is an overlay of its snapshotter's layers.
  if (/ \/ [^\n]* - overlay [^\n]*io\.containerd\.snapshotter/.test(read('/proc/self/mountinfo') ?? '')) return found('containerd', "PID 1 and the root is containerd's overlay (/proc/self/mountinfo)");
  return null;
}

// The variables each platform sets in every container or task it runs, most specific first.
const PLATFORM_VARIABLES: readonly [string, PresetName][] = [
  ['KUBERNETES_SERVICE_HOST', 'kubernetes'], // every container of a pod (Kubernetes, Services: environment variables)
  ['ECS_CONTAINER_METADATA_URI_V4', 'ecs'], // the task metadata endpoint, version 4 (ECS, Fargate platform 1.4+ and agent 1.39+)
  ['NOMAD_ALLOC_ID', 'nomad'], // every task (Nomad, runtime environment)
  ['FLY_APP_NAME', 'fly'], // every Machine (Fly.io, runtime environment)
  ['K_SERVICE', 'cloudrun'], // every Cloud Run service instance (container runtime contract)
  ['DYNO', 'heroku'], // every dyno (Heroku Dev Center, dynos: local environment variables)
];

// The platform whose deadline graceful must fit in: --platform-timeout (0: none), else the
// preset's, else the one detected from the environment. One reading for run, check and up.
export function resolvePlatform(
  flag: { value: string; from: string } | null,
  preset: Preset | null,
  where: { env: NodeJS.ProcessEnv; exists: (path: string) => boolean; pid: number; read?: (path: string) => string | null },
): Platform | null {
  const detected = preset ? { name: preset.name, budgetMs: preset.budgetMs, evidence: `--preset ${preset.name}` } : detectPlatform(where.env, where.exists, where.pid, where.read);
  if (!flag) return detected;
  const budgetMs = parseDuration(flag.value, flag.from);
  if (budgetMs === 0) return null;
  return { name: detected?.name ?? null, budgetMs, evidence: flag.from };
}
