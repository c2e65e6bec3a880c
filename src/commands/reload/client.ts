// graceful reload: asks a running graceful for a zero-downtime reload through its control
// socket (shell/control.ts), prints the outcome in graceful's words, and exits with it:
// 0 switched, 1 rolled back, 69 failed (core/exit.ts).
import { existsSync } from 'node:fs';
import { EXIT } from '../../core/exit.js';
import type { ReloadCommand } from './options.js';
import { defaultControlPath, runningGracefuls } from '../../shell/sockets/control.js';
import { runtimeDir } from '../../shell/sockets/rundir.js';
import { say } from '../../shell/ui/output.js';

const STATUS: Record<string, number> = { switched: EXIT.ok, 'rolled-back': EXIT.rolledBack, failed: EXIT.reloadFailed };

// Sends the request; resolves with the exit status.
export async function reloadClient(options: ReloadCommand): Promise<number> {
  const path = locate(options);
  if (typeof path !== 'string') return fail(path.problem);
  const { connect } = process.getBuiltinModule('node:net');
  return new Promise((resolve) => {
    const socket = connect(path);
    let text = '';
    let answer: { outcome?: string; line?: string; error?: string } | null = null;
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write('reload\n'));
    socket.on('data', (chunk: string) => {
      text += chunk;
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n')) {
        try {
          answer = JSON.parse(text.slice(0, nl));
        } catch {
          answer = { error: 'an answer graceful reload does not understand (another program on that socket?)' };
        }
        text = text.slice(nl + 1);
      }
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'ENOENT' || error.code === 'ECONNREFUSED' ? 'is it running, with --listen or --control?' : '';
      resolve(fail(`cannot reach graceful at ${path} (${error.code ?? error.message})${why ? `: ${why}` : ''}`));
    });
    socket.once('close', (hadError) => {
      if (hadError) return;
      const a = answer as { outcome?: string; line?: string; error?: string } | null;
      if (!a || a.error || !a.outcome || !(a.outcome in STATUS)) return resolve(fail(a?.error ?? `graceful at ${path} closed the connection before the outcome (did it exit?)`));
      say(`graceful: ${a.line}\n`);
      resolve(STATUS[a.outcome]!);
    });
  });
}

// The control socket to reach: --control, else --pid's (or $MAINPID's), else the only
// graceful with reloads on that runs as this user.
function locate(options: ReloadCommand): string | { problem: string } {
  if (options.control) return options.control;
  if (options.pid !== null) {
    const path = defaultControlPath(options.pid);
    return existsSync(path) ? path : { problem: `no control socket for pid ${options.pid} (${path}): is that graceful running with --listen or --control?` };
  }
  const dir = runtimeDir();
  const running = runningGracefuls(dir);
  if (running.length === 1) return defaultControlPath(running[0]!);
  if (running.length === 0) return { problem: `no running graceful with reloads on found (no control socket in ${dir}); start it with --listen or --control, or give --control PATH` };
  return { problem: `${running.length} gracefuls with reloads on are running (pids ${running.join(', ')}); choose one with --pid PID or --control PATH` };
}

function fail(problem: string): number {
  say(`graceful: reload failed: ${problem}\n`);
  return EXIT.reloadFailed;
}
