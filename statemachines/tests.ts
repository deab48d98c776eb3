/**
 * A pre-production stage's suite (docs/tests.md), run after the stage's deployment and before
 * its bake: alpha, beta and gamma the integration suite against the stage's endpoint, zeta the
 * backward-compatibility suite of the new revision against production's endpoints.
 *
 * Before the bake, because a failing suite then fails the change at once instead of after the
 * bake's hour, and the bake that follows watches the stage's alarms over what the suite's
 * traffic left behind (a leak, a slow burn the suite started): a change is promoted only when
 * its suite passed and the stage stayed healthy after it.
 *
 * The runner is the pipeline's (`tests.runner`): `codebuild` starts the pipeline's test project
 * (`codebuild:startBuild.sync`, the build of the change's commit with `buildspec-tests.yml`), a
 * failed build fails the suite; `lambda` invokes the team's test function directly
 * (`lambda:invoke`), which answers `{"passed": true}`; anything else (false, no boolean, an
 * error, a timeout) fails the suite. A failed suite publishes `tests.failed` with the reason,
 * then the stage is rolled back and the change fails there (the stage's rollback path).
 */
import type { ResolvedPipeline } from '../core/model.ts';
import { EventType } from '../core/events.ts';
import { testProjectName } from '../core/naming.ts';
import { TestSuite, TestVariable, productionEndpoints, stageEndpoint, stageTestsOf, suiteOf } from '../core/tests.ts';
import { type Json, LAMBDA_INVOKE, type State, type States, notify } from './asl.ts';

import { commitSource, type MachineOptions } from './commit-source.ts';
import { CODEBUILD_REFUSALS, START_BUILD_SYNC } from './build.ts';

/** The error of a failed suite, as the stage's rollback and `change.failed` read it (`$.error`). */
export const TESTS_FAILED_ERROR = 'TestsFailed';

/** CodeBuild's and Lambda's throttling and service errors: the suite did not run, try again. */
const START_RETRY: Json[] = [
  {
    ErrorEquals: [
      ...CODEBUILD_REFUSALS,
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.TooManyRequestsException',
    ],
    IntervalSeconds: 5,
    MaxAttempts: 6,
    BackoffRate: 2,
    MaxDelaySeconds: 120,
  },
];

/** The margin past the suite's own timeout (CodeBuild's, the function's) before the task gives up. */
const TIMEOUT_MARGIN_SECONDS = 300;

/** What the suite is told, as the runner passes it. */
const suiteInput = (p: ResolvedPipeline, stage: string): { literal: Record<string, string>; paths: Record<string, string> } => ({
  literal: {
    stage,
    suite: suiteOf(stage),
    endpoint: stageEndpoint(p, stage),
    ...(suiteOf(stage) === TestSuite.BACKWARD_COMPATIBILITY ? { productionEndpoints: productionEndpoints(p).join(',') } : {}),
  },
  paths: { pipeline: '$.pipeline', change: '$.change', revision: '$.revision' },
});

const VARIABLE_OF: Record<string, string> = {
  pipeline: TestVariable.PIPELINE,
  change: TestVariable.CHANGE,
  revision: TestVariable.REVISION,
  stage: TestVariable.STAGE,
  suite: TestVariable.SUITE,
  endpoint: TestVariable.ENDPOINT,
  productionEndpoints: TestVariable.PRODUCTION_ENDPOINTS,
};

/**
 * A suite's task: its runner's call, bounded by the suite's timeout and a margin, retried only
 * when the runner refused to start it, its answer at `$.tests` (`selector`: what of it the
 * pass reads), any failure to `failed` with the error at `$.testsError`.
 */
const suiteTask = (resource: string, parameters: State, selector: State, timeoutMinutes: number, next: string, failed: string): State => ({
  Type: 'Task',
  Resource: resource,
  Parameters: parameters,
  TimeoutSeconds: timeoutMinutes * 60 + TIMEOUT_MARGIN_SECONDS,
  Retry: START_RETRY,
  ResultSelector: selector,
  ResultPath: '$.tests',
  Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.testsError', Next: failed }],
  Next: next,
});

