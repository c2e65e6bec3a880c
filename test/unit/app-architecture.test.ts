// The library (src/app/) stands alone: it imports only Node's modules and itself (zero
// runtime dependencies, nothing of the CLI), its pure files do no I/O, and the CLI's code
// imports none of it but the protocol's definitions (docs/app-protocol.md) and the words of
// each phase (log.ts: graceful shows the phases as the library would log them).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../e2e/harness.js';

const imports = (text: string) =>
  [...text.matchAll(/(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? m[2]!);
const code = (text: string) =>
  text.replace(/\/\/.*$/gm, '').replace(/'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`/g, '""');
const APP = join(ROOT, 'src/app');

it('src/app imports only node:* and src/app', () => {
  const offenders: string[] = [];
  for (const file of readdirSync(APP)) {
    for (const spec of imports(readFileSync(join(APP, file), 'utf8'))) {
      if (!spec.startsWith('./') && !spec.startsWith('node:')) offenders.push(`${file}: ${spec}`);
    }
  }
  expect(offenders).toEqual([]);
});

it("the library's pure files (protocol, plan, log, types) do no I/O", () => {
  const offenders: string[] = [];
  for (const file of ['protocol.ts', 'plan.ts', 'log.ts', 'types.ts']) {
    const text = readFileSync(join(APP, file), 'utf8');
    // types.ts may name node:http's types (import type: nothing is loaded).
    for (const spec of imports(text)) if (!spec.startsWith('./') && !(file === 'types.ts' && spec === 'node:http')) offenders.push(`${file}: ${spec}`);
    for (const banned of ['Date.now', 'performance.now', 'process.', 'setTimeout', 'console.']) {
      if (code(text).includes(banned)) offenders.push(`${file}: ${banned}`);
    }
  }
  expect(offenders).toEqual([]);
});

it('the CLI imports nothing of the library but its protocol and how a phase reads (both pure)', () => {
  const offenders: string[] = [];
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  for (const file of walk(join(ROOT, 'src')).filter((f) => !f.startsWith(APP))) {
    for (const spec of imports(readFileSync(file, 'utf8'))) {
      if (/(^|\/)app\//.test(spec) && !spec.endsWith('app/protocol.js') && !spec.endsWith('app/log.js')) offenders.push(`${relative(ROOT, file)}: ${spec}`);
    }
  }
  expect(offenders).toEqual([]);
});
