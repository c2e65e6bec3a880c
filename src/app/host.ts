// The Node process as the lifecycle's Host: its monotonic clock, timers, signals, exit,
// stderr and graceful's channel, read once from the environment.
import { constants } from 'node:os';
import { basename } from 'node:path';
import { connectChannel } from './channel.js';
import type { Host } from './lifecycle.js';
import { PLATFORM_VAR, STATUS_SOCKET_VAR, STOP_DELAY_VAR, STOP_TIMEOUT_VAR } from './protocol.js';

// The process's host. The variables graceful set are taken out of the environment, as
// sd_notify's unset_environment does: they describe this process's channel, and a child
// process reading them would write into it or size its shutdown from it.
export function nodeHost(name: string | undefined): Host {
  const label = name ?? (process.argv[1] ? basename(process.argv[1]) : basename(process.execPath));
  const log = (line: string) => {
    try {
      process.stderr.write(`${label}: ${line}\n`);
    } catch {
      // stderr closed: nowhere to say it
    }
  };
  const now = () => Number(process.hrtime.bigint()) / 1e6;
  const channel = connectChannel(process.env, now, (why) => log(`${why}; phases go to stderr`));
  if (typeof channel === 'string') log(`${channel}; phases go to stderr`);
  else channel?.send({ phase: 'hello', pid: process.pid, name: label });
  const timeoutText = process.env[STOP_TIMEOUT_VAR];
  let envTimeoutMs: number | null = null;
  if (timeoutText !== undefined && timeoutText !== '') {
    if (/^\d+$/.test(timeoutText)) envTimeoutMs = Number(timeoutText);
    else log(`${STOP_TIMEOUT_VAR}=${JSON.stringify(timeoutText)} is not a number of milliseconds; ignored`);
  }
  const underGraceful = Boolean(process.env[STATUS_SOCKET_VAR]);
  // Where it runs: as graceful says, else Kubernetes if the process sees it (its service
  // variables are in every container of a pod), else Heroku (DYNO, in every dyno).
  const platform = process.env[PLATFORM_VAR] || (process.env.KUBERNETES_SERVICE_HOST ? 'kubernetes' : process.env.DYNO ? 'heroku' : null);
  const gracefulDelays = /^[1-9]\d*$/.test(process.env[STOP_DELAY_VAR] ?? '');
  for (const name of [STATUS_SOCKET_VAR, STOP_TIMEOUT_VAR, PLATFORM_VAR, STOP_DELAY_VAR]) delete process.env[name];
  return {
    now,
    timer(ms, fire) {
      const t = setTimeout(fire, Math.max(0, Math.ceil(ms)));
      return () => clearTimeout(t);
    },
    settle: () => new Promise((resolve) => setImmediate(resolve)),
    onSignal(signal, handler) {
      process.on(signal as NodeJS.Signals, handler);
      return () => process.off(signal as NodeJS.Signals, handler);
    },
    signalNumber: (signal) => (constants.signals as Record<string, number>)[signal] ?? 0,
    exit: (code) => process.exit(code),
    uptimeMs: () => process.uptime() * 1000,
    channel: typeof channel === 'string' ? null : channel,
    envTimeoutMs,
    underGraceful,
    platform,
    gracefulDelays,
    log,
  };
}
