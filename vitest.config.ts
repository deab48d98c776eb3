import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Test files that share one module graph per worker (`isolate: false`): the handlers' tests
 * (their AWS clients mocked by aws-sdk-client-mock), the pure rules, the state machines'
 * definitions, the CDK app's assertions and the console's app and pages. None of them runs the
 * simulator in its own process or drives a browser, so loading the AWS SDK, aws-cdk-lib and
 * the handlers once per worker instead of once per file changes nothing they assert.
 *
 * The files that run the CLI through the simulator's harness share a graph in `cli` (below).
 * Everything else runs isolated, a fresh module graph per file: the tests that run the
 * simulator in their own process (they use the real SDK clients, which a mocked file would
 * leave stubbed in a shared graph) and the browser's. test/projects.test.ts holds the rule:
 * every file in exactly one project, none in `shared` that imports the simulator's engine,
 * local DynamoDB, bench or chaos, the CLI harness or the browser, and none in `cli` that
 * imports any of them but the harness, or mocks.
 */
const SHARED = [
  'test/lambdas/**/*.test.ts',
  'test/core/**/*.test.ts',
  'test/pipeline/**/*.test.ts',
  'test/statemachines/**/*.test.ts',
  // alarm-plan runs the CLI through the simulator's test harness.
  'test/infra/!(alarm-plan).test.ts',
  'test/docs/**/*.test.ts',
  'test/layout.test.ts',
  'test/console/{app,page,signin,aws-backend}.test.ts',
];

/**
 * Test files that run the CLI through the simulator's test harness (test/sim/cli-harness.ts: the
 * shared runs in warm CLI processes, or a `handsoff` process of their own) and read what it
 * prints, sharing one module graph per worker (`isolate: false`) in a project of their own. None
 * of them runs the simulator, an AWS client or a browser in its own process, nor mocks one: what
 * they load is the harness and pure modules (the event types, the console's folds, the
 * timeline). test/projects.test.ts holds the rule.
 */
const CLI = [
  'test/sim/{batching,blockers,build-stage,cli,emergency,emergency-faults,failed-change,faults,gamma-onebox,internal-failure}.test.ts',
  'test/sim/{kinds,monitors,newcomer,overrides,rollout,source,stage-tests,summary,waits}.test.ts',
  'test/console/{cli,pictures,report,state,superseded}.test.ts',
  'test/infra/alarm-plan.test.ts',
];

/**
 * The suite's one wall-clock limit. Nothing in the suite waits on the wall clock: simulations run
 * in virtual time and finish when their work is done, however loaded the machine. This limit only
 * catches a hung test, a hook, a poll or a browser step, so it is far above any quiet duration
 * (a loaded machine stretches a run many times over). No test file sets a lower one
 * (test/projects.test.ts): a test, a hook, `expect.poll` and Playwright read this one.
 */
export const WALL_CLOCK_LIMIT_MS = 600_000;

export default defineConfig({
  test: {
    testTimeout: WALL_CLOCK_LIMIT_MS,
    hookTimeout: WALL_CLOCK_LIMIT_MS,
    // expect.poll retries until its condition holds (a page that updates, a request that lands):
    // Vitest's default gives up after one second, which a loaded machine can take for a paint.
    expect: { poll: { timeout: WALL_CLOCK_LIMIT_MS / 2 } },
    pool: 'forks',
    // One worker per core (Vitest's default keeps one core free: one worker on two cores).
    // The end-to-end files spend their time in a child `handsoff` process while their worker
    // waits, so a worker is one busy process at a time. VITEST_MAX_WORKERS overrides it.
    maxWorkers: availableParallelism(),
    // Powertools metrics print EMF lines to stdout; the handlers' tests do not read them.
    env: { POWERTOOLS_METRICS_DISABLED: 'true' },
    projects: [
      {
        extends: true,
        test: { name: 'shared', include: SHARED, isolate: false },
      },
      {
        extends: true,
        // The directory and warm processes where test files share the CLI runs of one `vitest run`
        // (test/sim/cli-harness.ts): one for this project and the isolated one.
        test: { name: 'cli', include: CLI, isolate: false, globalSetup: ['test/sim/shared-runs.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'isolated',
          include: ['test/**/*.test.ts'],
          exclude: [...SHARED, ...CLI],
          globalSetup: ['test/sim/shared-runs.ts'],
        },
      },
    ],
  },
});
