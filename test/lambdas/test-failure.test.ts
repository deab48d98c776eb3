/**
 * Why a stage's suite failed, as `tests.failed` says it (lambdas/shared/test-failure.ts via the
 * notify handler): from a failed CodeBuild build, a failed or timed-out Lambda invocation, or
 * a test function's answer that was not `{"passed": true}`.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { notify } from '../../lambdas/notify/index.ts';
import { testsFailureReason } from '../../lambdas/shared/test-failure.ts';
import { $metadata, ddb, published, useAwsMocks } from './support.ts';

useAwsMocks();
beforeEach(() => {
  ddb.on(UpdateCommand, { TableName: 'operators' }).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata }));
});

const failedBuild = (phases: unknown[]) => ({
  Error: 'States.TaskFailed',
  Cause: JSON.stringify({ Build: { Id: 'storefront-api-tests:0001', BuildStatus: 'FAILED', ProjectName: 'storefront-api-tests', Phases: phases } }),
});

describe('testsFailureReason', () => {
  it("names the build and its failed phase's message", () => {
    const reason = testsFailureReason(
      failedBuild([
        { PhaseType: 'INSTALL', PhaseStatus: 'SUCCEEDED' },
        { PhaseType: 'BUILD', PhaseStatus: 'FAILED', Contexts: [{ StatusCode: 'COMMAND_EXECUTION_ERROR', Message: 'Error while executing command: npm test. Reason: exit status 1' }] },
      ]),
    );
    expect(reason).toBe('the test build failed in its BUILD phase: Error while executing command: npm test. Reason: exit status 1 (storefront-api-tests:0001)');
  });

  it('names a build that timed out or was stopped without a phase message', () => {
    expect(testsFailureReason({ Error: 'States.TaskFailed', Cause: JSON.stringify({ Build: { Id: 'b:2', BuildStatus: 'TIMED_OUT' } }) })).toBe('the test build ended TIMED_OUT (b:2)');
  });

  it("reads the test function's own error", () => {
    const cause = JSON.stringify({ errorType: 'AssertionError', errorMessage: 'GET /orders answered 500', trace: [] });
    expect(testsFailureReason({ Error: 'AssertionError', Cause: cause })).toBe('AssertionError: GET /orders answered 500');
  });

  it("says a missing function or project is what failed, with Step Functions' error", () => {
    expect(testsFailureReason({ Error: 'Lambda.ResourceNotFoundException', Cause: 'Function not found: storefront-tests' })).toBe(
      'Lambda.ResourceNotFoundException: Function not found: storefront-tests',
    );
  });

  it('says the suite ran past its timeout', () => {
    expect(testsFailureReason({ Error: 'States.Timeout', Cause: '' })).toMatch(/ran past its timeout \(tests\.timeoutMinutes\)/);
  });

  it('reads a passed: false answer with its summary, or without one', () => {
    expect(testsFailureReason({ Error: 'TestsFailed', answer: { passed: false, summary: '2 of 30 failed' } })).toBe('the test function answered passed: false: 2 of 30 failed');
    expect(testsFailureReason({ Error: 'TestsFailed', answer: { passed: false } })).toBe('the test function answered passed: false');
  });

  it('fails closed on an answer without a boolean passed, and shows what it got', () => {
    expect(testsFailureReason({ Error: 'TestsFailed', answer: { passed: 'yes' } })).toBe(
      `the test function's answer has no boolean 'passed' (received {"passed":"yes"}); a suite passes only on {"passed": true}`,
    );
    expect(testsFailureReason({ Error: 'TestsFailed', answer: null })).toContain('(received null)');
    expect(testsFailureReason({ Error: 'TestsFailed', answer: { log: 'x'.repeat(1000) } }).length).toBeLessThan(420);
  });

  it('says when nothing was recorded', () => {
    expect(testsFailureReason(undefined)).toBe('the suite failed (no cause recorded)');
    expect(testsFailureReason({ Error: 'States.TaskFailed' })).toMatch(/^States\.TaskFailed: unknown failure/);
  });
});

describe('notify tests.failed', () => {
  it('publishes the reason instead of the raw failure', async () => {
    await notify({
      type: 'tests.failed',
      pipeline: 'storefront-api',
      change: 'c1',
      stage: 'beta',
      region: 'us-west-2',
      fields: { suite: 'integration', runner: 'lambda', failure: { Error: 'TestsFailed', answer: { passed: false, summary: '1 of 9 failed' } } },
    });
    const [event] = published();
    expect(event).toMatchObject({ type: 'tests.failed', stage: 'beta', region: 'us-west-2', suite: 'integration', runner: 'lambda', reason: 'the test function answered passed: false: 1 of 9 failed' });
    expect(event).not.toHaveProperty('failure');
    // A failed suite is a decision the audit trail keeps, with its reason.
    const audited = ddb.commandCalls(PutCommand).map((c) => c.args[0].input).filter((i) => i.TableName === 'audit');
    expect(audited).toEqual([expect.objectContaining({ Item: expect.objectContaining({ type: 'tests.failed', why: 'the test function answered passed: false: 1 of 9 failed' }) })]);
  });

  it('publishes tests.passed with its stage and suite as they are', async () => {
    await notify({ type: 'tests.passed', pipeline: 'storefront-api', change: 'c1', stage: 'zeta', fields: { suite: 'backward-compatibility', runner: 'codebuild' } });
    expect(published()[0]).toMatchObject({ type: 'tests.passed', stage: 'zeta', suite: 'backward-compatibility' });
    expect(published()[0]).not.toHaveProperty('reason');
  });
});
