// docs/up.md is graceful up's reference: every option with its variable, every key of a
// process, every condition and every check of the stack check. These fail when the code
// grows and the page does not.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STACK_CHECKS } from '../../src/core/stack-judge.js';
import { OPTION_KEYS, OWN_KEYS } from '../../src/commands/up/stackfile.js';
import { UP_OPTIONS } from '../../src/commands/up/options.js';
import { ROOT } from '../e2e/harness.js';

const doc = readFileSync(join(ROOT, 'docs/up.md'), 'utf8');
const section = (title: string) => {
  const start = doc.indexOf(`## ${title}`);
  expect(start, `docs/up.md section "${title}"`).toBeGreaterThan(-1);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end === -1 ? undefined : end);
};

describe('docs/up.md', () => {
  it('documents every option with its variable', () => {
    const options = section('Options');
    for (const spec of UP_OPTIONS) {
      expect(options).toContain(`\`${spec.flags}\``);
      expect(options).toContain(`\`${spec.env}\``);
    }
  });

  it('documents every key of a process', () => {
    const keys = section('The file');
    for (const key of [...Object.keys(OPTION_KEYS), ...OWN_KEYS]) expect(keys, key).toContain(`\`${key}\``);
  });

  it('documents each condition and each check', () => {
    const start = section('Start');
    for (const c of ['started', 'ready', 'completed']) expect(start).toContain(`| \`${c}\` |`);
    const check = section('graceful check for a stack');
    for (const name of STACK_CHECKS) expect(check).toContain(`- **${name}**`);
  });

  it('points at an example that exists', () => {
    expect(doc).toContain('(../examples/stack.yml)');
    expect(readFileSync(join(ROOT, 'examples/stack.yml'), 'utf8')).toContain('redis-server');
  });
});
