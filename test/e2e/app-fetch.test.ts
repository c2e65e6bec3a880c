// globalFetchPool (issue 25): fetch()'s connection pool, which Node 20 gives no public way to
// close, closed as a resource of the lifecycle. The server the program fetched from sees its
// kept-alive connection end when the resource closes, while the program is still running:
// the pool closed it, not the process's exit.
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { alive, exitOf, start, useHarness } from './harness.js';

useHarness();

const PROGRAM = `
  import { globalFetchPool, lifecycle } from 'graceful-supervisor/app';
  const life = lifecycle({ exit: false, logger: false });
  await life.use('fetch', globalFetchPool, (pool) => pool.close());
  console.log('fetched ' + (await (await fetch(process.argv[1])).text()).trim());
  const report = await life.shutdown();
  console.log('shutdown ' + JSON.stringify(report.resources.map((r) => [r.name, r.outcome])));
  // Stays alive until told to go: a connection that ends now was ended by the pool.
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
`;

describe('globalFetchPool', () => {
  it("closes fetch()'s kept-alive connection as a resource, before the process exits", async () => {
    const server = http.createServer((_req, res) => res.end('hello\n'));
    const open = new Set<unknown>();
    server.on('connection', (socket) => {
      open.add(socket);
      socket.once('close', () => open.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    const run = start([], { via: [process.execPath, '--input-type=module', '-e', PROGRAM, url] });
    await run.stdout.waitFor(/fetched hello/, 'the fetch');
    await run.stdout.waitFor(/shutdown \[\["fetch","closed"\]\]/, 'the shutdown');
    const deadline = performance.now() + 2_000; // undici would keep it 4 s
    while (open.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(open.size).toBe(0);
    expect(alive(run.pid)).toBe(true);
    run.proc.stdin!.end();
    expect((await exitOf(run)).code).toBe(0);
    await new Promise((resolve) => server.close(resolve));
  });
});
