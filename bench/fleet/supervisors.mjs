// What runs as PID 1 of each replica, and where the load balancer checks it.
//
// graceful: the standalone executable (/graceful in the root), with the platform's
//   settings (platforms.mjs), `--ready tcp:` on the app's port, and `--health-port`, whose
//   /readyz answers 503 from the stop request while the app keeps serving. haproxy checks
//   that port.
// tini, dumb-init: Debian's, forwarding the stop signal at once. haproxy checks the app's
//   own /readyz (200 until its drain starts: it then stops listening).
// bare: the app's runtime itself as PID 1 (node or python3).
//
// The apps: node (app.mjs) and python (app.py) drain on the signal and know nothing of load
// balancers; lib (app-lib.cjs) is the Node app on graceful's library, whose own delay keeps
// it serving after the signal.
export const APPS = {
  node: ['/usr/bin/node', '/app/app.mjs'],
  python: ['/usr/bin/python3', '/app/app.py'],
  lib: ['/usr/bin/node', '/app/app-lib.cjs'],
};

export const SUPERVISORS = {
  graceful: {
    // `report`: where graceful writes its JSON report in the container (stop.traffic: what
    // --stop-delay auto saw), read back by the harness.
    // `healthHost`: 0.0.0.0 where the load balancer reaches the replica from outside its
    // network namespace (--net pod).
    argv: ({ app, port, healthPort, healthHost, gracefulArgs, report }) => ['/graceful', 'run', ...gracefulArgs, '--health-port', String(healthPort), ...(healthHost ? ['--health-host', healthHost] : []), '--ready', `tcp:127.0.0.1:${port}`, ...(report ? ['--report-file', report] : []), '--', ...APPS[app]],
    checksGraceful: true,
  },
  tini: { argv: ({ app }) => ['/usr/bin/tini', '--', ...APPS[app]], checksGraceful: false },
  'dumb-init': { argv: ({ app }) => ['/usr/bin/dumb-init', ...APPS[app]], checksGraceful: false },
  bare: { argv: ({ app }) => APPS[app], checksGraceful: false },
};

// How a supervisor is named in the tables: the bare one by its runtime.
export const label = (supervisor, app) => (supervisor === 'bare' ? `bare ${app === 'python' ? 'python3' : 'node'}` : supervisor);
// How an app is named in the tables.
export const appLabel = (app) => (app === 'lib' ? 'node + library' : app);
