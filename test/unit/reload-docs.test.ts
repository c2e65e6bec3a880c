// docs/reload.md is the reference of reloads: it must document every option that belongs to
// them (graceful run's, graceful check's --reload, graceful reload's) with its variable, and
// every exit status of graceful reload. These fail when the code changes and the doc does not.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { EXIT_TABLE } from '../../src/core/exit.js';
import { RELOAD_COMMAND_OPTIONS } from '../../src/commands/reload/options.js';
import { RUN_OPTIONS } from '../../src/config/options.js';
import { CHECK_OPTIONS } from '../../src/commands/check/options.js';
import { ROOT } from '../e2e/harness.js';

const doc = readFileSync(join(ROOT, 'docs/reload.md'), 'utf8');
const RELOAD_KEYS = ['listen', 'listenPid', 'control', 'reloadSignal'];

it('documents each reload option of run and check, with its variable', () => {
  const specs = [...RUN_OPTIONS.filter((o) => RELOAD_KEYS.includes(o.key)), ...CHECK_OPTIONS.filter((o) => o.key === 'reload')];
  expect(specs).toHaveLength(5);
  for (const spec of specs) {
    expect(doc).toContain(`\`${spec.flags}\``);
    expect(doc).toContain(`\`${spec.env}\``);
  }
});

it('documents the options and every exit status of graceful reload', () => {
  for (const spec of RELOAD_COMMAND_OPTIONS) expect(doc).toContain(`| \`${spec.flags}\` | \`${spec.env}\` |`);
  for (const row of EXIT_TABLE.filter((r) => r.command === 'reload')) expect(doc).toContain(`| \`${row.status}\` |`);
});

it('has the examples the issue asks for', () => {
  for (const text of ['server.listen({ fd: 3 }', 'app.listen({ fd: 3 }', 'app.server.listen({ fd: 3 }', 'uvicorn app:app --fd 3', '-- gunicorn app:app', 'net.FileListener(os.NewFile(3', 'ExecReload=/usr/local/bin/graceful reload', 'kill -HUP $MAINPID', '## Kubernetes']) {
    expect(doc).toContain(text);
  }
});
