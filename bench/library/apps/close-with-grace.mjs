// close-with-grace: one callback at SIGTERM, SIGINT or an uncaught error; exit after it (or at `delay`).
import { createServer } from 'node:http';
import closeWithGrace from 'close-with-grace';
import { app, LIMIT_MS, listen } from './app.mjs';

const server = createServer(app());
closeWithGrace({ delay: LIMIT_MS }, () => new Promise((resolve) => server.close(() => resolve())));
listen(server);
