/** DynamoDB helpers: conditional-write conflicts and paginated queries. */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { clients } from './clients.ts';
import { hasName } from './errors.ts';

export const isConditionalCheckFailed = (err: unknown): boolean => hasName(err, 'ConditionalCheckFailedException');

/**
 * The item a conditional write collided with: from `ReturnValuesOnConditionCheckFailure:
 * ALL_OLD` when the service returned it (the document client leaves it marshalled), else by
 * a consistent read (local DynamoDB servers may not return it).
 */
export const conflictingItem = async <T>(
  err: unknown,
  tableName: string,
  key: Record<string, string>,
): Promise<T | undefined> => {
  const returned = (err as { Item?: Record<string, AttributeValue> }).Item;
  if (returned && Object.keys(returned).length > 0) return unmarshall(returned) as T;
  const read = await clients().dynamo().send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
  return read.Item as T | undefined;
};

export const getItem = async <T>(tableName: string, key: Record<string, string>): Promise<T | undefined> => {
  const read = await clients().dynamo().send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
  return read.Item as T | undefined;
};

export const queryAll = async <T>(input: QueryCommandInput): Promise<T[]> => {
  const items: T[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await clients()
      .dynamo()
      .send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
    items.push(...((page.Items ?? []) as T[]));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
};

/**
 * Drops undefined values, deeply: items are written the same whether or not the document
 * client was built with `removeUndefinedValues` (the simulator builds its own).
 */
export const clean = <T>(value: T): T => {
  if (Array.isArray(value)) return value.filter((v) => v !== undefined).map(clean) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, clean(v)]),
    ) as T;
  }
  return value;
};
