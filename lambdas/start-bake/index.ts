/**
 * Handler `start-bake` (`.waitForTaskToken`): starts a bake. The task token waits in the
 * waiters table; an alarm going to ALARM fails it (on-alarm-event), the one-time schedule
 * ends it (bake-end). A retried task re-registers its new token on the same bake: the
 * bake's clock does not restart.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { EventType } from '../../core/events.ts';
import { bakeIdOf, failOnAlarmStates, scheduleBakeEnd } from '../shared/bakes.ts';
import type { StartBakeInput } from '../shared/contracts.ts';
import { getItem } from '../shared/dynamo.ts';
import { isoDurationSeconds, nowIso } from '../shared/duration.ts';
import { InvalidInputError } from '../shared/errors.ts';
import { logger } from '../shared/logger.ts';
import { publish } from '../shared/publish.ts';
import {
  bakeWaiterKey,
  expiresAt,
  scopeOf,
  table,
  WaiterKind,
  WaiterStatus,
  type BakeWaiter,
} from '../shared/tables.ts';
import { registerWaiter, watch, type Registration } from '../shared/waiters.ts';

export interface StartBakeOutput {
  bakeId: string;
  registration: Registration;
}

const validate = (input: StartBakeInput): void => {
  const problems: string[] = [];
  for (const f of ['pipeline', 'change', 'stage', 'taskToken'] as const) {
    if (typeof input?.[f] !== 'string' || input[f].length === 0) problems.push(`${f} is required`);
  }
  if (!(Number.isFinite(input?.durationSeconds) && input.durationSeconds >= 0)) problems.push('durationSeconds must be >= 0');
  if (!(Number.isFinite(input?.minRequests) && input.minRequests >= 0)) problems.push('minRequests must be >= 0');
  if (!Array.isArray(input?.alarms)) problems.push('alarms must be a list');
  if (!Array.isArray(input?.metricScopes)) problems.push('metricScopes must be a list');
  if (problems.length > 0) throw new InvalidInputError(`start-bake input: ${problems.join('; ')}`);
};

export const startBake = async (input: StartBakeInput): Promise<StartBakeOutput> => {
  validate(input);
  const bakeId = bakeIdOf(input);
  const now = Date.now();
  const waiter: BakeWaiter = {
    pk: bakeWaiterKey(bakeId),
    kind: WaiterKind.BAKE,
    status: WaiterStatus.OPEN,
    token: input.taskToken,
    ...scopeOf(input),
    alarms: input.alarms.map((a) => ({ region: a.region, name: a.name })),
    bakeId,
    startedAt: now,
    endsAt: now + input.durationSeconds * 1000,
    durationSeconds: input.durationSeconds,
    minRequests: input.minRequests,
    metricScopes: input.metricScopes,
    service: input.service ?? input.pipeline,
    extensions: 0,
    extendedSeconds: 0,
    maxExtensionSeconds: input.maxExtensionSeconds ?? 2 * input.durationSeconds,
    createdAt: nowIso(),
    updatedAt: nowIso(),
    expiresAt: expiresAt(now),
  };
  const registration = await registerWaiter(waiter);
  if (registration === 'replayed') return { bakeId, registration };

  // A retry continues the stored bake (its start, end and extensions), and makes sure its
  // watches and schedule exist in case the first attempt died before creating them.
  const stored = registration === 'created' ? waiter : ((await getItem<BakeWaiter>(table.waiters(), { pk: waiter.pk })) ?? waiter);
  await watch(stored.alarms, stored.pk);
  if (registration === 'created') {
    const problem = await failOnAlarmStates(stored, 'at the start of the bake');
    // INSUFFICIENT_DATA is judged at the bake's end, when data is required.
    if (problem === 'missing' || problem === 'alarm') return { bakeId, registration };
  }
  await scheduleBakeEnd(bakeId, stored.endsAt, stored.extensions);
  if (registration === 'created') {
    await publish([{ type: EventType.BAKE_STARTED, ...scopeOf(input), duration: isoDurationSeconds(input.durationSeconds) }]);
  }
  logger.info('bake waiting', { bakeId, registration, endsAt: new Date(stored.endsAt).toISOString() });
  return { bakeId, registration };
};

export const handler = middy(startBake).use(injectLambdaContext(logger));
