// Type-checked by `npm run typecheck`, never run: a program importing graceful-supervisor/app as ESM
// gets the published types (dist/app/esm), and the servers it serves fit serve().
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import Fastify from 'fastify';
import { lifecycle, type Phase, type ShutdownReport } from 'graceful-supervisor/app';

export const life = lifecycle({ delayMs: 0, logger: (line: string, phase: Phase) => void [line, phase] });
export const pool: { end(): Promise<void> } = await life.use('db', async () => ({ end: async () => {} }), (p) => p.end(), { timeoutMs: 2_000 });
export const server: http.Server = life.serve('http', http.createServer(life.readiness));
life.serve('https', https.createServer());
life.serve('net', net.createServer());
life.serve('h2', http2.createServer());
life.serve('h2s', http2.createSecureServer());
life.serve('fastify', Fastify());
life.serve('jobs', { stop() {}, drained: async () => {}, cut() {}, inflight: () => 0 });
// @ts-expect-error an Express app is not a server: pass what app.listen() returns
life.serve('app', (_req: unknown, _res: unknown) => {});
export const probe: 200 | 503 = life.probe().status;
export const report: Promise<ShutdownReport> = life.shutdown('because', { exitCode: 0 });
