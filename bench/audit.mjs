#!/usr/bin/env node
// node bench/audit.mjs [--quick]: the cost of graceful check's audit of any program
// (bench/audit.ts, bundled here with esbuild: it drives src/shell/audit directly, for the
// per-call and exit figures; bench/audit-check.mjs measures whole graceful check runs). Needs a build (npm run build) and Debian's
// /usr/bin/python3. Prints Markdown tables (docs/audit-notes.md quotes a run).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'graceful-audit-bench-'));
try {
  const out = join(dir, 'audit-bench.mjs');
  await build({ entryPoints: [join(ROOT, 'bench/audit.ts')], bundle: true, platform: 'node', format: 'esm', outfile: out, external: ['koffi', '@koromix/*'], logLevel: 'warning', banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" } });
  const r = spawnSync(process.execPath, [out, ROOT, ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules') } });
  process.exitCode = r.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
