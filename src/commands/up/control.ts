// graceful up's control socket (shell/sockets/control.ts, <pid>.up.sock in graceful's
// runtime directory): how `graceful ctl` steers a running stack. Each request is a command
// of core/stack.ts (stop, start, restart: the stack's order rules decide), or status; scale
// and reload go to the program's own graceful run (a process with `listen:` in the file).
import { defaultUpControlPath, serveControl, type ControlClient, type ControlServer } from '../../shell/sockets/control.js';
import { privateDir } from '../../shell/sockets/rundir.js';
import type { StackCoordinator } from './coordinator.js';
import { statusTable } from './narration.js';

// Serves the stack's control socket; null (with the reason) when it cannot.
export async function serveStackControl(coordinator: StackCoordinator): Promise<ControlServer | string> {
  const path = defaultUpControlPath(process.pid);
  const problem = privateDir(path.slice(0, path.lastIndexOf('/')));
  if (problem) return problem;
  const named = (client: ControlClient, args: string[], verb: string): string | null => {
    const name = args.find((a) => !a.startsWith('--'));
    if (!name) client.end({ ok: false, line: `${verb}: which process? (${[...coordinator.programs.keys()].join(', ')})` });
    return name ?? null;
  };
  return serveControl(path, {
    status: (client) => {
      const rows = coordinator.status();
      client.end({ ok: true, rows, lines: statusTable(rows) });
    },
    stop: (client, args) => {
      const name = named(client, args, 'stop');
      if (name) coordinator.command({ kind: 'stop', name, dependents: args.includes('--with-dependents') }, client);
    },
    start: (client, args) => {
      const name = named(client, args, 'start');
      if (name) coordinator.command({ kind: 'start', name }, client);
    },
    restart: (client, args) => {
      const name = named(client, args, 'restart');
      if (name) coordinator.command({ kind: 'restart', name }, client);
    },
    scale: (client, args) => {
      const name = named(client, args, 'scale');
      if (name) coordinator.forward(name, 'scale', args.filter((a) => a !== name), client);
    },
    reload: (client, args) => {
      const name = named(client, args, 'reload');
      if (name) coordinator.forward(name, 'reload', [], client);
    },
  }, { keepAlive: true });
}
