// graceful ctl: steers a running graceful up through its control socket (commands/up/control.ts):
// sends one command, prints what the stack said (accepted, then done; or refused, and why),
// and exits with it: 0 done, 1 refused or failed, 69 no graceful up to ask.
import { existsSync } from 'node:fs';
import { EXIT } from '../../core/exit.js';
import { defaultUpControlPath, runningGracefuls } from '../../shell/sockets/control.js';
import { runtimeDir } from '../../shell/sockets/rundir.js';
import { say } from '../../shell/ui/output.js';
import type { CtlCommand } from './options.js';

interface Answer {
  ok?: boolean;
  refused?: boolean;
  accepted?: boolean;
  line?: string;
  lines?: string[];
  error?: string;
}

// Sends the command; resolves with the exit status.
export async function ctlClient(options: CtlCommand): Promise<number> {
  const path = locate(options);
  if (typeof path !== 'string') return fail(path.problem);
  const request = [options.command, options.name, options.count, options.withDependents ? '--with-dependents' : null].filter((w) => w !== null).join(' ');
  const { connect } = process.getBuiltinModule('node:net');
  return new Promise((resolve) => {
    const socket = connect(path);
    let text = '';
    let last: Answer | null = null;
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(`${request}\n`));
    socket.on('data', (chunk: string) => {
      text += chunk;
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n')) {
        let a: Answer;
        try {
          a = JSON.parse(text.slice(0, nl));
        } catch {
          a = { error: 'an answer graceful ctl does not understand (another program on that socket?)' };
        }
        text = text.slice(nl + 1);
        // What the stack will do comes first; the outcome last.
        if (a.accepted && a.line) say(`graceful: ${a.line}\n`);
        last = a;
      }
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'ENOENT' || error.code === 'ECONNREFUSED' ? ': is graceful up running?' : '';
      resolve(fail(`cannot reach graceful up at ${path} (${error.code ?? error.message})${why}`));
    });
    socket.once('close', (hadError) => {
      if (hadError) return;
      const a = last as Answer | null;
      if (!a || a.error) return resolve(fail(a?.error ?? `graceful up at ${path} closed the connection before the outcome (did it exit?)`));
      if (a.lines) {
        // graceful ctl status: the table is what was asked for: on stdout, for grep and scripts.
        process.stdout.write(`${a.lines.join('\n')}\n`);
        return resolve(EXIT.ok);
      }
      say(`graceful: ${a.line}\n`);
      resolve(a.ok ? EXIT.ok : EXIT.ctlRefused);
    });
  });
}

// The control socket to reach: --control, else --pid's, else the only graceful up running.
function locate(options: CtlCommand): string | { problem: string } {
  if (options.control) return options.control;
  if (options.pid !== null) {
    const path = defaultUpControlPath(options.pid);
    return existsSync(path) ? path : { problem: `no graceful up control socket for pid ${options.pid} (${path}): is that graceful up running?` };
  }
  const dir = runtimeDir();
  const running = runningGracefuls(dir, 'up');
  if (running.length === 1) return defaultUpControlPath(running[0]!);
  if (running.length === 0) return { problem: `no running graceful up found (no control socket in ${dir}); start one, or give --control PATH` };
  return { problem: `${running.length} graceful ups are running (pids ${running.join(', ')}); choose one with --pid PID or --control PATH` };
}

function fail(problem: string): number {
  say(`graceful: ctl failed: ${problem}\n`);
  return EXIT.ctlUnavailable;
}
