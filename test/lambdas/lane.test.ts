import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { lane } from '../../lambdas/lane/index.ts';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { $metadata, ddb, events, published, sfn, useAwsMocks } from './support.ts';

useAwsMocks();

/** A tiny lanes table behind the mocked document client, with the handler's conditions. */
const lanesTable = () => {
  const items = new Map<string, Record<string, any>>();
  const key = (pk: string, sk: string) => `${pk}|${sk}`;
  const conflict = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata });
  ddb.on(PutCommand).callsFake((input) => {
    const k = key(input.Item.pk, input.Item.sk);
    const existing = items.get(k);
    if (input.ConditionExpression && existing && existing.change !== input.ExpressionAttributeValues[':change']) throw conflict();
    items.set(k, structuredClone(input.Item));
    return {};
  });
  ddb.on(DeleteCommand).callsFake((input) => {
    const k = key(input.Key.pk, input.Key.sk);
    const existing = items.get(k);
    if (input.ConditionExpression && existing?.change !== input.ExpressionAttributeValues[':change']) throw conflict();
    items.delete(k);
    return {};
  });
  ddb.on(QueryCommand).callsFake((input) => {
    const v = input.ExpressionAttributeValues;
    const found = [...items.values()].filter((i) => i.pk === v[':pk'] && (v[':sk'] ? i.sk === v[':sk'] : i.sk.startsWith(v[':wait'])));
    return { Items: structuredClone(found) };
  });
  return items;
};

const tokensSent = () => sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input.taskToken);

describe('lane', () => {
  let items: Map<string, Record<string, any>>;
  beforeEach(() => {
    items = lanesTable();
    sfn.on(SendTaskSuccessCommand).resolves({});
  });

  it('gives a free lane at once', async () => {
    await expect(lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'wave-1', taskToken: 't1' })).resolves.toEqual({ held: true });
    expect(tokensSent()).toEqual(['t1']);
    expect(items.get('p#wave-1|holder')).toMatchObject({ change: 'c1' });
  });

  it('makes a second change wait, blocked: lane, and hands it the lane on release', async () => {
    await lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'wave-1', taskToken: 't1' });
    await expect(lane({ action: 'acquire', pipeline: 'p', change: 'c2', stage: 'wave-1', taskToken: 't2' })).resolves.toEqual({ held: false });
    expect(tokensSent()).toEqual(['t1']);
    expect(published()).toEqual([expect.objectContaining({ type: 'blocked', reason: 'lane', change: 'c2', stage: 'wave-1' })]);

    await lane({ action: 'release', pipeline: 'p', change: 'c1', stages: ['wave-1'] });
    expect(tokensSent()).toEqual(['t1', 't2']);
    expect(items.get('p#wave-1|holder')).toMatchObject({ change: 'c2' });
    expect(items.has('p#wave-1|wait#c2')).toBe(false);
    expect(published().at(-1)).toMatchObject({ type: 'unblocked', reason: 'lane', change: 'c2' });
  });

  it('is idempotent: a retried acquire by the holder succeeds, a retried release changes nothing', async () => {
    await lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'gamma', taskToken: 't1' });
    await lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'gamma', taskToken: 't1-retry' });
    expect(tokensSent()).toEqual(['t1', 't1-retry']);
    await lane({ action: 'acquire', pipeline: 'p', change: 'c2', stage: 'gamma', taskToken: 't2' });
    await lane({ action: 'release', pipeline: 'p', change: 'c1', stages: ['gamma'] });
    await expect(lane({ action: 'release', pipeline: 'p', change: 'c1', stages: ['gamma'] })).resolves.toEqual({ released: [] });
    // c2 got the lane exactly once and still holds it
    expect(tokensSent().filter((t) => t === 't2')).toHaveLength(1);
    expect(items.get('p#gamma|holder')).toMatchObject({ change: 'c2' });
  });

  it('hands the lane to the change that has waited longest', async () => {
    await lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'beta', taskToken: 't1' });
    await lane({ action: 'acquire', pipeline: 'p', change: 'c3', stage: 'beta', taskToken: 't3' });
    items.get('p#beta|wait#c3')!.enqueuedAt = '2026-12-01T17:00:00.000Z';
    await lane({ action: 'acquire', pipeline: 'p', change: 'c2', stage: 'beta', taskToken: 't2' });
    items.get('p#beta|wait#c2')!.enqueuedAt = '2026-12-01T17:30:00.000Z';
    await lane({ action: 'release', pipeline: 'p', change: 'c1', stages: ['beta'] });
    expect(tokensSent()).toEqual(['t1', 't3']);
  });

  it('tells the next change before dropping its wait entry: a failing publish cannot strand it', async () => {
    await lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'wave-1', taskToken: 't1' });
    await lane({ action: 'acquire', pipeline: 'p', change: 'c2', stage: 'wave-1', taskToken: 't2' });
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'boom' }] });
    await expect(lane({ action: 'release', pipeline: 'p', change: 'c1', stages: ['wave-1'] })).rejects.toMatchObject({ name: 'PublishFailed' });
    expect(tokensSent()).toEqual(['t1', 't2']);
    expect(items.get('p#wave-1|holder')).toMatchObject({ change: 'c2' });
    expect(items.has('p#wave-1|wait#c2')).toBe(false);
  });

  it('a retried release sends the token again when the next change holds the lane but still waits', async () => {
    await lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'wave-1', taskToken: 't1' });
    await lane({ action: 'acquire', pipeline: 'p', change: 'c2', stage: 'wave-1', taskToken: 't2' });
    // An earlier release took the lane for c2, then failed before telling it.
    items.set('p#wave-1|holder', { pk: 'p#wave-1', sk: 'holder', change: 'c2', since: '2026-12-01T17:59:00.000Z' });
    await expect(lane({ action: 'release', pipeline: 'p', change: 'c1', stages: ['wave-1'] })).resolves.toEqual({ released: [] });
    expect(tokensSent()).toEqual(['t1', 't2']);
    expect(items.get('p#wave-1|holder')).toMatchObject({ change: 'c2' });
    expect(items.has('p#wave-1|wait#c2')).toBe(false);
    expect(published().at(-1)).toMatchObject({ type: 'unblocked', reason: 'lane', change: 'c2' });
  });

  it('rejects an unknown action, naming it', async () => {
    await expect(lane({ action: 'grab' } as never)).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringContaining('"grab"') });
  });
});
