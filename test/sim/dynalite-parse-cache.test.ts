/**
 * The local DynamoDB remembers expression parses (sim/dynalite-parse-cache.ts). A session of
 * requests, each expression sent more than once, some with other values each time and some of
 * them wrong, gets the same answers and the same errors with the cache on (hits included) as
 * with dynalite parsing every time.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { parseCache } from '../../sim/dynalite-parse-cache.ts';
import { startLocalDynamo, type LocalDynamo } from '../../sim/local-dynamo.ts';
import { answersOf } from './dynamo-answers.ts';
import { OPEN_SHARD, OPEN_SHARD_ATTRIBUTE, OPEN_WAITERS_INDEX } from '../../core/tables.ts';

const started: LocalDynamo[] = [];
afterAll(async () => {
  parseCache.enabled = true;
  for (const d of started) await d.stop();
});

const session = (): Array<{ input: object }> => {
  const waiters = process.env.HANDSOFF_WAITERS_TABLE!;
  const steps: Array<{ input: object }> = [];
  const open = { '#status': 'status' };
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 3; i++) {
      steps.push(
        new PutCommand({
          TableName: waiters,
          Item: { pk: `w${i}`, status: 'OPEN', [OPEN_SHARD_ATTRIBUTE]: OPEN_SHARD, n: round, tags: ['a'], box: { count: 1 } },
          ConditionExpression: 'attribute_not_exists(pk) OR #status = :open',
          ExpressionAttributeNames: open,
          ExpressionAttributeValues: { ':open': 'OPEN' },
        }),
        // The same expression and values each round: parsed once, then copied.
        new UpdateCommand({
          TableName: waiters,
          Key: { pk: `w${i}` },
          UpdateExpression: 'SET #n = #n + :one, box.#count = :one, tags = list_append(tags, :more) ADD seen :set',
          ConditionExpression: '#status = :open AND #n BETWEEN :low AND :high',
          ExpressionAttributeNames: { ...open, '#n': 'n', '#count': 'count' },
          ExpressionAttributeValues: { ':one': 1, ':open': 'OPEN', ':more': ['b'], ':set': new Set(['x']), ':low': 0, ':high': 10 },
          ReturnValues: 'ALL_NEW',
        }),
      );
    }
    steps.push(
      new QueryCommand({
        TableName: waiters,
        IndexName: OPEN_WAITERS_INDEX,
        KeyConditionExpression: '#shard = :open',
        FilterExpression: 'size(tags) > :two AND begins_with(pk, :w)',
        ProjectionExpression: 'pk, tags, box.#count',
        ExpressionAttributeNames: { '#shard': OPEN_SHARD_ATTRIBUTE, '#count': 'count' },
        ExpressionAttributeValues: { ':open': OPEN_SHARD, ':two': round, ':w': 'w' },
      }),
      new GetCommand({ TableName: waiters, Key: { pk: 'w1' }, ProjectionExpression: '#status, box', ExpressionAttributeNames: open }),
      // Wrong ones, each sent every round: a name not used, a value not defined, a reserved word, bounds reversed, a bad type name, bad syntax.
      new UpdateCommand({ TableName: waiters, Key: { pk: 'w0' }, UpdateExpression: 'SET n = :one', ExpressionAttributeNames: open, ExpressionAttributeValues: { ':one': 1 } }),
      new UpdateCommand({ TableName: waiters, Key: { pk: 'w0' }, UpdateExpression: 'SET n = :two', ExpressionAttributeValues: { ':one': 1 } }),
      new ScanCommand({ TableName: waiters, FilterExpression: 'status = :open', ExpressionAttributeValues: { ':open': 'OPEN' } }),
      new ScanCommand({ TableName: waiters, FilterExpression: 'n BETWEEN :high AND :low', ExpressionAttributeValues: { ':low': 0, ':high': 10 } }),
      new ScanCommand({ TableName: waiters, FilterExpression: 'attribute_type(n, :t)', ExpressionAttributeValues: { ':t': 'NUMBER' } }),
      new ScanCommand({ TableName: waiters, FilterExpression: 'n = = :t', ExpressionAttributeValues: { ':t': 1 } }),
      // The same expressions with other values each round: a copy with this round's values, or a parse of
      // its own where a value's type or content decides (a number for begins_with, reversed bounds, a bad type name).
      new UpdateCommand({
        TableName: waiters,
        Key: { pk: 'w1' },
        UpdateExpression: 'SET #at = :now, #by = :who, #again = :now ADD #count :step',
        ConditionExpression: '#status = :open AND (attribute_not_exists(#at) OR #at < :now)',
        ExpressionAttributeNames: { ...open, '#at': 'at', '#by': 'by', '#again': 'again', '#count': 'count' },
        ExpressionAttributeValues: { ':open': 'OPEN', ':now': 1_000 + round, ':who': `op-${round}`, ':step': round + 1 },
        ReturnValues: 'ALL_NEW',
      }),
      new ScanCommand({ TableName: waiters, FilterExpression: 'begins_with(pk, :p)', ExpressionAttributeValues: { ':p': round === 1 ? 5 : `w${round}` } }),
      new ScanCommand({ TableName: waiters, FilterExpression: 'n BETWEEN :a AND :b', ExpressionAttributeValues: round === 1 ? { ':a': 10, ':b': 0 } : { ':a': 0, ':b': round } }),
      new ScanCommand({ TableName: waiters, FilterExpression: 'attribute_type(n, :t)', ExpressionAttributeValues: { ':t': round === 1 ? 'NUMBER' : 'N' } }),
      new QueryCommand({
        TableName: waiters,
        IndexName: OPEN_WAITERS_INDEX,
        KeyConditionExpression: '#shard = :open',
        FilterExpression: 'contains(tags, :tag) OR #n IN (:x, :y)',
        ExpressionAttributeNames: { '#shard': OPEN_SHARD_ATTRIBUTE, '#n': 'n' },
        ExpressionAttributeValues: { ':open': OPEN_SHARD, ':tag': round === 2 ? 'b' : 'z', ':x': round, ':y': round + 7 },
      }),
      // The condition alone, its names shared with no update: only the ones it uses count as used.
      new UpdateCommand({
        TableName: waiters,
        Key: { pk: 'w2' },
        UpdateExpression: 'REMOVE #shard',
        ConditionExpression: '#status = :open',
        ExpressionAttributeNames: { ...open, '#shard': OPEN_SHARD_ATTRIBUTE },
        ExpressionAttributeValues: { ':open': 'OPEN' },
        ReturnValues: 'UPDATED_OLD',
      }),
    );
  }
  return steps;
};

const answers = async (cache: boolean): Promise<unknown[]> => {
  parseCache.enabled = cache;
  const dynamo = await startLocalDynamo();
  started.push(dynamo);
  return answersOf(dynamo, session());
};

describe('the local DynamoDB expression cache', () => {
  it('answers as dynalite parsing every expression does, errors included', async () => {
    const parsedEachTime = await answers(false);
    const before = parseCache.stats();
    const cached = await answers(true);
    const after = parseCache.stats();
    expect(cached).toEqual(parsedEachTime);
    // The cache was used: repeated expressions were copies, those with new values among them.
    expect(after.hits - before.hits).toBeGreaterThan(30);
    // What the session asked: items, updates, and each error dynalite gives.
    const messages = parsedEachTime.map((a) => (a as { message?: string }).message ?? '').join('\n');
    for (const m of ['unused in expressions', 'not defined', 'reserved keyword', 'BETWEEN operator requires upper bound', 'Invalid attribute type name', 'Syntax error', 'Incorrect operand type']) {
      expect(messages).toContain(m);
    }
    expect(parsedEachTime).toContainEqual(expect.objectContaining({ Attributes: expect.objectContaining({ n: 3, tags: ['a', 'b'], box: { count: 1 } }) }));
    // Each round's values, not the first round's: the last update wrote round 2's.
    expect(parsedEachTime).toContainEqual(expect.objectContaining({ Attributes: expect.objectContaining({ at: 1_002, by: 'op-2', again: 1_002 }) }));
  });
});
