/**
 * Waiters: a `.waitForTaskToken` task's token, stored until the event that ends the wait.
 * Exactly one party finishes a waiter (conditional OPEN -> DONE); the result is kept, so a
 * retried task (a new token) or a lost delivery gets the same answer replayed.
 *
 * Finishing and delivering are two steps (a conditional update, then SendTaskSuccess or
 * SendTaskFailure), and a handler may die or be throttled between them. So a finished waiter
 * keeps its place in the open-waiters index (`openShard`) until its result is delivered:
 * delivery removes it, in the write that records the delivery. Whoever finds a waiter finished
 * but not delivered (a retried handler, the reconciler's sweep) delivers the stored result,
 * never one of its own. A rollback deployment's waiter has no token: its result is delivered
 * to its rollback set (deployment-outcome.ts), then marked delivered here.
 */
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { clients } from './clients.ts';
import { clean, conditionalWrite, conflictingItem, isConditionalCheckFailed, queryAll } from './dynamo.ts';
import { nowIso } from './duration.ts';
import { logger } from './logger.ts';
import {
  OPEN_SHARD,
  OPEN_SHARD_ATTRIBUTE,
  OPEN_WAITERS_INDEX,
  table,
  WaiterStatus,
  WATCHING_ATTRIBUTE,
  watchedAlarms,
  type Waiter,
  type WaiterResult,
} from './tables.ts';
import { sendTaskFailure, sendTaskSuccess } from './tokens.ts';
import { wakeSweep } from './sweeps.ts';
import { nextSweepSlot, sweptEverySlot } from '../../core/sweeps.ts';

export type Registration = 'created' | 'reregistered' | 'replayed';

/** Finished, but its result has not reached its task (or, for a rollback deployment, its rollback set) yet. */
export const isUndelivered = (waiter: Waiter | undefined): waiter is Waiter =>
  waiter?.status === WaiterStatus.DONE && waiter.delivered !== true;

/**
 * Records that a finished waiter's result was delivered (to `token`, when given) and drops it
 * from the open-waiters index. A waiter gone meanwhile (its TTL) is not written back.
 */
export const markDelivered = async (pk: string, token?: string): Promise<void> => {
  const recorded = await conditionalWrite(
    new UpdateCommand({
      TableName: table.waiters(),
      Key: { pk },
      UpdateExpression: token ? 'SET #delivered = :true, #token = :token REMOVE #openShard' : 'SET #delivered = :true REMOVE #openShard',
      ConditionExpression: '#status = :done',
      ExpressionAttributeNames: {
        '#delivered': 'delivered',
        '#status': 'status',
        '#openShard': OPEN_SHARD_ATTRIBUTE,
        ...(token ? { '#token': 'token' } : {}),
      },
      ExpressionAttributeValues: { ':true': true, ':done': WaiterStatus.DONE, ...(token ? { ':token': token } : {}) },
    }),
  );
  if (!recorded) logger.warn('waiter not found finished; delivery not recorded', { waiter: pk });
};

/**
 * Sends a finished waiter's stored result to its token (or `token`) and records the delivery.
 * A task that no longer waits (TaskDoesNotExist, TaskTimedOut, InvalidToken) counts as
 * delivered: nothing could ever reach it. Anything else (throttling) propagates and leaves the
 * waiter undelivered, for a retry or the reconciler. @returns false when the task no longer waited.
 */
export const deliver = async (waiter: Waiter, token = waiter.token): Promise<boolean> => {
  if (!token || !waiter.result) return false;
  const result = waiter.result;
  const delivered = result.ok
    ? await sendTaskSuccess(token, result.output)
    : await sendTaskFailure(token, result.error, result.cause);
  await markDelivered(waiter.pk, token);
  return delivered;
};

/**
 * Stores a new waiter. When it exists already (a Step Functions retry or a duplicate
 * invocation), re-registers the new token while it is OPEN, or replays its result to the
 * new token when it is DONE. Never creates a second one.
 */
export const registerWaiter = async (waiter: Waiter): Promise<Registration> => (await registerWaiterItem(waiter)).registration;

/**
 * registerWaiter, also returning the waiter as stored (the new one, or the existing one with
 * the new token), so that callers need not read back what they just wrote.
 */
export const registerWaiterItem = async <W extends Waiter>(waiter: W): Promise<{ registration: Registration; stored: W }> => {
  const registered = await storeWaiter(waiter);
  // A deployment or a bake that watches alarms is swept every slot while it is open
  // (core/sweeps.ts): woken by its registration, again by a retry's (the first may have died first).
  if (registered.stored.status === WaiterStatus.OPEN && sweptEverySlot(registered.stored)) await wakeSweep(nextSweepSlot(Date.now()), `a ${waiter.kind} opens`);
  return registered;
};

