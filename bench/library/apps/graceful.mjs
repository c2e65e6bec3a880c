// graceful-lifecycle (this repository's library), alone: no supervisor around it.
import { createServer } from 'node:http';
import { lifecycle } from 'graceful-lifecycle';
import { app, LIMIT_MS, listen } from './app.mjs';

const life = lifecycle({ timeoutMs: LIMIT_MS, logger: false });
const server = life.serve('http', createServer(app()));
listen(server, () => life.ready());
