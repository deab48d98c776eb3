/**
 * start-change as a GitHub source pipeline's invoke action: the CodePipeline job event, the
 * change it claims (idempotent per pipeline execution), and the job result reported back.
 */
import { CodePipelineClient, InvalidJobStateException, PutJobFailureResultCommand, PutJobSuccessResultCommand } from '@aws-sdk/client-codepipeline';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { ExecutionAlreadyExists, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../lambdas/start-change/index.ts';
import { CopyObjectCommand } from '@aws-sdk/client-s3';
import { $metadata, ddb, marshalled, printedLogs, s3, sfn, useAwsMocks } from './support.ts';

useAwsMocks();

const codePipeline = mockClient(CodePipelineClient);
const MACHINE = 'arn:aws:states:us-east-1:111122223333:stateMachine:handsoff-storefront-api';
const COMMIT = '4c1e2f0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e';
const context = { functionName: 'handsoff-start-change', awsRequestId: 'r-1' } as unknown as Context;

/** The event CodePipeline invokes the action's function with (trimmed to what matters). */
const job = (id: string, params: Record<string, unknown>) => ({
  'CodePipeline.job': {
    id,
    accountId: '111122223333',
    data: {
      actionConfiguration: {
        configuration: { FunctionName: 'Handsoff-ControlPlane-start-change', UserParameters: JSON.stringify(params) },
      },
      inputArtifacts: [{ name: 'Commit', location: { type: 'S3', s3Location: { bucketName: 'handsoff-artifacts', objectKey: 'handsoff-src-storefro/Commit/AbC12xY' } } }],
      outputArtifacts: [],
    },
  },
});
const params = (execution: string, extra: Record<string, unknown> = {}) => ({
  pipeline: 'storefront-api',
  stateMachineArn: MACHINE,
  repository: 'acme/storefront',
  commit: COMMIT,
  branch: 'main',
  authorDate: '2026-12-01T09:15:01Z',
  execution,
  ...extra,
});

let started: Map<string, string>;
/** What was kept at each key of the artifact bucket, in order. */
let copies: { key: string; from: string; before: number }[];
let items: Map<string, Record<string, any>>;
beforeEach(() => {
  codePipeline.reset();
  codePipeline.on(PutJobSuccessResultCommand).resolves({});
  codePipeline.on(PutJobFailureResultCommand).resolves({});
  items = new Map<string, Record<string, any>>();
  ddb.on(PutCommand, { TableName: 'changes' }).callsFake((input) => {
    const existing = items.get(input.Item.pk);
    if (existing) throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata, Item: marshalled(existing) });
    items.set(input.Item.pk, structuredClone(input.Item));
    return {};
  });
  ddb.on(GetCommand, { TableName: 'changes' }).callsFake((input) => ({ Item: structuredClone(items.get(input.Key.pk)) }));
  started = new Map();
  copies = [];
  s3.on(CopyObjectCommand).callsFake((input) => {
    copies.push({ key: input.Key, from: input.CopySource, before: started.size });
    return { VersionId: `v${copies.length}` };
  });
  sfn.on(StartExecutionCommand).callsFake((input) => {
    if (started.has(input.name) && started.get(input.name) !== input.input) throw new ExecutionAlreadyExists({ message: 'exists', $metadata });
    started.set(input.name, input.input);
    return { executionArn: `${MACHINE.replace(':stateMachine:', ':execution:')}:${input.name}` };
  });
});

