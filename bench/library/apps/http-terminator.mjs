// http-terminator: Connection: close on requests in flight, idle sockets destroyed, the rest at its timeout.
import { createServer } from 'node:http';
import { createHttpTerminator } from 'http-terminator';
import { app, LIMIT_MS, listen } from './app.mjs';

const server = createServer(app());
const terminator = createHttpTerminator({ server, gracefulTerminationTimeout: LIMIT_MS });
process.on('SIGTERM', async () => {
  await terminator.terminate();
  process.exit(0);
});
listen(server);
