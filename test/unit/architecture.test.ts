// The functional core stays pure: src/core imports nothing but itself (no node:*, no
// dependency, nothing from the shell), so every decision is testable on a fake clock. The
// one exception is the status channel's protocol (src/app/protocol.ts), itself pure, whose
// phases the machine records.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../e2e/harness.js';

it('src/core imports only src/core (and the pure protocol of the status channel)', () => {
  const dir = join(ROOT, 'src/core');
  const offenders: string[] = [];
  for (const file of readdirSync(dir)) {
    const text = readFileSync(join(dir, file), 'utf8');
    for (const m of text.matchAll(/(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]/g)) {
      const spec = m[1] ?? m[2]!;
      if (!spec.startsWith('./') && spec !== '../app/protocol.js') offenders.push(`${file}: ${spec}`);
    }
    // Code only: what strings and comments say (a message may name process.exit()) is not use.
    const code = text
      .replace(/\/\/.*$/gm, '')
      .replace(/'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`/g, '""');
    for (const banned of ['Date.now', 'performance.now', 'process.', 'setTimeout', 'console.']) {
      if (code.includes(banned)) offenders.push(`${file}: ${banned}`);
    }
  }
  expect(offenders).toEqual([]);
});
