import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most files wait on the emulator, the browser or the database rather than the CPU: three forks on
    // the 2-core CI machine keep the suite well inside its 20-minute budget (one fork: ~28 min).
    maxWorkers: 3,
    reporters: ['default'],
  },
});
