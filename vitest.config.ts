import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Nothing in the suite waits on the wall clock: simulations run in virtual time and finish
    // when their work is done, however loaded the machine. These limits only catch a hung test,
    // so they are far above any run's quiet duration (a loaded machine stretches a run many
    // times over). Set no lower limit in a test file.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    // The directory where test files share the CLI runs of one `vitest run` (test/sim/cli-harness.ts).
    globalSetup: ['test/sim/shared-runs.ts'],
    // One worker per core (Vitest's default keeps one core free: one worker on two cores).
    // The end-to-end files spend their time in a child `handsoff` process while their worker
    // waits, so a worker is one busy process at a time. VITEST_MAX_WORKERS overrides it.
    maxWorkers: availableParallelism(),
    // Powertools metrics print EMF lines to stdout; the handlers' tests do not read them.
    env: { POWERTOOLS_METRICS_DISABLED: 'true' },
  },
});
