import { defineConfig } from 'vitest/config';

// Two projects. `npm test` runs both; `npm run test:unit` is the edit loop (about a second),
// `npm run test:e2e` the rest.
//   unit: pure code on a fake clock (the machine, the renderers, the parsers, the docs'
//     checks). No process is started, so the files share one worker thread.
//   e2e: the built CLI on real process trees, and the shell's modules on real processes
//     (the reaper, the tree scan).
export default defineConfig({
  test: {
    // The default report, then one line per failed test at the very end (.ci/run's log is
    // long: its last lines name what failed).
    reporters: ['default', './test/failures-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Nothing here starts a process, installs a signal handler or changes the
          // process's state: one thread, no per-file isolation, no fork per file.
          pool: 'threads',
          isolate: false,
          // Nothing here waits for anything: the ceiling only ends a test that hangs. It is not
          // a speed limit: with both cores busy (stress-ng --cpu 2 beside the e2e project), the
          // property tests' CPU work (args.test.ts builds commander's program 1000 times: ~2 s
          // on a quiet machine) went over the 5 s default, and failed for the load alone.
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // End-to-end tests start real process trees; separate processes keep one test file's
          // signals and leftovers away from another's.
          pool: 'forks',
          // Ceilings for the slowest legitimate waits (a 2 s grace period on a loaded 2-core
          // machine); a test that hits one has failed, and says what it was waiting for.
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
});
