// Node alone: server.close() at SIGTERM, exit when it calls back.
import { createServer } from 'node:http';
import { app, listen } from './app.mjs';

const server = createServer(app());
process.on('SIGTERM', () => server.close(() => process.exit(0)));
listen(server);
