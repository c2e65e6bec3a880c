// npm run docs: rewrites the tables of docs/ (and the README) that restate a table of the
// code, each between its markers, from the code (scripts/doc-tables.ts says how). Run it after
// changing an option, a default, an exit status or a preset; test/unit/doc-tables.test.ts
// fails until it has been run.
import { fileURLToPath } from 'node:url';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url);
// The tables are TypeScript, as the code they read: bundled in memory, imported from there.
const bundle = await build({
  entryPoints: [fileURLToPath(new URL('scripts/doc-tables.ts', root))],
  bundle: true,
  write: false,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
});
const { rewrite } = await import(`data:text/javascript;base64,${Buffer.from(bundle.outputFiles[0].text).toString('base64')}`);

const files = ['README.md', ...readdirSync(new URL('docs/', root)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
for (const file of files) {
  const path = new URL(file, root);
  const text = readFileSync(path, 'utf8');
  const next = rewrite(text);
  if (next !== text) {
    writeFileSync(path, next);
    console.log(`docs: rewrote the tables of ${file}`);
  }
}