describe("the commit's archive (what the build and the stage suites read)", () => {
  it("is kept at sources/<pipeline>/<commit>.zip in the artifact bucket, from the action's checkout, before the change starts", async () => {
    await expect(handler(job('job-1', params('exec-1')), context)).resolves.toMatchObject({ change: COMMIT, started: true });
    expect(copies).toEqual([{ key: `sources/storefront-api/${COMMIT}.zip`, from: 'handsoff-artifacts/handsoff-src-storefro/Commit/AbC12xY', before: 0 }]);
    expect(s3.commandCalls(CopyObjectCommand)[0]!.args[0].input.Bucket).toBe('handsoff-artifacts');
  });

  it('without a checkout (no input artifact), starts no change and fails the job naming what is missing', async () => {
    const bare = job('job-2', params('exec-2'));
    bare['CodePipeline.job'].data.inputArtifacts = [];
    await expect(handler(bare, context)).resolves.toMatchObject({ failed: expect.stringContaining('no input artifact') });
    expect(started.size).toBe(0);
    expect(codePipeline.commandCalls(PutJobFailureResultCommand)).toHaveLength(1);
  });

  it('when the copy fails (S3 denied), starts no change and fails the job with the reason', async () => {
    s3.on(CopyObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    await expect(handler(job('job-3', params('exec-3')), context)).resolves.toMatchObject({ failed: expect.stringContaining('Access Denied') });
    expect(started.size).toBe(0);
  });
});

describe('a GitHub push through its source pipeline', () => {
  it('starts the change of the pushed commit and reports the job done', async () => {
    const before = Date.now();
    await expect(handler(job('job-1', params('exec-1')), context)).resolves.toMatchObject({ change: COMMIT, started: true });
    expect(JSON.parse(started.get(COMMIT)!)).toEqual({
      pipeline: 'storefront-api',
      change: COMMIT,
      revision: COMMIT,
      commit: COMMIT,
      repository: 'acme/storefront',
      author: 'unknown',
      mergedAt: expect.any(String),
    });
    expect(codePipeline.commandCalls(PutJobSuccessResultCommand).map((c) => c.args[0].input)).toEqual([
      { jobId: 'job-1', executionDetails: { summary: `change ${COMMIT} started`, externalExecutionId: COMMIT } },
    ]);
    // Merged when the push reached handsoff, not at the commit's (rebased, back-dated) author date.
    const mergedAt = Date.parse(JSON.parse(started.get(COMMIT)!).mergedAt);
    expect(mergedAt).toBeGreaterThanOrEqual(before - 1000);
    expect(mergedAt).toBeLessThanOrEqual(Date.now());
  });

  it('is one change per commit: a duplicated invocation, a retried action or another execution of the commit starts nothing new', async () => {
    await handler(job('job-1', params('exec-1')), context);
    // The same job delivered twice, the stage retried (a new job of the same execution), and
    // the commit's push arriving again (another execution) while its change runs.
    codePipeline.on(PutJobSuccessResultCommand, { jobId: 'job-1' }).rejects(new InvalidJobStateException({ message: 'job is already SUCCEEDED', $metadata }));
    await expect(handler(job('job-1', params('exec-1')), context)).resolves.toMatchObject({ change: COMMIT, started: false });
    await expect(handler(job('job-2', params('exec-1')), context)).resolves.toMatchObject({ change: COMMIT, started: false });
    await expect(handler(job('job-3', params('exec-2')), context)).resolves.toMatchObject({ change: COMMIT, started: false });
    // ... and once it succeeded: the commit never deploys twice.
    items.get(`storefront-api#${COMMIT}`)!.status = 'succeeded';
    await expect(handler(job('job-4', params('exec-3')), context)).resolves.toMatchObject({ change: COMMIT, started: false });
    expect([...started.keys()]).toEqual([COMMIT]);
  });

  it('starts a new change of the commit when its change ended without succeeding (a person retrying it)', async () => {
    await handler(job('job-1', params('exec-1')), context);
    items.get(`storefront-api#${COMMIT}`)!.status = 'rejected';
    await expect(handler(job('job-2', params('exec-2')), context)).resolves.toMatchObject({ change: `${COMMIT}-2`, started: true });
    // A duplicate of the first execution's invocation is still the first change.
    await expect(handler(job('job-1', params('exec-1')), context)).resolves.toMatchObject({ change: COMMIT, started: false });
    await expect(handler(job('job-3', params('exec-3')), context)).resolves.toMatchObject({ change: `${COMMIT}-2`, started: false });
    expect([...started.keys()]).toEqual([COMMIT, `${COMMIT}-2`]);
  });

  it('fails the job, with the reason, when the push cannot start a change; it never throws it away', async () => {
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('User is not authorized to perform states:StartExecution'), { name: 'AccessDeniedException', $metadata }));
    await expect(handler(job('job-1', params('exec-1')), context)).resolves.toEqual({ failed: expect.stringContaining('AccessDeniedException') });
    const failure = codePipeline.commandCalls(PutJobFailureResultCommand)[0]!.args[0].input;
    expect(failure).toMatchObject({ jobId: 'job-1', failureDetails: { type: 'JobFailed', message: expect.stringMatching(/^no change started: AccessDeniedException/) } });
    expect(codePipeline.commandCalls(PutJobSuccessResultCommand)).toHaveLength(0);
  });

  it('logs why the push started no change, under a key the logger keeps', async () => {
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('User is not authorized to perform states:StartExecution'), { name: 'AccessDeniedException', $metadata }));
    const logs = await printedLogs(() => handler(job('job-1', params('exec-1')), context));
    const failure = logs.find((l) => l.level === 'ERROR');
    expect(failure).toMatchObject({ jobId: 'job-1', reason: expect.stringMatching(/^no change started: AccessDeniedException: User is not authorized/) });
    expect(logs.map((l) => l.message)).not.toContainEqual(expect.stringContaining('reserved key'));
  });

  it('fails the job for parameters that are not a push to main, naming the field', async () => {
    await handler(job('job-1', params('exec-1', { commit: 'main' })), context);
    await handler(job('job-2', params('exec-2', { branch: 'release' })), context);
    const messages = codePipeline.commandCalls(PutJobFailureResultCommand).map((c) => c.args[0].input.failureDetails?.message);
    expect(messages[0]).toMatch(/commit: is not a git commit id/);
    expect(messages[1]).toMatch(/the push went to release, not main/);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });
});
