// Runs the --pre-stop hook: the one place graceful runs a shell, on purpose (a Kubernetes
// preStop or systemd ExecStop is a shell command line). node:child_process, not execa: the
// hook needs a spawn, its exit and a group kill, and execa in the bundle cost every start
// memory and start-up, used or not (bench/analysis.md, "The pre-stop hook without execa").
import { spawn } from 'node:child_process';
import type { SignalName } from '../../core/types.js';

export interface PreStopResult {
  code: number | null;
  signal: SignalName | null;
  error: string | null;
}

export interface PreStop {
  /** Ends the hook and everything it started (its own process group). */
  cancel(): void;
}

// Starts `sh -c command` with the child's pid in GRACEFUL_CHILD_PID; calls `done` once.
export function runPreStop(command: string, childPid: number | null, done: (result: PreStopResult) => void): PreStop {
  let pid: number | undefined;
  const kill = () => {
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  let ended = false;
  const end = (result: PreStopResult) => {
    if (ended) return;
    ended = true;
    done(result);
  };
  try {
    const sub = spawn('sh', ['-c', command], {
      // Its output goes to graceful's stderr: stdout belongs to the child.
      stdio: ['ignore', 2, 'inherit'],
      // Its own group, so that cancelling it also ends what it started (sleep, curl, ...).
      detached: true,
      env: { ...process.env, GRACEFUL_CHILD_PID: childPid === null ? '' : String(childPid) },
    });
    pid = sub.pid;
    sub.once('error', (error) => end({ code: null, signal: null, error: error.message.split('\n')[0]! }));
    sub.once('exit', (code, signal) => end({ code, signal: signal as SignalName | null, error: null }));
  } catch (error) {
    queueMicrotask(() => end({ code: null, signal: null, error: (error as Error).message.split('\n')[0]! }));
  }
  return {
    cancel() {
      kill();
    },
  };
}
