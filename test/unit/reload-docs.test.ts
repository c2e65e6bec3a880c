// docs/reload.md is the reference of reloads: it must document every option that belongs to
// them (graceful run's, graceful check's --reload, graceful reload's) with its variable and
// default, and every exit status of graceful reload: the tables are written from the code
// (npm run docs; doc-tables.test.ts checks them), the rest is held here. These fail when the
// code changes and the doc does not.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { RUN_OPTIONS } from '../../src/config/options.js';
import { CHECK_OPTIONS } from '../../src/commands/check/options.js';
import { tablesIn } from '../../scripts/doc-tables.js';
import { ROOT } from '../e2e/harness.js';

const doc = readFileSync(join(ROOT, 'docs/reload.md'), 'utf8');
const RELOAD_KEYS = ['listen', 'listenPid', 'control', 'reloadSignal', 'instances'];

it('documents each reload option of run and check, with its variable', () => {
  const specs = [...RUN_OPTIONS.filter((o) => RELOAD_KEYS.includes(o.key)), ...CHECK_OPTIONS.filter((o) => o.key === 'reload')];
  expect(specs).toHaveLength(6);
  for (const spec of specs) {
    expect(doc).toContain(`\`${spec.flags}\``);
    expect(doc).toContain(`\`${spec.env}\``);
  }
});

it("holds the tables of run's reload options, graceful reload's options and its exit statuses", () => {
  expect(tablesIn(doc)).toEqual(['options-reload', 'options-reload-command', 'exit-reload']);
});

it("states graceful check --reload's default", () => {
  const reload = CHECK_OPTIONS.find((o) => o.key === 'reload')!;
  expect(doc.replace(/\s+/g, ' ')).toContain(`\`graceful check\` takes \`--reload <n>\` (\`${reload.env}\`, default \`${reload.default.split(' ')[0]}\`)`);
});

it('has the examples the issue asks for', () => {
  for (const text of ['server.listen({ fd: 3 }', 'app.listen({ fd: 3 }', 'app.server.listen({ fd: 3 }', 'uvicorn app:app --fd 3', '-- gunicorn app:app', 'net.FileListener(os.NewFile(3', 'ExecReload=/usr/local/bin/graceful reload', 'kill -HUP $MAINPID', '## Kubernetes']) {
    expect(doc).toContain(text);
  }
});
