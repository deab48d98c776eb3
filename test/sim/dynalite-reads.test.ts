/**
 * The local DynamoDB reads a Query's or a Scan's items in batches (sim/dynalite-reads.ts). Over
 * the same stored items, every read gets the same answer as through dynalite's own stream:
 * key conditions on a table and on the sparse index, both directions, pages by Limit and by
 * the 1 MB page with their LastEvaluatedKey and the next page from it, filters, projections,
 * COUNT, consumed capacity, Scan segments, and errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { fastReads } from '../../sim/dynalite-reads.ts';
import { startLocalDynamo, type LocalDynamo } from '../../sim/local-dynamo.ts';
import { answersOf } from './dynamo-answers.ts';
import { OPEN_SHARD, OPEN_SHARD_ATTRIBUTE, OPEN_WAITERS_INDEX } from '../../core/tables.ts';

let dynamo: LocalDynamo;
let waiters: string;
let audit: string;
beforeAll(async () => {
  dynamo = await startLocalDynamo();
  waiters = process.env.HANDSOFF_WAITERS_TABLE!;
  audit = process.env.HANDSOFF_AUDIT_TABLE!;
  for (let i = 0; i < 30; i++) {
    // Some open (in the sparse index), some done (not), of several sizes.
    const open = i % 3 !== 0;
    await dynamo.client.send(
      new PutCommand({
        TableName: waiters,
        Item: { pk: `w${String(i).padStart(2, '0')}`, status: open ? 'OPEN' : 'DONE', ...(open ? { [OPEN_SHARD_ATTRIBUTE]: OPEN_SHARD } : {}), n: i, tags: ['a', ...(i % 2 ? ['b'] : [])], box: { count: i % 4 } },
      }),
    );
  }
  for (let i = 0; i < 12; i++) {
    await dynamo.client.send(new PutCommand({ TableName: audit, Item: { pk: 'p#c1', sk: `2026-12-01T0${i % 10}:00:00Z#e${i}`, n: i } }));
  }
  // Five items of ~300 KB in one partition: a Query of all of them is cut at the 1 MB page.
  for (let i = 0; i < 5; i++) {
    await dynamo.client.send(new PutCommand({ TableName: audit, Item: { pk: 'big', sk: `s${i}`, blob: String(i).repeat(300_000) } }));
  }
});
afterAll(async () => {
  fastReads.enabled = true;
  await dynamo.stop();
});

const index = { TableName: '', IndexName: OPEN_WAITERS_INDEX, KeyConditionExpression: '#s = :o', ExpressionAttributeNames: { '#s': OPEN_SHARD_ATTRIBUTE }, ExpressionAttributeValues: { ':o': OPEN_SHARD } };

const reads = (): Array<QueryCommand | ScanCommand> => [
  new QueryCommand({ ...index, TableName: waiters }),
  new QueryCommand({ ...index, TableName: waiters, ScanIndexForward: false, Limit: 4 }),
  new QueryCommand({ ...index, TableName: waiters, Limit: 5, ExclusiveStartKey: { pk: 'w07', [OPEN_SHARD_ATTRIBUTE]: OPEN_SHARD } }),
  new QueryCommand({
    ...index,
    TableName: waiters,
    KeyConditionExpression: '#s = :o AND begins_with(pk, :w1)',
    FilterExpression: 'contains(tags, :b) AND box.#c > :zero',
    ProjectionExpression: 'pk, box.#c, tags[1]',
    ExpressionAttributeNames: { ...index.ExpressionAttributeNames, '#c': 'count' },
    ExpressionAttributeValues: { ...index.ExpressionAttributeValues, ':w1': 'w1', ':b': 'b', ':zero': 0 },
    ReturnConsumedCapacity: 'INDEXES',
  }),
  new QueryCommand({ ...index, TableName: waiters, Select: 'COUNT', ReturnConsumedCapacity: 'TOTAL' }),
  new QueryCommand({ ...index, TableName: waiters, ExpressionAttributeValues: { ':o': 'NOPE' } }),
  new QueryCommand({ TableName: audit, KeyConditionExpression: 'pk = :p AND sk BETWEEN :a AND :b', ExpressionAttributeValues: { ':p': 'p#c1', ':a': '2026-12-01T02', ':b': '2026-12-01T06~' } }),
  new QueryCommand({ TableName: audit, KeyConditionExpression: 'pk = :p AND sk > :a', ExpressionAttributeValues: { ':p': 'p#c1', ':a': '2026-12-01T05' }, ScanIndexForward: false, Limit: 3, ReturnConsumedCapacity: 'INDEXES' }),
  new QueryCommand({ TableName: audit, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'big' }, ProjectionExpression: 'sk' }),
  new QueryCommand({ TableName: audit, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'big' }, ExclusiveStartKey: { pk: 'big', sk: 's1' }, ProjectionExpression: 'sk' }),
  new ScanCommand({ TableName: waiters }),
  new ScanCommand({ TableName: waiters, Limit: 7, FilterExpression: '#st = :open', ExpressionAttributeNames: { '#st': 'status' }, ExpressionAttributeValues: { ':open': 'OPEN' } }),
  new ScanCommand({ TableName: waiters, Segment: 1, TotalSegments: 3, ProjectionExpression: 'pk' }),
  new ScanCommand({ TableName: waiters, IndexName: OPEN_WAITERS_INDEX, Limit: 6, ReturnConsumedCapacity: 'INDEXES' }),
  new ScanCommand({ TableName: audit, ProjectionExpression: 'pk, sk', Select: 'SPECIFIC_ATTRIBUTES' }),
  // Errors: dynalite's own validation answers before any read.
  new QueryCommand({ ...index, TableName: waiters, IndexName: 'no-such-index' }),
  new QueryCommand({ ...index, TableName: waiters, ConsistentRead: true }),
  new ScanCommand({ TableName: waiters, ExclusiveStartKey: { nope: 'x' } }),
];

const answers = async (batched: boolean): Promise<unknown[]> => {
  fastReads.enabled = batched;
  return answersOf(dynamo, reads());
};

describe('the local DynamoDB batched reads', () => {
  it('answer every Query and Scan as dynalite streaming its items does, pages and errors included', async () => {
    const streamed = await answers(false);
    const batched = await answers(true);
    expect(batched).toEqual(streamed);
    // What the session covered: the open waiters only, pages with their next key, the 1 MB page, errors.
    const [all, reversed, , , counted, none] = streamed as Array<{ Items?: Array<{ pk: string }>; Count: number; LastEvaluatedKey?: unknown }>;
    expect(all!.Items!.map((i) => i.pk)).toHaveLength(20);
    expect(reversed!.Items!.map((i) => i.pk)).toEqual(['w29', 'w28', 'w26', 'w25']);
    expect(reversed!.LastEvaluatedKey).toEqual({ pk: 'w25', [OPEN_SHARD_ATTRIBUTE]: OPEN_SHARD });
    expect(counted).toMatchObject({ Count: 20 });
    expect(counted).not.toHaveProperty('Items');
    expect(none).toMatchObject({ Count: 0, Items: [] });
    const [big, rest] = [streamed[8], streamed[9]] as Array<{ Items: unknown[]; LastEvaluatedKey?: unknown }>;
    expect(big!.Items).toHaveLength(4);
    expect(big!.LastEvaluatedKey).toEqual({ pk: 'big', sk: 's3' });
    expect(rest!.Items).toEqual([{ sk: 's2' }, { sk: 's3' }, { sk: 's4' }]);
    expect(rest).not.toHaveProperty('LastEvaluatedKey');
    const errors = streamed.filter((a) => (a as { error?: string }).error).map((a) => (a as { message: string }).message);
    expect(errors).toHaveLength(3);
    expect(errors.join('\n')).toContain('does not have the specified index');
  });
});
