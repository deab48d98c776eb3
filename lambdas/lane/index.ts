/**
 * Handler `lane`: each stage of a pipeline holds at most one change at a time, so that at
 * most one deployment runs per CodeDeploy deployment group and changes keep their order.
 * A change acquires the next stage before it releases the one it is in.
 *
 * Items (lanes table, pk = `${pipeline}#${stage}`):
 * - sk `holder`: the change holding the lane;
 * - sk `wait#${change}`: a change waiting for it, with its task token and enqueue time.
 * Conditional writes make acquire and release idempotent; a waiter re-checks the lane after
 * enqueueing, so a release racing with it never strands it.
 */
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { BlockReason, EventType } from '../../core/events.ts';
import { clients } from '../shared/clients.ts';
import { env, ENV } from '../shared/config.ts';
import { LaneInput } from '../../core/contracts.ts';
import { conditionalWrite, queryAll } from '../shared/dynamo.ts';
import { InvalidInputError } from '../../core/errors.ts';
import { logger } from '../shared/logger.ts';
import { nowIso } from '../shared/duration.ts';
import { publish } from '../shared/publish.ts';
import { sendTaskSuccess } from '../shared/tokens.ts';
import { lambdaHandler } from '../runtime/handler.ts';

const HOLDER = 'holder';
const WAIT_PREFIX = 'wait#';

interface LaneWaiter {
  pk: string;
  sk: string;
  change: string;
  token: string;
  enqueuedAt: string;
}

const laneKey = (pipeline: string, stage: string): string => `${pipeline}#${stage}`;

/** Takes the lane if it is free or already ours. */
const tryHold = (pk: string, change: string): Promise<boolean> =>
  conditionalWrite(
    new PutCommand({
      TableName: env(ENV.LANES_TABLE),
      Item: { pk, sk: HOLDER, change, since: nowIso() },
      ConditionExpression: 'attribute_not_exists(pk) OR change = :change',
      ExpressionAttributeValues: { ':change': change },
    }),
  );

const removeWaiter = (pk: string, change: string) =>
  clients()
    .dynamo()
    .send(new DeleteCommand({ TableName: env(ENV.LANES_TABLE), Key: { pk, sk: `${WAIT_PREFIX}${change}` } }));

const acquire = async (input: Extract<LaneInput, { action: 'acquire' }>): Promise<{ held: boolean }> => {
  const pk = laneKey(input.pipeline, input.stage);
  if (await tryHold(pk, input.change)) {
    await sendTaskSuccess(input.taskToken, { lane: input.stage });
    return { held: true };
  }
  // Busy: enqueue (a retry overwrites its own entry with the new token, keeping its place).
  const existing = await queryAll<LaneWaiter>({
    TableName: env(ENV.LANES_TABLE),
    KeyConditionExpression: 'pk = :pk AND sk = :sk',
    ExpressionAttributeValues: { ':pk': pk, ':sk': `${WAIT_PREFIX}${input.change}` },
  });
  await clients()
    .dynamo()
    .send(
      new PutCommand({
        TableName: env(ENV.LANES_TABLE),
        Item: {
          pk,
          sk: `${WAIT_PREFIX}${input.change}`,
          change: input.change,
          token: input.taskToken,
          enqueuedAt: existing[0]?.enqueuedAt ?? nowIso(),
        },
      }),
    );
  // The holder may have released between our first try and the enqueue.
  if (await tryHold(pk, input.change)) {
    await removeWaiter(pk, input.change);
    await sendTaskSuccess(input.taskToken, { lane: input.stage });
    return { held: true };
  }
  if (!existing[0]) {
    await publish([{ type: EventType.BLOCKED, reason: BlockReason.LANE, pipeline: input.pipeline, change: input.change, stage: input.stage }]);
  }
  return { held: false };
};

/** Hands a freed lane to the change that has waited longest. */
const handOver = async (pipeline: string, stage: string): Promise<void> => {
  const pk = laneKey(pipeline, stage);
  const waiters = await queryAll<LaneWaiter>({
    TableName: env(ENV.LANES_TABLE),
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :wait)',
    ExpressionAttributeValues: { ':pk': pk, ':wait': WAIT_PREFIX },
  });
  waiters.sort((a, b) => a.enqueuedAt.localeCompare(b.enqueuedAt) || a.change.localeCompare(b.change));
  const next = waiters[0];
  if (!next) return;
  // tryHold also succeeds when the lane already is next's (a retried release whose earlier try
  // failed after taking it): its wait entry still exists, so its token is sent again.
  if (!(await tryHold(pk, next.change))) return; // someone else took it: they will hand over in turn
  // Tell the waiter before dropping its entry, so that a failure in between is retried, never lost.
  await sendTaskSuccess(next.token, { lane: stage });
  await removeWaiter(pk, next.change);
  await publish([{ type: EventType.UNBLOCKED, reason: BlockReason.LANE, pipeline, change: next.change, stage }]);
};

const release = async (input: Extract<LaneInput, { action: 'release' }>): Promise<{ released: string[] }> => {
  const released: string[] = [];
  for (const stage of input.stages) {
    const pk = laneKey(input.pipeline, stage);
    const ours = await conditionalWrite(
      new DeleteCommand({
        TableName: env(ENV.LANES_TABLE),
        Key: { pk, sk: HOLDER },
        ConditionExpression: 'change = :change',
        ExpressionAttributeValues: { ':change': input.change },
      }),
    );
    if (ours) {
      released.push(stage);
    } else {
      // Not ours (already released, or never acquired): still drop a stale wait entry.
      await removeWaiter(pk, input.change);
      logger.info('lane not held by this change; nothing to release', { stage, change: input.change });
    }
    // Hand over even when not ours to release: a retried release must not strand a waiter.
    await handOver(input.pipeline, stage);
  }
  return { released };
};

export const lane = async (input: LaneInput): Promise<{ held?: boolean; released?: string[] }> => {
  if (input?.action === 'acquire') {
    if (!input.taskToken) throw new InvalidInputError('lane acquire needs taskToken');
    return acquire(input);
  }
  if (input?.action === 'release') return release(input);
  throw new InvalidInputError(`lane action must be 'acquire' or 'release'; received ${JSON.stringify((input as { action?: unknown })?.action)}`);
};

export const handler = lambdaHandler('lane', LaneInput, lane);
