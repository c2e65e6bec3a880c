// graceful run: supervise the child to the end, then say what happened, on stderr and in
// the JSON report.
import { accessSync, constants } from 'node:fs';
import { dirname } from 'node:path';
import type { RunOptions } from './options.js';
import { summaryLine } from './report/human.js';
import { buildReport, writeFileAtomic } from './report/json.js';
import { Supervisor, type Outcome } from './shell/supervisor.js';
import type { Ui } from './shell/ui.js';

// Supervises one run of the command; resolves with graceful's exit status.
export async function run(options: RunOptions): Promise<number> {
  const supervisor = new Supervisor(options);
  const { ui } = supervisor;
  for (const warning of options.warnings) ui.warn(warning);
  checkReportPath(options.reportFile, ui);
  const outcome = await supervisor.start();
  report(outcome, options, ui, supervisor.clock.wall);
  return outcome.status;
}

function report({ state, status, extras }: Outcome, options: RunOptions, ui: Ui, wall: (at: number) => number): void {
  const { facts } = state;
  if (facts.spawnError) ui.error(facts.spawnError.message);
  else ui.info(summaryLine(facts, options.policy, status, ui.paint));
  const leaked = extras.descendants.leaked;
  if (leaked.length > 0 && options.policy.killMode !== 'process') {
    ui.warn(`left running: ${leaked.map((p) => `${p.command || '?'} (pid ${p.pid})`).join(', ')}`);
  }
  if (options.reportFile === null) return;
  writeReport(options.reportFile, buildReport(facts, options, status, wall, extras), ui);
}

// Writes a JSON report, or says in one line why it could not.
export function writeReport(path: string, data: unknown, ui: Ui): void {
  try {
    writeFileAtomic(path, `${JSON.stringify(data, null, 2)}\n`);
  } catch (error) {
    ui.error(`--report-file ${path}: the report could not be written: ${(error as Error).message}`);
  }
}

// Says at start, not only at the end, that the report cannot be written: the run goes on.
export function checkReportPath(path: string | null, ui: Ui): void {
  if (path === null) return;
  try {
    accessSync(dirname(path), constants.W_OK);
  } catch (error) {
    ui.error(`--report-file ${path}: its directory is not writable (${(error as NodeJS.ErrnoException).code}); the run goes on without a report`);
  }
}
