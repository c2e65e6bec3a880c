// Type-checked by `npm run typecheck`, never run: a CommonJS program requiring graceful-supervisor/app
// gets the published types (dist/app/cjs).
import { lifecycle } from 'graceful-supervisor/app';
import http = require('node:http');

const life = lifecycle({ signals: ['SIGTERM'], timeoutMs: 10_000 });
export const server: http.Server = life.serve('http', http.createServer());
export const closed: Promise<string> = life.use('cache', () => 'x', () => undefined);