const codebuildTask = (p: ResolvedPipeline, stage: string, timeoutMinutes: number, next: string, failed: string, options: MachineOptions): State => {
  const { literal, paths } = suiteInput(p, stage);
  return suiteTask(
    START_BUILD_SYNC,
    {
      ProjectName: testProjectName(p.name),
      // The change's own commit: the suite is the one its author merged with it.
      ...commitSource(p, options),
      TimeoutInMinutesOverride: timeoutMinutes,
      EnvironmentVariablesOverride: [
        ...Object.entries(literal).map(([k, v]) => ({ Name: VARIABLE_OF[k]!, Value: v, Type: 'PLAINTEXT' })),
        ...Object.entries(paths).map(([k, v]) => ({ Name: VARIABLE_OF[k]!, 'Value.$': v, Type: 'PLAINTEXT' })),
      ],
    },
    // Only what the pass event names: the build's id.
    { 'build.$': '$.Build.Id' },
    timeoutMinutes,
    next,
    failed,
  );
};

const lambdaTask = (p: ResolvedPipeline, stage: string, fn: string, timeoutMinutes: number, next: string, failed: string): State => {
  const { literal, paths } = suiteInput(p, stage);
  // A crash or timeout of the team's function is a failed suite, not retried: only Lambda's own errors are.
  return suiteTask(
    LAMBDA_INVOKE,
    { FunctionName: fn, Payload: { ...literal, ...Object.fromEntries(Object.entries(paths).map(([k, v]) => [`${k}.$`, v])) } },
    // The whole answer, unselected: a path to a field it lacks would be a States.Runtime error.
    { 'answer.$': '$.Payload' },
    timeoutMinutes,
    next,
    failed,
  );
};

/**
 * Adds the stage's suite to the main line after its deployment (`add`: Next 'NEXT' is the
 * following state, the bake) and its failure path to `states`, which ends in `rollbackId`.
 */
export const stageTestStates = (
  states: States,
  add: (id: string, state: State) => void,
  p: ResolvedPipeline,
  stage: string,
  id: string,
  region: string,
  rollbackId: string,
  options: MachineOptions = {},
): void => {
  const t = stageTestsOf(p);
  const suite = suiteOf(stage);
  const failedId = `${id}.TestsFailed`;
  const reasonId = `${id}.TestsFailure`;
  const passedId = `${id}.TestsPassed`;
  const scope = { stage, region };
  if (t.runner === 'lambda') {
    // The schema refuses a lambda runner without its function; a resolved pipeline built by
    // hand without one must not synthesize a machine that invokes nothing.
    if (t.function === undefined) throw new Error(`pipeline ${p.name}: tests.runner 'lambda' needs tests.function (docs/tests.md)`);
    add(`${id}.Tests`, lambdaTask(p, stage, t.function, t.timeoutMinutes, `${id}.TestsAnswer`, failedId));
    // A null or non-object answer has no `passed`: IsPresent is false, the suite failed.
    const answered = '$.tests.answer.passed';
    add(`${id}.TestsAnswer`, {
      Type: 'Choice',
      Choices: [
        {
          And: [
            { Variable: answered, IsPresent: true },
            { Variable: answered, IsBoolean: true },
            { Variable: answered, BooleanEquals: true },
          ],
          Next: passedId,
        },
      ],
      Default: `${id}.TestsRefused`,
    });
    // Fail closed: `passed: false`, no boolean, no answer at all.
    states[`${id}.TestsRefused`] = {
      Type: 'Pass',
      Parameters: { Error: TESTS_FAILED_ERROR, 'answer.$': '$.tests.answer' },
      ResultPath: '$.testsError',
      Next: failedId,
    };
  } else {
    add(`${id}.Tests`, codebuildTask(p, stage, t.timeoutMinutes, passedId, failedId, options));
  }
  add(passedId, notify(EventType.TESTS_PASSED, scope, 'NEXT', { suite, runner: t.runner }));
  // The reason is read from what the runner said (notify: the build's phase, the function's answer).
  states[failedId] = notify(EventType.TESTS_FAILED, scope, reasonId, { suite, runner: t.runner, 'failure.$': '$.testsError' });
  // Reporting the failure must not stop the rollback when EventBridge is down.
  (states[failedId] as State).Catch = [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: reasonId }];
  states[reasonId] = {
    Type: 'Pass',
    Parameters: {
      Error: TESTS_FAILED_ERROR,
      Cause: JSON.stringify({ reason: `the ${suite} suite failed in ${stage}`, stage, region }),
    },
    ResultPath: '$.error',
    Next: rollbackId,
  };
};

