// The launchers graceful knows: programs that start the real program as a child rather than
// becoming it (npm start runs `sh -c "node server.js"`, and dash does not exec its last
// command). On a stop they often do not wait for it: npm, yarn and pnpm pass SIGTERM to the
// shell, which dies of it without passing it on, then exit at once; the program is left
// running, unsignalled (measured with npm 11, yarn 1.22 and pnpm 9 here). PURE: names only.
import type { SignalName } from './types.js';

/** What kind of launcher a command is: a package manager's script runner, or a shell. */
export type LauncherKind = 'package-manager' | 'shell';

const PACKAGE_MANAGERS = new Set(['npm', 'npx', 'npm-cli.js', 'npx-cli.js', 'yarn', 'yarnpkg', 'yarn.js', 'yarn.cjs', 'pnpm', 'pnpx', 'pnpm.cjs', 'pnpm.js']);
const SHELLS = new Set(['sh', 'dash', 'bash', 'zsh', 'ash', 'ksh', 'mksh']);
const NODES = new Set(['node', 'nodejs']);

function base(path: string | undefined): string {
  return (path ?? '').slice((path ?? '').lastIndexOf('/') + 1);
}

// The kind of launcher `argv` is, or null for a program that does its own work. A package
// manager run through node (node /usr/lib/node_modules/npm/bin/npm-cli.js) counts as one.
export function launcherKind(argv: readonly string[]): LauncherKind | null {
  let name = base(argv[0]);
  if (NODES.has(name)) name = base(argv[1]);
  if (PACKAGE_MANAGERS.has(name)) return 'package-manager';
  if (SHELLS.has(name)) return 'shell';
  return null;
}

// What to do about a launcher that does not wait for the program it started.
export function launcherHint(kind: LauncherKind): string {
  const fix =
    kind === 'shell'
      ? "put `exec` before the command (sh -c 'exec node server.js'), or run it without the shell"
      : 'run the program directly (CMD ["node", "server.js"]), put `exec` before the command in the package.json script, or keep graceful as PID 1';
  return `in a container, PID 1 exiting kills the program mid-request: ${fix}`;
}

// Programs whose graceful stop is another signal than SIGTERM (for them SIGTERM is a fast
// shutdown that drops connections in progress), from their own documentation.
const GRACEFUL_STOP: Record<string, string> = {
  nginx: 'SIGQUIT', // nginx: TERM, INT fast shutdown; QUIT graceful shutdown
  'php-fpm': 'SIGQUIT', // php-fpm: SIGINT, SIGTERM immediate termination; SIGQUIT graceful stop
  httpd: 'SIGWINCH', // Apache httpd: WINCH graceful-stop
  apache2: 'SIGWINCH',
  unicorn: 'SIGQUIT', // unicorn: TERM quick shutdown; QUIT graceful shutdown
};

// What to say when `command` is such a program stopped with another signal than its own.
export function gracefulStopHint(command: string, signal: SignalName): string | null {
  const name = command.split(' ')[0]!.replace(/.*\//, '').replace(/:$/, '');
  const wanted = GRACEFUL_STOP[name];
  if (!wanted || wanted === signal) return null;
  return `${name} treats ${signal} as a fast shutdown that drops connections in progress, and drains on ${wanted}: --stop-signal ${wanted} (and STOPSIGNAL ${wanted} in its Dockerfile)`;
}
