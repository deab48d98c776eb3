/** DynamoDB helpers: conditional-write conflicts, paginated queries and batched writes. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { clients } from './clients.ts';
import { BatchWriteIncompleteError, hasName } from '../../core/errors.ts';

export const isConditionalCheckFailed = (err: unknown): boolean => hasName(err, 'ConditionalCheckFailedException');

/**
 * Sends a conditional write: true when it was applied, false when its condition failed;
 * any other error is thrown.
 */
export const conditionalWrite = async (command: PutCommand | UpdateCommand | DeleteCommand): Promise<boolean> => {
  try {
    // send() infers its types from one command class; a union of them needs the cast.
    await clients()
      .dynamo()
      .send(command as Parameters<DynamoDBDocumentClient['send']>[0]);
    return true;
  } catch (err) {
    if (isConditionalCheckFailed(err)) return false;
    throw err;
  }
};

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

/**
 * Writes `attribute = value` on an item unless it already holds another value (the first
 * writer wins; `also` are set with it), with `updatedAt`. @returns the value the item holds
 * now: `value`, or the one written first; undefined when the condition failed and the item
 * has no value (gone meanwhile).
 */
export const setOnce = async (
  tableName: string,
  key: Record<string, string>,
  attribute: string,
  value: string,
  also: Record<string, unknown> = {},
): Promise<string | undefined> => {
  const fields = { [attribute]: value, ...also, updatedAt: new Date(Date.now()).toISOString() };
  try {
    await clients()
      .dynamo()
      .send(
        new UpdateCommand({
          TableName: tableName,
          Key: key,
          UpdateExpression: `SET ${Object.keys(fields).map((k) => `#${k} = :${k}`).join(', ')}`,
          ConditionExpression: `attribute_not_exists(#${attribute}) OR #${attribute} = :${attribute}`,
          ExpressionAttributeNames: Object.fromEntries(Object.keys(fields).map((k) => [`#${k}`, k])),
          ExpressionAttributeValues: Object.fromEntries(Object.entries(fields).map(([k, v]) => [`:${k}`, v])),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    return value;
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    const recorded = (await conflictingItem<Record<string, unknown>>(err, tableName, key))?.[attribute];
    return typeof recorded === 'string' ? recorded : undefined;
  }
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

/** One write of a BatchWriteItem (document client form). */
export type BatchWriteRequest =
  | { PutRequest: { Item: Record<string, unknown> } }
  | { DeleteRequest: { Key: Record<string, unknown> } };

/** BatchWriteItem takes at most 25 writes per call. */
export const BATCH_WRITE_LIMIT = 25;
/** Calls per chunk before giving up on unprocessed items (the first plus retries). */
export const BATCH_WRITE_ATTEMPTS = 5;
/** Backoff before retry n (1-based): 25 ms, 50 ms, 100 ms, 200 ms (plus jitter). */
const backoffMillis = (retry: number): number => 25 * 2 ** (retry - 1) * (1 + Math.random() / 2);

/**
 * Writes items to one table with BatchWriteItem, 25 per call, retrying unprocessed items with
 * exponential backoff; still unprocessed after BATCH_WRITE_ATTEMPTS calls: BatchWriteIncomplete
 * (retryable). Unconditional writes only; requests for the same key must not repeat.
 */
export const batchWrite = async (tableName: string, requests: BatchWriteRequest[]): Promise<void> => {
  for (let i = 0; i < requests.length; i += BATCH_WRITE_LIMIT) {
    let pending = requests.slice(i, i + BATCH_WRITE_LIMIT);
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > BATCH_WRITE_ATTEMPTS) {
        throw new BatchWriteIncompleteError(
          `DynamoDB left ${pending.length} writes to ${tableName} unprocessed after ${BATCH_WRITE_ATTEMPTS} attempts`,
          { tableName, unprocessed: pending.length },
        );
      }
      if (attempt > 1) await sleep(backoffMillis(attempt - 1));
      const result = await clients()
        .dynamo()
        .send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
      pending = (result?.UnprocessedItems?.[tableName] ?? []) as BatchWriteRequest[];
    }
  }
};
