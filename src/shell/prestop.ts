// Runs the --pre-stop hook: the one place graceful runs a shell, on purpose (a Kubernetes
// preStop or systemd ExecStop is a shell command line). execa is loaded here, on the stop
// path only, so that it costs nothing at start-up.
export interface PreStopResult {
  code: number | null;
  signal: string | null;
  error: string | null;
}

export interface PreStop {
  /** Ends the hook and everything it started (its own process group). */
  cancel(): void;
}

// Starts `sh -c command` with the child's pid in GRACEFUL_CHILD_PID; calls `done` once.
export function runPreStop(command: string, childPid: number | null, done: (result: PreStopResult) => void): PreStop {
  let pid: number | undefined;
  let cancelled = false;
  const kill = () => {
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  void (async () => {
    try {
      const { execa } = await import('execa');
      if (cancelled) return done({ code: null, signal: null, error: 'cancelled before it started' });
      const sub = execa('sh', ['-c', command], {
        // Its output goes to graceful's stderr: stdout belongs to the child.
        stdin: 'ignore',
        stdout: 2,
        stderr: 'inherit',
        // Its own group, so that cancelling it also ends what it started (sleep, curl, ...).
        detached: true,
        reject: false,
        env: { GRACEFUL_CHILD_PID: childPid === null ? '' : String(childPid) },
      });
      pid = sub.pid;
      if (cancelled) kill();
      const r = await sub;
      done({
        code: r.exitCode ?? null,
        signal: r.signal ?? null,
        error: r.failed && r.exitCode === undefined && !r.signal ? (r.shortMessage ?? 'failed to start') : null,
      });
    } catch (error) {
      done({ code: null, signal: null, error: (error as Error).message.split('\n')[0]! });
    }
  })();
  return {
    cancel() {
      cancelled = true;
      kill();
    },
  };
}
