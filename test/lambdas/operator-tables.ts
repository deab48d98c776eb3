/**
 * The changes and operators tables in memory for the emergency tests (mocked DynamoDB
 * Document client of support.ts).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { StartBakeInput } from '../../core/contracts.ts';
import { emergencyKey } from '../../core/operator-items.ts';
import { $metadata, ddb } from './support.ts';

export const PIPELINE = 'storefront-api';
export const MIN = 60_000;
export type Item = Record<string, any>;

/** A one-hour beta bake of c1 with the pipeline's emergency floor (ten minutes). */
export const BAKE_INPUT: StartBakeInput = {
  pipeline: PIPELINE,
  change: 'c1',
  stage: 'beta',
  region: 'us-west-2',
  target: 'fleet',
  taskToken: 't',
  durationSeconds: 3600,
  minRequests: 100,
  emergencyFloorSeconds: 600,
  alarms: [{ region: 'us-west-2', name: 'agg' }],
  metricScopes: [{ region: 'us-west-2', scope: 'beta' }],
};

/**
 * The changes and operators tables in memory, with the conditions the handler writes:
 * conjunctions of `#name = :value` and `attribute_not_exists(pk)` / `attribute_exists(pk)`;
 * updates `SET a = :v, b.c = :w`.
 */
export const tables = () => {
  const items = new Map<string, Item>();
  const id = (table: string, key: Item) => `${table}|${key.pk}|${key.sk}`;
  const holds = (item: Item | undefined, condition: string | undefined, names: Item = {}, values: Item = {}) =>
    !condition ||
    condition.split(' AND ').every((term) => {
      if (term === 'attribute_not_exists(pk)') return item === undefined;
      if (term === 'attribute_exists(pk)') return item !== undefined;
      const [name, value] = term.split(' = ');
      return item !== undefined && item[names[name!]] === values[value!];
    });
  const fail = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata });
  ddb.on(GetCommand).callsFake((input) => ({ Item: structuredClone(items.get(id(input.TableName, input.Key))) }));
  ddb.on(PutCommand).callsFake((input) => {
    const k = id(input.TableName, input.Item);
    if (!holds(items.get(k), input.ConditionExpression, input.ExpressionAttributeNames, input.ExpressionAttributeValues)) throw fail();
    items.set(k, structuredClone(input.Item));
    return {};
  });
  ddb.on(UpdateCommand).callsFake((input) => {
    if (input.TableName === 'waiters') return {};
    const k = id(input.TableName, input.Key);
    const names = input.ExpressionAttributeNames ?? {};
    const values = input.ExpressionAttributeValues ?? {};
    if (!holds(items.get(k), input.ConditionExpression, names, values)) throw fail();
    const item = items.get(k) ?? { ...input.Key };
    for (const assignment of input.UpdateExpression.replace(/^SET /, '').split(', ')) {
      const [path, value] = assignment.split(' = ');
      const parts = path!.split('.').map((p: string) => names[p]!);
      const parent = parts.slice(0, -1).reduce((o: Item, p: string) => o[p], item);
      parent[parts.at(-1)!] = structuredClone(values[value!]);
    }
    items.set(k, item);
    return { Attributes: structuredClone(item) };
  });
  return {
    put: (table: string, item: Item) => items.set(id(table, item), structuredClone(item)),
    change: (change: string, fields: Item = {}) =>
      items.set(id('changes', { pk: `${PIPELINE}#${change}`, sk: 'started' }), { pk: `${PIPELINE}#${change}`, sk: 'started', pipeline: PIPELINE, change, author: 'alice', ...fields }),
    emergency: (change: string) => items.get(id('operators', emergencyKey(PIPELINE, change))),
    changeRecord: (change: string) => items.get(id('changes', { pk: `${PIPELINE}#${change}`, sk: 'started' })),
  };
};

