// The README is the product's front door: it must document every option, variable, signal
// and preset value the code has. These checks fail when the code changes and the README
// does not.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKS } from '../../src/core/judge.js';
import { CHECK_OPTIONS, LIFECYCLE_OPTIONS, RUN_OPTIONS } from '../../src/options.js';
import { PRESETS } from '../../src/presets.js';
import { TRAPPED } from '../../src/signals.js';
import { MATRIX } from './bad-input-matrix.js';
import { ROOT } from '../e2e/harness.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const section = (title: string) => {
  const start = readme.indexOf(`## ${title}`);
  expect(start, `README section "${title}"`).toBeGreaterThan(-1);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
};

describe('README', () => {
  it('documents every option with its variable', () => {
    const options = section('Options');
    for (const spec of RUN_OPTIONS) {
      expect(options).toContain(`\`${spec.flags}\``);
      expect(options).toContain(`\`${spec.env}\``);
    }
  });

  it('documents every option of graceful check, and every check with how to fix it', () => {
    const checks = section('graceful check: prove it in CI');
    for (const spec of CHECK_OPTIONS) {
      expect(checks).toContain(`\`${spec.flags}\``);
      expect(checks).toContain(`\`${spec.env}\``);
    }
    for (const name of CHECKS) expect(checks).toContain(`- **${name}**`);
  });

  it('documents every lifecycle option of graceful run', () => {
    const life = section('Restarts, memory limit, stats, health endpoint');
    for (const spec of LIFECYCLE_OPTIONS) {
      expect(life).toContain(`\`${spec.flags}\``);
      expect(life).toContain(`\`${spec.env}\``);
    }
  });

  it('has every trapped signal in the signal table', () => {
    const signals = section('Signals');
    for (const s of TRAPPED) expect(signals).toContain(`\`${s.name}\``);
  });

  it('shows each preset with its values', () => {
    const presets = section('Presets and platform deadlines');
    for (const p of Object.values(PRESETS)) {
      const row = presets.split('\n').find((line) => line.startsWith(`| \`${p.name}\``));
      expect(row, `row for ${p.name}`).toBeDefined();
      expect(row).toContain(`| ${p.budgetMs / 1000}s | ${p.timeoutMs / 1000}s | ${p.stopSignal} | ${p.killSignal} | ${p.killMode} | ${p.sigcont ? 'yes' : 'no'} |`);
    }
  });

  it('states the size of the bad input matrix truly', () => {
    const failures = section('Failure modes');
    expect(failures).toContain(`**Bad input: ${MATRIX.length} malformed values, one line each.**`);
    // The faults table: its header, separator and one row per fault.
    const start = failures.indexOf('| Fault |');
    const rows = failures.slice(start, failures.indexOf('\n\n', start)).split('\n').length - 2;
    expect(failures).toContain(`**${rows} faults injected**`);
  });

  it('tells the two commands of the quick start', () => {
    const quick = section('Quick start');
    expect(quick).toContain('npm install');
    // Not through npx (npm exec dies of the terminal's Ctrl+C: issue 11); test/e2e/terminal.test.ts runs it.
    expect(quick).toContain('./bin/graceful.js run -- node fixtures/http-server.js');
    expect(quick).not.toMatch(/^npx graceful/m);
    expect(quick).toContain('npm test');
  });
});
