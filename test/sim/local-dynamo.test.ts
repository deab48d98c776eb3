/**
 * The local DynamoDB's client (sim/local-dynamo.ts) leaves out SDK work only a remote service
 * needs (the logger, user-agent and recursion-detection middlewares, the endpoint rules and their
 * per-request resolution). What the handlers see must not change: the same requests through a
 * client with every SDK default give the same answers and the same errors, item for item, one at
 * a time or many at once, with each command class's middleware chain resolved once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactGetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { LOCAL_UNUSED_MIDDLEWARES, startLocalDynamo, type LocalDynamo } from '../../sim/local-dynamo.ts';
import { OPEN_SHARD, OPEN_SHARD_ATTRIBUTE, OPEN_WAITERS_INDEX } from '../../core/tables.ts';

let trimmed: LocalDynamo;
let full: LocalDynamo;

beforeAll(async () => {
  trimmed = await startLocalDynamo();
  full = await startLocalDynamo({ sdkDefaults: true });
});

afterAll(async () => {
  await trimmed?.stop();
  await full?.stop();
});

const alarms = Array.from({ length: 5 }, (_, i) => ({ region: 'eu-west-1', name: `storefront-api-alarm-${i}` }));

/** A handler-like session: writes, conditional writes that fail, reads, an index query, pages. */
const session = (): Array<{ name: string; command: { input: object } }> => {
  const waiters = process.env.HANDSOFF_WAITERS_TABLE!;
  const lanes = process.env.HANDSOFF_LANES_TABLE!;
  const steps: Array<{ name: string; command: { input: object } }> = [];
  for (let i = 0; i < 4; i++) {
    steps.push({
      name: `put ${i}`,
      command: new PutCommand({
        TableName: waiters,
        Item: { pk: `bake#${i}`, status: 'OPEN', [OPEN_SHARD_ATTRIBUTE]: OPEN_SHARD, alarms, endsAt: 1_000 + i, token: `token-${i}`, note: undefined },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    });
  }
  steps.push(
    { name: 'put again (fails)', command: new PutCommand({ TableName: waiters, Item: { pk: 'bake#0', status: 'OPEN' }, ConditionExpression: 'attribute_not_exists(pk)' }) },
    { name: 'get', command: new GetCommand({ TableName: waiters, Key: { pk: 'bake#1' } }) },
    { name: 'get missing', command: new GetCommand({ TableName: waiters, Key: { pk: 'nothing' } }) },
    {
      name: 'finish',
      command: new UpdateCommand({
        TableName: waiters,
        Key: { pk: 'bake#2' },
        UpdateExpression: 'SET #status = :done, #result = :result REMOVE #shard',
        ConditionExpression: '#status = :open',
        ExpressionAttributeNames: { '#status': 'status', '#result': 'result', '#shard': OPEN_SHARD_ATTRIBUTE },
        ExpressionAttributeValues: { ':done': 'DONE', ':open': 'OPEN', ':result': { ok: true, n: 3 } },
        ReturnValues: 'ALL_NEW',
      }),
    },
    {
      name: 'finish again (fails)',
      command: new UpdateCommand({
        TableName: waiters,
        Key: { pk: 'bake#2' },
        UpdateExpression: 'SET #status = :done',
        ConditionExpression: '#status = :open',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':done': 'DONE', ':open': 'OPEN' },
      }),
    },
    {
      name: 'open waiters, a page at a time',
      command: new QueryCommand({
        TableName: waiters,
        IndexName: OPEN_WAITERS_INDEX,
        KeyConditionExpression: '#shard = :open',
        FilterExpression: 'endsAt > :t',
        ExpressionAttributeNames: { '#shard': OPEN_SHARD_ATTRIBUTE },
        ExpressionAttributeValues: { ':open': OPEN_SHARD, ':t': 1_000 },
        Limit: 2,
      }),
    },
    {
      name: 'lanes',
      command: new BatchWriteCommand({
        RequestItems: { [lanes]: [0, 1, 2].map((i) => ({ PutRequest: { Item: { pk: `lane#${i}`, sk: 'holder', change: `c${i}` } } })) },
      }),
    },
    { name: 'scan', command: new ScanCommand({ TableName: lanes }) },
    { name: 'delete', command: new DeleteCommand({ TableName: lanes, Key: { pk: 'lane#1', sk: 'holder' }, ConditionExpression: 'change = :c', ExpressionAttributeValues: { ':c': 'c1' }, ReturnValues: 'ALL_OLD' }) },
    { name: 'bad request', command: new QueryCommand({ TableName: waiters, KeyConditionExpression: 'nope = :x' }) },
  );
  return steps;
};

/** An answer as a handler sees it, but for dynalite's random request id. */
const seen = async (dynamo: LocalDynamo, command: { input: object }): Promise<unknown> => {
  try {
    const { $metadata, ...out } = (await dynamo.client.send(command as never)) as { $metadata: Record<string, unknown> };
    return { ok: out, metadata: { ...$metadata, requestId: typeof $metadata.requestId } };
  } catch (e) {
    const err = e as Error & { $metadata?: Record<string, unknown>; $fault?: string; };
    return { error: err.name, message: err.message, fault: err.$fault, status: err.$metadata?.httpStatusCode, attempts: err.$metadata?.attempts };
  }
};

describe('the local DynamoDB client', () => {
  it('answers as a client with every SDK default does, errors included', async () => {
    const a: Array<[string, unknown]> = [];
    const b: Array<[string, unknown]> = [];
    for (const step of session()) a.push([step.name, await seen(trimmed, step.command)]);
    for (const step of session()) b.push([step.name, await seen(full, step.command)]);
    expect(a).toEqual(b);
    // The session did what it says: items, a failed condition, a page, a validation error.
    const byName = new Map(a);
    expect(byName.get('get')).toMatchObject({ ok: { Item: { pk: 'bake#1', alarms } } });
    expect(byName.get('put again (fails)')).toMatchObject({ error: 'ConditionalCheckFailedException', status: 400 });
    expect(byName.get('open waiters, a page at a time')).toMatchObject({ ok: { Count: 1, LastEvaluatedKey: expect.anything() } });
    expect(byName.get('bad request')).toMatchObject({ error: 'ValidationException' });
    expect(byName.get('scan')).toMatchObject({ ok: { Count: 3 } });
  });

  it('gives each of many requests of one kind at once its own answer, as a client with every SDK default does', async () => {
    const lanes = process.env.HANDSOFF_LANES_TABLE!;
    const keys = Array.from({ length: 12 }, (_, i) => `lane#many-${i}`);
    const run = async (dynamo: LocalDynamo) => {
      await Promise.all(keys.map((pk, i) => dynamo.client.send(new PutCommand({ TableName: lanes, Item: { pk, sk: 'holder', change: `c${i}` }, ConditionExpression: i % 3 === 0 ? 'attribute_not_exists(pk)' : undefined }))));
      // Reads of present and missing keys, and a failing condition, interleaved.
      return Promise.all([
        ...keys.map((pk) => seen(dynamo, new GetCommand({ TableName: lanes, Key: { pk, sk: 'holder' } }))),
        seen(dynamo, new GetCommand({ TableName: lanes, Key: { pk: 'lane#none', sk: 'holder' } })),
        seen(dynamo, new PutCommand({ TableName: lanes, Item: { pk: keys[0], sk: 'holder' }, ConditionExpression: 'attribute_not_exists(pk)' })),
      ]);
    };
    const a = await run(trimmed);
    expect(a).toEqual(await run(full));
    expect(a.slice(0, keys.length).map((r) => (r as { ok: { Item: { change: string } } }).ok.Item.change)).toEqual(keys.map((_, i) => `c${i}`));
    expect(a[keys.length]).toMatchObject({ ok: {} });
    expect(a[keys.length + 1]).toMatchObject({ error: 'ConditionalCheckFailedException' });
  });

  it('runs a middleware added after requests on the next one', async () => {
    const waiters = process.env.HANDSOFF_WAITERS_TABLE!;
    await trimmed.client.send(new GetCommand({ TableName: waiters, Key: { pk: 'bake#1' } }));
    const seenBy: string[] = [];
    trimmed.client.middlewareStack.add(
      (next, context) => (args) => {
        seenBy.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'testSeen' },
    );
    await trimmed.client.send(new GetCommand({ TableName: waiters, Key: { pk: 'bake#1' } }));
    trimmed.client.middlewareStack.remove('testSeen');
    await trimmed.client.send(new GetCommand({ TableName: waiters, Key: { pk: 'bake#1' } }));
    expect(seenBy).toEqual(['GetItemCommand']);
  });

  it("sends each request to the endpoint and with the headers the SDK's endpoint middleware gives", async () => {
    const sent = async (dynamo: LocalDynamo) => {
      const requests: unknown[] = [];
      dynamo.client.middlewareStack.add(
        (next, context) => (args) => {
          const r = args.request as { hostname: string; protocol: string; path: string; headers: Record<string, string> };
          const { 'amz-sdk-invocation-id': id, ...headers } = r.headers;
          requests.push({ command: context.commandName, endpoint: String((context.endpointV2 as { url: URL }).url), authSchemes: context.authSchemes, hostname: r.hostname, protocol: r.protocol, path: r.path, headers, id: typeof id });
          return next(args);
        },
        { step: 'build', name: 'testSent' },
      );
      try {
        for (const step of session()) await seen(dynamo, step.command);
      } finally {
        dynamo.client.middlewareStack.remove('testSent');
      }
      return requests;
    };
    const a = await sent(trimmed);
    expect(a).toEqual(await sent(full));
    expect(a).toHaveLength(session().length);
    expect(a[0]).toMatchObject({ endpoint: 'http://dynalite.local/', hostname: 'dynalite.local', headers: { 'x-amz-target': 'DynamoDB_20120810.PutItem' } });
  });

  it('reads the tables of a transaction as the endpoint middleware does: a malformed one fails unsent, a good one is sent', async () => {
    const lanes = process.env.HANDSOFF_LANES_TABLE!;
    const commands = () => [
      new TransactWriteCommand({ TransactItems: [{ Put: { TableName: lanes, Item: { pk: 'tx#1', sk: 'holder', change: 'c1' } } }] }),
      new TransactGetCommand({ TransactItems: [{ Get: { TableName: lanes, Key: { pk: 'tx#1', sk: 'holder' } } }] }),
      new TransactGetCommand({ TransactItems: {} as never }),
      new TransactWriteCommand({ TransactItems: 'abc' as never }),
    ];
    const run = async (dynamo: LocalDynamo) => {
      const out: unknown[] = [];
      for (const c of commands()) out.push(await seen(dynamo, c));
      return out;
    };
    const a = await run(trimmed);
    expect(a).toEqual(await run(full));
    // Sent: dynalite answers (it has no transactions; the handlers use none).
    expect(a[0]).toMatchObject({ error: 'UnknownOperationException', status: 400 });
    expect(a[1]).toMatchObject({ error: 'UnknownOperationException', status: 400 });
    expect(a[2]).toMatchObject({ error: 'TypeError', status: undefined });
    expect(a[3]).toMatchObject({ error: 'TypeError', status: undefined });
  });

  it('runs without the middlewares only a remote service needs', () => {
    const names = (d: LocalDynamo) => d.client.middlewareStack.identify().map((m) => m.split(' ')[0]);
    for (const m of LOCAL_UNUSED_MIDDLEWARES) {
      expect(names(full)).toContain(m);
      expect(names(trimmed)).not.toContain(m);
    }
    // Serialisation, retries, signing and parsing stay.
    for (const m of ['serializerMiddleware', 'retryMiddleware', 'httpSigningMiddleware', 'deserializerMiddleware']) expect(names(trimmed)).toContain(m);
  });
});
