// A program that is not Node, whose graceful stop is not SIGTERM: nginx. graceful check must
// fail it for the right reason (in-flight requests cut) with its own fix (SIGQUIT), and
// pass it when stopped the way it drains.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitOf, fixture, freePort, readJson, start, tempDir, useHarness, waitGone } from './harness.js';

useHarness();

const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
if (!nginx) console.log('nginx.test.ts skipped: nginx is not installed (.ci/run installs it: apt-get install nginx)');

describe.skipIf(!nginx)('graceful check -- nginx', () => {
  // `slowMs`: how long the backend takes to answer each in-flight request.
  async function check(stopSignal: string, slowMs: number) {
    const [port, upstream] = [await freePort(), await freePort()];
    const dir = tempDir();
    mkdirSync(join(dir, 'logs'));
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${dir}/${t};`).join(' ');
    writeFileSync(
      join(dir, 'nginx.conf'),
      `worker_processes 2; error_log ${dir}/logs/error.log; pid ${dir}/nginx.pid; events { worker_connections 64; }
       http { access_log off; ${temp} server { listen 127.0.0.1:${port}; location / { proxy_pass http://127.0.0.1:${upstream}; } } }`,
    );
    // The upstream: a slow backend the in-flight requests wait on (ended by pid below).
    const backend = spawn(process.execPath, [fixture('http-server.js'), String(upstream)], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise((resolve) => backend.stdout!.once('data', resolve));
      const report = join(dir, 'check.json');
      const run = start(['check', '--stop-signal', stopSignal, '--ready', `tcp:${port}`, '--inflight', `http://127.0.0.1:${port}/slow?ms=${slowMs}`, '--report-file', report, '--', nginx!, '-c', join(dir, 'nginx.conf'), '-p', dir, '-g', 'daemon off;']);
      await exitOf(run, 20_000);
      const r = readJson(report);
      const line = (name: string) => run.stderr.text.split('\n').find((l) => new RegExp(`^\\s+(ok|FAIL|n/a|not run)\\s+${name}\\s`).test(l)) ?? '';
      return { line, upstream, failed: r.checks.filter((c: any) => c.ok === false).map((c: any) => c.name) };
    } finally {
      backend.kill('SIGKILL');
      await waitGone([backend.pid!]);
    }
  }

  it('SIGTERM, its fast shutdown, cuts the requests in flight: inflight fails, with nginx fix', async () => {
    // Requests the backend never answers (it is killed after the check): nginx's stop always
    // finds them in flight, however long graceful check takes to send it after them (with
    // both cores busy, 800 ms requests were over by then, and nothing was cut).
    const { failed, line, upstream } = await check('SIGTERM', 600_000);
    // The audit sees what the fast shutdown does to the requests' other half: the worker
    // exits with its connections to the upstream open, mid-request.
    expect(failed).toEqual(['inflight', 'connections-closed']);
    expect(line('inflight')).toMatch(/FAIL\s+inflight\s+0\/10 in-flight requests completed; .*: nginx treats SIGTERM as a fast shutdown that drops connections in progress, and drains on SIGQUIT: --stop-signal SIGQUIT/);
    expect(line('connections-closed')).toMatch(new RegExp(`FAIL\\s+connections-closed\\s+nginx: worker process \\(pid \\d+\\) had (a connection|\\d+ connections) still open when it exited, closed by the kernel, not by the program: node 127\\.0\\.0\\.1:${upstream}( \\(x\\d+\\))?(; nginx: worker process \\(pid \\d+\\) had .*)?: close each connection`));
  });

  it('SIGQUIT, its graceful stop, passes', async () => {
    const { failed, line } = await check('SIGQUIT', 800);
    expect(failed).toEqual([]);
    // Its error log, open on its stderr and another descriptor, is its stderr: not a file left open.
    expect(line('files-closed')).toMatch(/ok\s+files-closed\s+no file open for writing when each of its 3 processes exited$/);
  });
});
