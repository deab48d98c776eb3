/**
 * Handler `bake-end`, invoked by the bake's one-time schedule. A bake passes only when its
 * time has passed AND it saw its minimum data points with every alarm OK; thin traffic
 * (or alarms without data) extends it, and past the extension cap it fails: it never
 * passes on silence.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { EventType } from '../../core/events.ts';
import { countRequests, extensionSeconds, failBake, failOnAlarmStates, scheduleBakeEnd } from '../shared/bakes.ts';
import { clients } from '../shared/clients.ts';
import { StepError, type BakeEndInput, type BakeResult } from '../shared/contracts.ts';
import { getItem, isConditionalCheckFailed } from '../shared/dynamo.ts';
import { isoDurationSeconds, nowIso } from '../shared/duration.ts';
import { InvalidInputError } from '../shared/errors.ts';
import { logger } from '../shared/logger.ts';
import { publish } from '../shared/publish.ts';
import { bakeWaiterKey, scopeOf, table, WaiterStatus, type BakeWaiter } from '../shared/tables.ts';
import { deliver, finishWaiter, unwatch } from '../shared/waiters.ts';

export interface BakeEndOutput {
  bakeId: string;
  outcome: 'completed' | 'extended' | 'failed' | 'not-open' | 'early';
  requests?: number;
}

/** A schedule may fire a little early; beyond this it is a stale schedule. */
const EARLY_TOLERANCE_MS = 1000;

const extend = async (waiter: BakeWaiter, requests: number | undefined, why: string): Promise<BakeEndOutput> => {
  const remaining = waiter.maxExtensionSeconds - waiter.extendedSeconds;
  if (remaining <= 0) {
    await failBake(waiter, {
      ok: false,
      error: StepError.INSUFFICIENT_DATA,
      cause: {
        reason: 'insufficient-data',
        detail: `${why} after ${isoDurationSeconds(waiter.durationSeconds)} and ${isoDurationSeconds(waiter.extendedSeconds)} of extensions (cap ${isoDurationSeconds(waiter.maxExtensionSeconds)})`,
      },
    });
    return { bakeId: waiter.bakeId, outcome: 'failed', requests };
  }
  const by = Math.min(extensionSeconds(waiter.durationSeconds), remaining);
  const endsAt = Date.now() + by * 1000;
  const next = waiter.extensions + 1;
  try {
    await clients()
      .dynamo()
      .send(
        new UpdateCommand({
          TableName: table.waiters(),
          Key: { pk: waiter.pk },
          UpdateExpression: 'SET #endsAt = :endsAt, #extensions = :next, #extendedSeconds = #extendedSeconds + :by, #updatedAt = :now',
          ConditionExpression: '#status = :open AND #extensions = :current',
          ExpressionAttributeNames: {
            '#endsAt': 'endsAt',
            '#extensions': 'extensions',
            '#extendedSeconds': 'extendedSeconds',
            '#status': 'status',
            '#updatedAt': 'updatedAt',
          },
          ExpressionAttributeValues: {
            ':endsAt': endsAt,
            ':next': next,
            ':current': waiter.extensions,
            ':by': by,
            ':open': WaiterStatus.OPEN,
            ':now': nowIso(),
          },
        }),
      );
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    logger.info('bake changed meanwhile (duplicate schedule invocation); nothing to do', { bakeId: waiter.bakeId });
    return { bakeId: waiter.bakeId, outcome: 'not-open' };
  }
  await scheduleBakeEnd(waiter.bakeId, endsAt, next);
  await publish([
    {
      type: EventType.BAKE_EXTENDED,
      ...scopeOf(waiter),
      reason: 'min-datapoints',
      requests,
      minRequests: waiter.minRequests,
      until: new Date(endsAt).toISOString(),
    },
  ]);
  logger.info('bake extended', { bakeId: waiter.bakeId, why, by });
  return { bakeId: waiter.bakeId, outcome: 'extended', requests };
};

export const bakeEnd = async (input: BakeEndInput): Promise<BakeEndOutput> => {
  if (typeof input?.bakeId !== 'string' || input.bakeId.length === 0) {
    throw new InvalidInputError(`bake-end needs a bakeId; received ${JSON.stringify(input)}`);
  }
  const { bakeId } = input;
  const waiter = await getItem<BakeWaiter>(table.waiters(), { pk: bakeWaiterKey(bakeId) });
  if (!waiter || waiter.status !== WaiterStatus.OPEN) {
    logger.info('bake not open; schedule ignored', { bakeId, status: waiter?.status });
    return { bakeId, outcome: 'not-open' };
  }
  const now = Date.now();
  if (now + EARLY_TOLERANCE_MS < waiter.endsAt) {
    logger.info('bake not over yet (stale schedule); ignored', { bakeId, endsAt: new Date(waiter.endsAt).toISOString() });
    return { bakeId, outcome: 'early' };
  }

  const alarms = await failOnAlarmStates(waiter, 'at the end of the bake');
  if (alarms === 'missing' || alarms === 'alarm') return { bakeId, outcome: 'failed' };
  if (alarms === 'insufficient') return extend(waiter, undefined, 'alarms in INSUFFICIENT_DATA');

  const requests = await countRequests(waiter.service, waiter.metricScopes, waiter.startedAt, now);
  if (requests < waiter.minRequests) {
    return extend(waiter, requests, `${requests} requests seen, ${waiter.minRequests} required`);
  }

  const finished = await finishWaiter(waiter.pk, { ok: true, output: { bakeId, requests } satisfies BakeResult });
  if (!finished) return { bakeId, outcome: 'not-open' };
  await publish([{ type: EventType.BAKE_COMPLETED, ...scopeOf(waiter), requests }]);
  await deliver(finished);
  await unwatch(waiter.alarms, waiter.pk);
  logger.info('bake completed', { bakeId, requests });
  return { bakeId, outcome: 'completed', requests };
};

export const handler = middy(bakeEnd).use(injectLambdaContext(logger));
