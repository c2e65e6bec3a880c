// The bad input matrix (bad-input-matrix.ts), in-process: each case resolved by options.ts
// as the CLI resolves it must end in one line that names the option or the variable, with
// exit status 2 (a usage error). The parser's own rejections and a few of these cases run
// through the real CLI in test/e2e/bad-input.test.ts, which also checks that the CLI prints
// exactly these lines.
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/config/errors.js';
import { answer, MATRIX } from './bad-input-matrix.js';

describe('the bad input matrix, resolved in-process', () => {
  it.each(MATRIX.filter((c) => c.parsed !== null))('$name: one line naming it, status 2', ({ parsed, env, names }) => {
    const said = answer(parsed!, env);
    expect(said, 'accepted').not.toBe(null);
    expect(said!.status).toBe(EXIT.usage);
    expect(said!.line).not.toContain('\n');
    expect(said!.line).toMatch(/^graceful: /);
    expect(said!.line).toContain(names);
    expect(said!.line).toMatch(/; see graceful (run|check) --help$/);
  });
});

it('the same command lines without the bad values are accepted', () => {
  for (const verb of ['run', 'check'] as const) {
    for (const c of MATRIX.filter((m) => m.parsed?.verb === verb)) {
      const command = c.parsed!.command.length > 0 ? c.parsed!.command : ['true'];
      expect(answer({ verb, command, flags: {} }, {}), c.name).toBe(null);
    }
  }
});