const storeWaiter = async <W extends Waiter>(waiter: W): Promise<{ registration: Registration; stored: W }> => {
  const db = clients().dynamo();
  // The waiter is its own watch record: the names of its alarms, for on-alarm-event's filter.
  const watching = [...new Set(watchedAlarms(waiter as Waiter & { blocker?: { region: string; name: string } }).map((a) => a.name))];
  const withWatching = watching.length > 0 ? { ...waiter, [WATCHING_ATTRIBUTE]: watching } : waiter;
  const item: W = waiter.status === WaiterStatus.OPEN ? { ...withWatching, [OPEN_SHARD_ATTRIBUTE]: OPEN_SHARD } : withWatching;
  try {
    await db.send(
      new PutCommand({
        TableName: table.waiters(),
        Item: clean(item),
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { registration: 'created', stored: item };
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    const existing = await conflictingItem<W>(err, table.waiters(), { pk: waiter.pk });
    if (!existing) return storeWaiter(waiter);
    const registration = await adoptWaiter(existing, waiter.token);
    return { registration, stored: registration === 'reregistered' && waiter.token ? { ...existing, token: waiter.token } : existing };
  }
};

const adoptWaiter = async (existing: Waiter, token: string | undefined): Promise<Registration> => {
  if (!token || existing.token === token) {
    if (isUndelivered(existing)) await deliver(existing, token);
    return existing.status === WaiterStatus.DONE ? 'replayed' : 'reregistered';
  }
  if (existing.status === WaiterStatus.OPEN) {
    try {
      await clients()
        .dynamo()
        .send(
          new UpdateCommand({
            TableName: table.waiters(),
            Key: { pk: existing.pk },
            UpdateExpression: 'SET #token = :token, #updatedAt = :now',
            ConditionExpression: '#status = :open',
            ExpressionAttributeNames: { '#token': 'token', '#updatedAt': 'updatedAt', '#status': 'status' },
            ExpressionAttributeValues: { ':token': token, ':now': nowIso(), ':open': WaiterStatus.OPEN },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
      logger.info('waiter re-registered with a new task token', { waiter: existing.pk });
      return 'reregistered';
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      // Finished meanwhile: fall through and replay.
      existing = (await conflictingItem<Waiter>(err, table.waiters(), { pk: existing.pk })) ?? existing;
    }
  }
  logger.info('waiter already finished; replaying its result to the new task token', { waiter: existing.pk });
  await deliver(existing, token);
  return 'replayed';
};

/** An extra condition on finishing a waiter (its names and values must not clash with finishWaiter's own). */
export interface WaiterGuard {
  condition: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
}

/**
 * Finishes an OPEN waiter with a result (and `guard`, when given, holds on it): the caller then
 * publishes the events and delivers it. It stays in the open-waiters index until delivered.
 * Undefined when someone else finished it first (a duplicate event, a retried invocation): a
 * no-op, except that a stored result that never reached Step Functions is delivered now (the
 * stored one, never `result`).
 */
export const finishWaiter = async (pk: string, result: WaiterResult, guard?: WaiterGuard): Promise<Waiter | undefined> => {
  try {
    const updated = await clients()
      .dynamo()
      .send(
        new UpdateCommand({
          TableName: table.waiters(),
          Key: { pk },
          UpdateExpression: 'SET #status = :done, #result = :result, #updatedAt = :now',
          ConditionExpression: guard ? `#status = :open AND (${guard.condition})` : '#status = :open',
          ExpressionAttributeNames: {
            '#status': 'status',
            '#result': 'result',
            '#updatedAt': 'updatedAt',
            ...guard?.names,
          },
          ExpressionAttributeValues: {
            ':done': WaiterStatus.DONE,
            ':open': WaiterStatus.OPEN,
            ':result': clean(result),
            ':now': nowIso(),
            ...guard?.values,
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    return updated.Attributes as Waiter;
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    const existing = await conflictingItem<Waiter>(err, table.waiters(), { pk });
    if (!existing) {
      logger.info('no waiter; event ignored', { waiter: pk });
    } else if (isUndelivered(existing) && existing.result && existing.token) {
      logger.warn('waiter finished but not delivered; delivering its stored result', { waiter: pk });
      await deliver(existing);
    } else {
      logger.info('waiter already finished; duplicate ignored', { waiter: pk });
    }
    return undefined;
  }
};

/**
 * The waiters an alarm's state change concerns: those whose `watching` names it, from the
 * open-waiters index (open ones, and finished ones not delivered yet). One Query, filtered:
 * the waiter is its own watch record, written with it, so no watch is written or deleted.
 * The index is eventually consistent: a waiter written a moment ago may not show yet, which
 * is why every waiter checks its alarms after it is written (start-bake, start-deployment)
 * and the reconciler reads the states of every open waiter's alarms.
 */
export const waitersWatching = async (alarm: string): Promise<Waiter[]> =>
  queryAll<Waiter>({
    TableName: table.waiters(),
    IndexName: OPEN_WAITERS_INDEX,
    KeyConditionExpression: '#shard = :open',
    FilterExpression: 'contains(#watching, :alarm)',
    ExpressionAttributeNames: { '#shard': OPEN_SHARD_ATTRIBUTE, '#watching': WATCHING_ATTRIBUTE },
    ExpressionAttributeValues: { ':open': OPEN_SHARD, ':alarm': alarm },
  });
