import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Context } from 'aws-lambda';
import { handler, notify } from '../../lambdas/notify/index.ts';
import { $metadata, ddb, events, NOW, published, useAwsMocks } from './support.ts';

useAwsMocks();
// The changes here have no emergency: the operators table's conditional write finds none.
beforeEach(() => {
  ddb.on(UpdateCommand, { TableName: 'operators' }).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata }));
});

describe('notify', () => {
  it('publishes one event of the vocabulary with its scope and fields', async () => {
    // Act
    const out = await notify({ type: 'stage.started', pipeline: 'storefront-api', change: 'c1', stage: 'gamma', fields: { note: 'x' } });
    // Assess
    expect(out).toEqual({ published: true });
    expect(events).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [expect.objectContaining({ Source: 'handsoff', DetailType: 'stage.started', EventBusName: 'handsoff-bus' })],
    });
    expect(published()).toEqual([
      { time: NOW.toISOString(), type: 'stage.started', pipeline: 'storefront-api', change: 'c1', stage: 'gamma', note: 'x' },
    ]);
  });

  it('publishes a change\'s final event once: a retry of an attempt that died after publishing it publishes nothing', async () => {
    ddb.on(UpdateCommand, { TableName: 'changes', ReturnValues: 'ALL_OLD' }).resolves({ Attributes: { pk: 'storefront-api#c1', status: 'running' } });
    await notify({ type: 'change.completed', pipeline: 'storefront-api', change: 'c1' });
    expect(published().map((e) => e.type)).toEqual(['change.completed']);
    // Recorded after PutEvents, on the change's own record.
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: 'changes',
      UpdateExpression: 'SET #attribute = :value',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#attribute': 'finalPublished' },
      ExpressionAttributeValues: { ':value': 'change.completed' },
    });
    // The retry finds it recorded: the outcome is settled again, the event not published again.
    ddb.on(UpdateCommand, { TableName: 'changes', ReturnValues: 'ALL_OLD' }).resolves({ Attributes: { pk: 'storefront-api#c1', status: 'succeeded', finalPublished: 'change.completed' } });
    await expect(notify({ type: 'change.completed', pipeline: 'storefront-api', change: 'c1' })).resolves.toEqual({ published: true });
    expect(events).toHaveReceivedCommandTimes(PutEventsCommand, 1);
  });

  it('turns mergedAt into the lead time on change.completed', async () => {
    await notify({
      type: 'change.completed',
      pipeline: 'storefront-api',
      change: 'c1',
      fields: { mergedAt: '2026-11-29T14:56:00Z' },
    });
    const [event] = published();
    expect(event).toMatchObject({ type: 'change.completed', leadTime: 'P2DT3H4M' });
    expect(event).not.toHaveProperty('mergedAt');
  });

  it('writes a zero lead time as PT0S', async () => {
    await notify({ type: 'change.completed', pipeline: 'p', change: 'c', fields: { mergedAt: NOW.toISOString() } });
    expect(published()[0]).toMatchObject({ leadTime: 'PT0S' });
  });

  it('fails when EventBridge rejects the event, so that the task retries', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'boom' }] });
    await expect(notify({ type: 'stage.started', pipeline: 'p' })).rejects.toMatchObject({ name: 'PublishFailed' });
  });

  it('runs wrapped as a Lambda handler', async () => {
    const context = { functionName: 'notify', awsRequestId: 'req-1', invokedFunctionArn: 'arn:aws:lambda:us-west-2:1:function:notify' } as Context;
    await expect(handler({ type: 'stage.completed', pipeline: 'p', stage: 'beta' }, context)).resolves.toEqual({ published: true });
  });
});

describe('notify change.failed', () => {
  it('reads the reason out of a task failure cause', async () => {
    await notify({
      type: 'change.failed',
      pipeline: 'p',
      change: 'c2',
      stage: 'gamma',
      fields: { cause: JSON.stringify({ reason: 'alarm p-gamma-faults went to ALARM', alarm: 'p-gamma-faults' }) },
    });
    const [event] = published();
    expect(event).toMatchObject({ type: 'change.failed', stage: 'gamma', reason: 'alarm p-gamma-faults went to ALARM' });
    expect(event).not.toHaveProperty('cause');
  });

  it('names the first failed region of a wave and its reason', async () => {
    await notify({
      type: 'change.failed',
      pipeline: 'p',
      change: 'c2',
      stage: 'wave-3',
      fields: {
        outcomes: [
          { region: 'eu-west-1', status: 'succeeded', reason: '' },
          { region: 'ap-south-1', status: 'failed', reason: JSON.stringify({ reason: 'insufficient-data', detail: 'saw 12 of 100 requests' }) },
        ],
      },
    });
    expect(published()[0]).toMatchObject({ region: 'ap-south-1', reason: 'insufficient-data: saw 12 of 100 requests' });
    expect(published()[0]).not.toHaveProperty('outcomes');
  });

  it('keeps a plain-text cause (a Step Functions timeout) as the reason, and never publishes no reason', async () => {
    await notify({ type: 'change.failed', pipeline: 'p', change: 'c', stage: 'beta', fields: { cause: 'States.Timeout' } });
    await notify({ type: 'change.failed', pipeline: 'p', change: 'c', stage: 'beta' });
    expect(published().map((e) => e.reason)).toEqual(['States.Timeout', 'unknown failure (no cause recorded)']);
  });

  it('says which earlier stages could not be rolled back, and not when all were', async () => {
    const cause = JSON.stringify({ reason: 'alarm p-wave-2-faults went to ALARM' });
    await notify({ type: 'change.failed', pipeline: 'p', change: 'c', stage: 'wave-2', fields: { cause, rollbacks: [{ rolledBack: [] }, { rolledBack: [] }] } });
    await notify({
      type: 'change.failed',
      pipeline: 'p',
      change: 'c',
      stage: 'wave-2',
      fields: { cause, rollbacks: [{ rolledBack: [] }, { stage: 'wave-1', failed: JSON.stringify({ reason: 'rollback deployment d-9 of p-sae1 FAILURE' }) }] },
    });
    await notify({ type: 'change.failed', pipeline: 'p', change: 'c', stage: 'wave-2', fields: { cause, rollbacks: { Error: 'States.Runtime', Cause: 'boom' } } });
    const [all, one, none] = published();
    expect(all!.reason).toBe('alarm p-wave-2-faults went to ALARM');
    expect(one!.reason).toBe('alarm p-wave-2-faults went to ALARM; could not roll back wave-1 (rollback deployment d-9 of p-sae1 FAILURE); the change may still run there');
    expect(none!.reason).toMatch(/; the earlier stages could not be rolled back \(boom\); the change may still run there$/);
    for (const e of published()) expect(e).not.toHaveProperty('rollbacks');
  });
});
