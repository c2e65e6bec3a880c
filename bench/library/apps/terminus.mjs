// @godaddy/terminus: stoppable closes idle kept-alive connections, waits for the others.
import { createServer } from 'node:http';
import { createTerminus } from '@godaddy/terminus';
import { app, LIMIT_MS, listen } from './app.mjs';

const server = createServer(app());
createTerminus(server, { signals: ['SIGTERM', 'SIGINT'], timeout: LIMIT_MS, healthChecks: { '/readyz': async () => 'ok' } });
listen(server);
