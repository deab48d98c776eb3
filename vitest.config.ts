import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Powertools metrics print EMF lines to stdout; the handlers' tests do not read them.
    env: { POWERTOOLS_METRICS_DISABLED: 'true' },
  },
});
