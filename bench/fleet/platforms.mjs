// How each platform stops one old replica of a rolling deploy, in its own order, with its
// own signal and deadline (sources: docs/deploy.md). The harness starts the new replica
// and waits for the load balancer to see it UP before calling stop(): that part is the
// same everywhere (maxSurge 1 / maxUnavailable 0, minimumHealthyPercent 100, Nomad's
// max_parallel 1 with health checks, Heroku's preboot).
//
// `lb` is the load balancer's view of the replica's slot (maint: no new request is sent
// to it; drain: likewise, in haproxy's draining state), `replica` its container. `lag`
// is how long the platform's removal takes to reach the load balancer, drawn for each stop
// (uniform in 0..lagMs, from the run's seed).
//
// `graceful` is what graceful is given on each platform: the preset's name, and for a
// graceful without that preset, the flags that say the same (used when `graceful run
// --preset <name>` is refused); its stop delay is `--stop-delay auto` (run.mjs), and for a
// graceful without auto, `fixedDelay`, the fixed one measured before auto existed.
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const PLATFORMS = {
  // The kubelet sends SIGTERM to PID 1 of each container while the endpoints controller
  // and every proxy remove the pod, in parallel: the removal reaches the load balancer
  // after a lag. SIGKILL after terminationGracePeriodSeconds (30 s).
  kubernetes: {
    signal: 'SIGTERM',
    deadlineS: () => 30,
    graceful: { preset: 'kubernetes', flags: () => ['--preset', 'kubernetes'], fixedDelay: '6s' },
    async stop({ replica, lb, lag }) {
      const removed = sleep(lag).then(() => lb.maint());
      await replica.stop(30);
      await removed;
    },
  },
  // The ECS service deregisters the task from the ALB's target group, waits for the
  // target's deregistration delay (draining: no new request, the in-flight ones finish),
  // then stops the task: SIGTERM, SIGKILL after stopTimeout (30 s).
  ecs: {
    signal: 'SIGTERM',
    deadlineS: () => 30,
    graceful: { preset: 'ecs', flags: () => ['--timeout', '29.5s', '--platform-timeout', '30s'], fixedDelay: '0s' },
    async stop({ replica, lb, params }) {
      await lb.drain();
      await sleep(params.deregistrationDelayMs);
      await lb.maint();
      await replica.stop(30);
    },
  },
  // Nomad removes the service from Consul (the load balancer, following Consul, learns it
  // after a lag), waits shutdown_delay (0 by default), sends kill_signal (the job's choice:
  // SIGINT here, as its docs' examples and Fly.io use), and kills after kill_timeout (5 s).
  nomad: {
    signal: 'SIGINT',
    deadlineS: (params) => params.killTimeoutS,
    graceful: {
      preset: 'nomad',
      flags: (params) => ['--timeout', `${params.killTimeoutS * 1000 - 500}ms`, '--platform-timeout', `${params.killTimeoutS}s`],
      fixedDelay: '2500ms',
    },
    async stop({ replica, lb, lag, params }) {
      const removed = sleep(lag).then(() => lb.maint());
      await sleep(params.shutdownDelayMs);
      await replica.stop(params.killTimeoutS);
      await removed;
    },
  },
  // Heroku's dyno manager sends SIGTERM to every process of the dyno at once, and SIGKILL
  // to what is left 30 s later; the router stops sending to the dyno after a lag.
  heroku: {
    signal: 'SIGTERM',
    deadlineS: () => 30,
    graceful: { preset: 'heroku', flags: () => ['--timeout', '29.5s', '--platform-timeout', '30s'], fixedDelay: '0s' },
    async stop({ replica, lb, lag }) {
      const removed = sleep(lag).then(() => lb.maint());
      await replica.signalEveryProcess('SIGTERM');
      if (!(await replica.waitExit(30))) await replica.kill('SIGKILL');
      await removed;
    },
  },
};

// Not in the default table (--platforms fly,cloudrun): their stop order is read from their
// docs less firmly than the four above (docs/deploy.md).
//
// Fly.io sends kill_signal (SIGINT by default) and kills after kill_timeout (5 s); its proxy
// is assumed to learn of the stop as Kubernetes' endpoints do, after a lag.
export const MORE_PLATFORMS = {
  fly: {
    signal: 'SIGINT',
    deadlineS: () => 5,
    graceful: { preset: 'fly', flags: () => ['--timeout', '4.5s', '--platform-timeout', '5s'], fixedDelay: '2500ms' },
    async stop({ replica, lb, lag }) {
      const removed = sleep(lag).then(() => lb.maint());
      await replica.stop(5);
      await removed;
    },
  },
  // Cloud Run stops instances that get no more requests (scale-down, or a revision whose
  // traffic moved): the router is assumed done with it before SIGTERM; SIGKILL after 10 s.
  cloudrun: {
    signal: 'SIGTERM',
    deadlineS: () => 10,
    graceful: { preset: 'cloudrun', flags: () => ['--timeout', '9.5s', '--platform-timeout', '10s'], fixedDelay: '0s' },
    async stop({ replica, lb }) {
      await lb.maint();
      await replica.stop(10);
    },
  },
};
Object.assign(PLATFORMS, MORE_PLATFORMS);
export const DEFAULT_PLATFORMS = ['kubernetes', 'ecs', 'nomad', 'heroku'];

// The platforms' knobs the harness exposes, with their defaults.
export const DEFAULT_PARAMS = {
  lagMs: 5000, // Kubernetes, Nomad, Heroku: the removal reaches the load balancer 0..5 s late
  deregistrationDelayMs: 3000, // ECS: the ALB's draining before the stop (AWS's default is 300 s)
  shutdownDelayMs: 0, // Nomad's shutdown_delay default
  killTimeoutS: 5, // Nomad's kill_timeout default
};
