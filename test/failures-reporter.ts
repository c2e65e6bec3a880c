// A vitest reporter that ends the log with one line per failed test: its file, its full
// name and the first line of its error. A CI log of the whole suite is thousands of lines;
// its last lines then say which test failed, and why, without a search (issue 21).
import type { Reporter, TestModule, Vitest } from 'vitest/node';
import type { SerializedError } from 'vitest';

export default class FailuresReporter implements Reporter {
  #vitest: Vitest | null = null;

  onInit(vitest: Vitest): void {
    this.#vitest = vitest;
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandled: ReadonlyArray<SerializedError>): void {
    const first = (errors: ReadonlyArray<{ message?: string; name?: string }> | undefined) => {
      const e = errors?.[0];
      return e ? `${e.name ?? 'Error'}: ${(e.message ?? '').split('\n')[0]}` : '';
    };
    const lines: string[] = [];
    for (const module of modules) {
      const where = `${module.project.name ? `[${module.project.name}] ` : ''}${module.relativeModuleId}`;
      let tests = 0;
      for (const test of module.children.allTests('failed')) {
        tests++;
        lines.push(`FAILED ${where} > ${test.fullName}: ${first(test.result().errors)}`);
      }
      // A file that failed as a whole: it did not load, or a hook outside any test threw.
      if (tests === 0 && module.state() === 'failed') lines.push(`FAILED ${where}: ${first(module.errors())}`);
    }
    for (const error of unhandled) lines.push(`FAILED (an error outside any test): ${first([error])}`);
    if (lines.length === 0) return;
    const log = (text: string) => (this.#vitest ? this.#vitest.logger.log(text) : console.log(text));
    log(`\n${lines.length} failed:`);
    for (const line of lines) log(line);
  }
}
