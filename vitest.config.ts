import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // End-to-end tests start real process trees; separate processes keep one test file's
    // signals and leftovers away from another's.
    pool: 'forks',
    // Ceilings for the slowest legitimate waits (a 2 s grace period on a loaded 2-core
    // machine); a test that hits one has failed, and says what it was waiting for.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
