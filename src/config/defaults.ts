// Every default graceful uses, once: the code reads them here, and --help, docs/ and the
// README render them from here (config/options.ts turns each into its help text; the doc tests
// hold docs/options.md to the same text).
import type { RestartPolicy } from '../core/restart.js';
import type { KillMode, SignalName } from '../core/types.js';

/** Built-in defaults, used when neither a flag, an environment variable nor a preset sets a value. */
export const DEFAULTS = {
  timeoutMs: 30_000,
  killSignal: 'SIGKILL' as SignalName,
  killMode: 'group' as KillMode,
  /** graceful check: as docker stop and the kubelet deliver a stop (PID 1 only). */
  checkKillMode: 'mixed' as KillMode,
  sigcont: true,
  // systemd's TimeoutStartSec is 90 s, PM2's listen_timeout 3 s: a minute fits a server that
  // warms a cache without leaving a hung start unnoticed for long. 0 waits forever.
  readyTimeoutMs: 60_000,
  stopDelayMs: 0,
  monitorIntervalMs: 1000,
  healthHost: '127.0.0.1',
  /** graceful check: --after, --inflight-count, --repeat. */
  afterMs: 1000,
  inflightCount: 10,
  repeat: 1,
};

// systemd's and PM2's defaults where they agree with what a developer would expect.
export const RESTART_DEFAULTS: RestartPolicy = {
  mode: 'no',
  delayMs: 100, // systemd RestartSec=100ms
  backoff: false,
  delayMaxMs: 30_000,
  minUptimeMs: 1000, // PM2 min_uptime
  maxRestarts: 5, // systemd StartLimitBurst=5
  windowMs: 10_000, // systemd StartLimitIntervalSec=10s
};

/** With reloads on: the signal that asks for one (systemd's ExecReload= convention), and what LISTEN_PID names. */
export const RELOAD_DEFAULTS = {
  signal: 'SIGHUP' as SignalName,
  listenPid: 'child' as 'child' | 'none',
};

/**
 * --stop-delay auto where no platform says otherwise (a terminal, a host, a container without
 * a load balancer in front): no floor; a second of quiet; at most 5 s.
 */
export const DEFAULT_AUTO_DELAY = { floorMs: 0, quietMs: 1000, capMs: 5000 };

/** The files graceful up looks for, in this order, when -f is not given. */
export const UP_FILES = ['graceful.yml', 'graceful.yaml', 'graceful.json', 'Procfile'] as const;

// What graceful keeps for itself inside the platform's deadline: after its own kill signal
// it still has to see the child die, reap it and write the report before the platform's
// SIGKILL lands. Measured: kill -> exit -> report takes a few ms; 500 ms leaves room for a
// loaded machine and a slow disk.
export const PLATFORM_RESERVE_MS = 500;
