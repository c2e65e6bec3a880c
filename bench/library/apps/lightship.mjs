// lightship: its own health server (port 0 outside Kubernetes), shutdown handlers run at SIGTERM.
import { createServer } from 'node:http';
import { createLightship } from 'lightship';
import { app, LIMIT_MS, listen } from './app.mjs';

const lightship = await createLightship({ gracefulShutdownTimeout: LIMIT_MS });
const server = createServer(app());
lightship.registerShutdownHandler(() => new Promise((resolve) => server.close(() => resolve())));
listen(server, () => lightship.signalReady());
