import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { ExecutionAlreadyExists, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import type { StartChangeInput } from '../../core/contracts.ts';
import { handler, startChange } from '../../lambdas/start-change/index.ts';
import { $metadata, ddb, marshalled, sfn, useAwsMocks } from './support.ts';

useAwsMocks();

const MACHINE = 'arn:aws:states:us-east-1:111122223333:stateMachine:handsoff-storefront-api';
const COMMIT = '4c1e2f0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e';
const push = (id: string, time = '2026-12-01T17:00:00Z'): StartChangeInput => ({
  pipeline: 'storefront-api',
  stateMachineArn: MACHINE,
  event: {
    id,
    source: 'aws.codecommit',
    'detail-type': 'CodeCommit Repository State Change',
    region: 'us-east-1',
    time,
    detail: {
      event: 'referenceUpdated',
      referenceType: 'branch',
      referenceName: 'main',
      repositoryName: 'storefront-api',
      commitId: COMMIT,
      callerUserArn: 'arn:aws:iam::111122223333:user/Alice',
    },
  },
});

/** A changes table with its conditional put (attribute_not_exists(pk)). */
const changesTable = () => {
  const items = new Map<string, Record<string, any>>();
  ddb.on(PutCommand, { TableName: 'changes' }).callsFake((input) => {
    const existing = items.get(input.Item.pk);
    if (existing) {
      throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata, Item: marshalled(existing) });
    }
    items.set(input.Item.pk, structuredClone(input.Item));
    return {};
  });
  ddb.on(GetCommand, { TableName: 'changes' }).callsFake((input) => ({ Item: structuredClone(items.get(input.Key.pk)) }));
  return items;
};

/** Step Functions' StartExecution name rules: the same name and input while open is that execution. */
const executions = () => {
  const started = new Map<string, string>();
  sfn.on(StartExecutionCommand).callsFake((input) => {
    const arn = `${input.stateMachineArn.replace(':stateMachine:', ':execution:')}:${input.name}`;
    if (started.has(input.name) && started.get(input.name) !== input.input) {
      throw new ExecutionAlreadyExists({ message: `Execution Already Exists: '${arn}'`, $metadata });
    }
    started.set(input.name, input.input);
    return { executionArn: arn, startDate: new Date() };
  });
  return started;
};

describe('start-change', () => {
  let started: Map<string, string>;
  beforeEach(() => {
    changesTable();
    started = executions();
  });

  it('starts the pipeline execution named after the change, with the change execution input', async () => {
    await expect(startChange(push('ev-1'))).resolves.toEqual({
      change: COMMIT,
      executionArn: `arn:aws:states:us-east-1:111122223333:execution:handsoff-storefront-api:${COMMIT}`,
      started: true,
    });
    expect(JSON.parse(started.get(COMMIT)!)).toEqual({
      pipeline: 'storefront-api',
      change: COMMIT,
      revision: COMMIT,
      commit: COMMIT,
      repository: 'storefront-api',
      author: 'Alice',
      mergedAt: '2026-12-01T17:00:00Z',
    });
  });

  it('maps a duplicated delivery of the same push event to the same change and the same execution', async () => {
    await startChange(push('ev-1'));
    // The duplicate arrives later (EventBridge retries), with the same event id and time.
    await expect(startChange(push('ev-1'))).resolves.toMatchObject({ change: COMMIT, started: false });
    const calls = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(2);
    expect(new Set(calls.map((c) => c.name))).toEqual(new Set([COMMIT]));
    expect(new Set(calls.map((c) => c.input)).size).toBe(1);
  });

  it('adopts the execution of a duplicate whose first delivery already ran to its end', async () => {
    await startChange(push('ev-1'));
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata }));
    await expect(startChange(push('ev-1'))).resolves.toEqual({
      change: COMMIT,
      executionArn: `arn:aws:states:us-east-1:111122223333:execution:handsoff-storefront-api:${COMMIT}`,
      started: false,
    });
  });

  it('makes a new change of the same commit pushed again after a reset, not a replay of the old one', async () => {
    await startChange(push('ev-1'));
    await expect(startChange(push('ev-2', '2026-12-02T09:00:00Z'))).resolves.toMatchObject({ change: `${COMMIT}-2`, started: true });
    await expect(startChange(push('ev-3', '2026-12-03T09:00:00Z'))).resolves.toMatchObject({ change: `${COMMIT}-3`, started: true });
    // ... and a duplicate of the second push is still the second change.
    await expect(startChange(push('ev-2', '2026-12-02T09:00:00Z'))).resolves.toMatchObject({ change: `${COMMIT}-2`, started: false });
    expect([...started.keys()]).toEqual([COMMIT, `${COMMIT}-2`, `${COMMIT}-3`]);
    expect(JSON.parse(started.get(`${COMMIT}-2`)!)).toMatchObject({ change: `${COMMIT}-2`, revision: COMMIT, mergedAt: '2026-12-02T09:00:00Z' });
  });

  it('refuses a commit id that cannot name an execution, before claiming anything (its contract)', async () => {
    const bad = push('ev-1');
    bad.event.detail.commitId = 'not a commit';
    const run = handler(bad, { functionName: 'handsoff-start-change', awsRequestId: 'r-1' } as unknown as Context);
    await expect(run).rejects.toMatchObject({ name: 'InvalidInput' });
    await expect(run).rejects.toThrow(/event\.detail\.commitId/);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('refuses a push event without its id (a duplicated delivery could not be told apart)', async () => {
    const bad: Record<string, any> = push('ev-1');
    delete bad.event.id;
    const run = handler(bad, { functionName: 'handsoff-start-change', awsRequestId: 'r-2' } as unknown as Context);
    await expect(run).rejects.toMatchObject({ name: 'InvalidInput' });
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });
});
