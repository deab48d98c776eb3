/**
 * Emergency fast-track (core/operators.ts rules): a developer asks to fast-track a change, an
 * approver grants or denies it. The record is the change's emergency item in the operators
 * table (core/operator-items.ts); the change's author and outcome come from its record in
 * the changes table (start-change's claim, `status` written when it is over).
 *
 * Every write is conditional on the record as it was read, so two people deciding at once
 * get one decision and a 409. Each state's event (`approval.requested`, `approval.granted`,
 * `approval.denied`) is published after its write and then marked `announced`: a retried
 * request or decision finds its own record and publishes nothing again (unless the first
 * attempt died before publishing). An approval takes effect (gates, bakes) only once it is
 * announced (core/operators.ts fastTracking): one whose attempt died before its event waits
 * for the retry (an asynchronous invocation's, or the caller's: the decision is idempotent).
 * A refused decision (not an approver, the requester or the author) publishes
 * `approval.denied` with the reason, answers 403 and changes nothing. Refusals answer in the
 * console's error shape: `error` the message, `reason` the code.
 * An approval shortens the change's running bakes at once (emergency-bakes.ts).
 */
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { z } from 'zod';
import { EventType } from '../../core/events.ts';
import {
  emergencyRequestProblem,
  invalidOperatorRequest,
  isFinalStatus,
  operatorRefusal,
  judgeDecider,
  personOf,
  samePerson,
  type DenyReason,
  type EmergencyDecisionAction,
  type EmergencyRequestAction,
  type EmergencyState,
  type OperatorResult,
} from '../../core/operators.ts';
import { emergencyKey, type EmergencyItem } from '../../core/operator-items.ts';
import { conditionalWrite, getItem } from './dynamo.ts';
import { nowIso } from './duration.ts';
import { fastTrackRunning } from './emergency-bakes.ts';
import { endEmergency } from './emergency-hold.ts';
import { logger } from './logger.ts';
import { publish } from './publish.ts';
import { changeKey, expiresAt, table, type ChangeStartedItem } from './tables.ts';

type RequestAction = z.infer<typeof EmergencyRequestAction>;
type DecisionAction = z.infer<typeof EmergencyDecisionAction>;

/** The change's status as the console names it: its recorded outcome, else still running. */
const statusOf = (record: ChangeStartedItem): string => record.status ?? 'in-flight';

const missingPipeline = (): OperatorResult =>
  invalidOperatorRequest([{ field: 'pipeline', message: "missing required field 'pipeline': the pipeline of the change" }]);

const unknownChange = (pipeline: string, change: string): OperatorResult =>
  operatorRefusal(404, 'unknown-change', `pipeline '${pipeline}' has no change '${change}'; name a change that was merged (its commit id)`);

/** A 409: `reason` the code, `message` what a person reads. */
const conflict = (reason: string, message: string): OperatorResult => operatorRefusal(409, reason, message);

const finished = (status: string): OperatorResult =>
  conflict('change-over', `the change has already ${status === 'superseded' ? 'been superseded' : status === 'rejected' ? 'been rejected' : status}; nothing to fast-track`);

/** The change's record and its emergency item, read together (consistently). */
const readBoth = async (pipeline: string, change: string): Promise<[ChangeStartedItem | undefined, EmergencyItem | undefined]> =>
  Promise.all([getItem<ChangeStartedItem>(table.changes(), changeKey(pipeline, change)), getItem<EmergencyItem>(table.operators(), emergencyKey(pipeline, change))]);

const EVENT_OF: Record<EmergencyState, string> = {
  requested: EventType.APPROVAL_REQUESTED,
  approved: EventType.APPROVAL_GRANTED,
  denied: EventType.APPROVAL_DENIED,
};

/** Publishes the event of the item's state once (unless announced already), then records that it did. */
const announce = async (item: EmergencyItem): Promise<void> => {
  if (item.announced === item.state) return;
  const decided = item.state !== 'requested';
  await publish([
    {
      type: EVENT_OF[item.state],
      pipeline: item.pipeline,
      change: item.change,
      by: decided ? item.decidedBy : item.requestedBy,
      reason: decided ? item.decisionReason : item.requestReason,
    },
  ]);
  await conditionalWrite(
    new UpdateCommand({
      TableName: table.operators(),
      Key: { pk: item.pk, sk: item.sk },
      UpdateExpression: 'SET #announced = :state',
      ConditionExpression: '#state = :state AND #requestedAt = :requestedAt',
      ExpressionAttributeNames: { '#announced': 'announced', '#state': 'state', '#requestedAt': 'requestedAt' },
      ExpressionAttributeValues: { ':state': item.state, ':requestedAt': item.requestedAt },
    }),
  );
};

const accepted = (item: EmergencyItem, status: 200 | 202): OperatorResult => ({
  status,
  body: { pipeline: item.pipeline, change: item.change, emergency: item.state, by: status === 202 ? item.requestedBy : item.decidedBy },
});

/** `emergency-request`: 202 (`approval.requested`); 400 without `by` or `reason`; 404 unknown change; 409 over, pending or approved. */
export const requestEmergency = async (action: RequestAction, attempt = 1): Promise<OperatorResult> => {
  const { pipeline, change, by, reason } = action;
  if (!pipeline) return missingPipeline();
  const fields = emergencyRequestProblem({ by, reason }, { status: 'in-flight', emergency: null });
  if (fields) return invalidOperatorRequest([{ field: fields.field ?? '', message: fields.message }]);
  const [record, item] = await readBoth(pipeline, change);
  if (!record) return unknownChange(pipeline, change);
  // This very request again (a retry): the same answer, its event published once.
  if (item?.state === 'requested' && samePerson(item.requestedBy, by) && item.requestReason === reason) {
    await announce(item);
    return accepted(item, 202);
  }
  const problem = emergencyRequestProblem({ by, reason }, { status: statusOf(record), emergency: item?.state ?? null });
  if (problem) return conflict(problem.code ?? 'emergency-pending', problem.message);
  const now = Date.now();
  const next: EmergencyItem = {
    ...emergencyKey(pipeline, change),
    pipeline,
    change,
    state: 'requested',
    requestedBy: by,
    requestReason: reason,
    requestedAt: new Date(now).toISOString(),
    refused: {},
    expiresAt: expiresAt(now),
  };
  // Conditional on the record read: none, or the denied request it replaces.
  const written = await conditionalWrite(
    new PutCommand({
      TableName: table.operators(),
      Item: next,
      ...(item
        ? {
            ConditionExpression: '#state = :state AND #requestedAt = :requestedAt',
            ExpressionAttributeNames: { '#state': 'state', '#requestedAt': 'requestedAt' },
            ExpressionAttributeValues: { ':state': item.state, ':requestedAt': item.requestedAt },
          }
        : { ConditionExpression: 'attribute_not_exists(pk)' }),
    }),
  );
  if (!written) {
    if (attempt < 2) return requestEmergency(action, attempt + 1);
    return conflict('emergency-pending', 'another request for this change was taken meanwhile; read the change again');
  }
  await announce(next);
  logger.info('emergency requested', { pipeline, change, by });
  return accepted(next, 202);
};

/**
 * The refusal of a decider, published once per attempt (person, decision, reason and the
 * action's request id: a retry of the same attempt is not recorded twice, another attempt is);
 * nothing else changes.
 */
const refuse = async (item: EmergencyItem, action: DecisionAction, reason: DenyReason): Promise<OperatorResult> => {
  const key = `${personOf(action.by)}#${action.decision}#${reason}${action.requestId ? `#${action.requestId}` : ''}`;
  if (item.refused?.[key] !== true) {
    await publish([{ type: EventType.APPROVAL_DENIED, pipeline: item.pipeline, change: item.change, by: action.by, reason }]);
    await conditionalWrite(
      new UpdateCommand({
        TableName: table.operators(),
        Key: { pk: item.pk, sk: item.sk },
        UpdateExpression: item.refused ? 'SET #refused.#key = :true' : 'SET #refused = :one',
        ConditionExpression: '#requestedAt = :requestedAt',
        ExpressionAttributeNames: { '#refused': 'refused', '#requestedAt': 'requestedAt', ...(item.refused ? { '#key': key } : {}) },
        ExpressionAttributeValues: { ':requestedAt': item.requestedAt, ...(item.refused ? { ':true': true } : { ':one': { [key]: true } }) },
      }),
    );
  }
  const message =
    reason === 'not-an-approver'
      ? `${action.by} is not in the approvers group; ask a principal engineer who is`
      : `${action.by} asked for this fast-track or wrote the change; another approver must decide`;
  return { status: 403, error: message, reason };
};

/**
 * An announced approval takes effect: the change's running bakes are shortened (later bakes
 * read the record when they start). The change's record is read again after the approval was
 * written: a change that ended meanwhile (its settle ran before the approval existed) gets
 * its emergency over here, so the approval holds no one.
 */
const takeEffect = async (pipeline: string, change: string): Promise<void> => {
  const record = await getItem<ChangeStartedItem>(table.changes(), changeKey(pipeline, change));
  if (isFinalStatus(record?.status)) {
    await endEmergency(pipeline, change);
    return;
  }
  await fastTrackRunning(pipeline, change);
};

/**
 * `emergency-decision`: 200 (`approval.granted`, or `approval.denied` with the approver's
 * reason); 403 with `not-an-approver` / `self-approval` (published as `approval.denied`);
 * 404 unknown change; 409 over, or no pending request.
 */
export const decideEmergency = async (action: DecisionAction, attempt = 1): Promise<OperatorResult> => {
  const { pipeline, change, by, decision } = action;
  if (!pipeline) return missingPipeline();
  const [record, item] = await readBoth(pipeline, change);
  if (!record) return unknownChange(pipeline, change);
  const state: EmergencyState = decision === 'approve' ? 'approved' : 'denied';
  // This very decision again (a retry): the same answer; an approval reaches the running bakes.
  if (item && item.state === state && item.decidedBy !== undefined && samePerson(item.decidedBy, by)) {
    // An approval whose event never went out, for a change that is over since: it never takes effect.
    if (state === 'approved' && item.announced !== state && isFinalStatus(statusOf(record))) {
      await endEmergency(pipeline, change);
      return finished(statusOf(record));
    }
    await announce(item);
    if (state === 'approved') await takeEffect(pipeline, change);
    return accepted(item, 200);
  }
  const status = statusOf(record);
  if (isFinalStatus(status)) return finished(status);
  if (!item || item.state !== 'requested') {
    return conflict('no-pending-request', `no emergency request of change '${change}' is pending${item ? ` (it is ${item.state})` : ''}; a developer requests one first`);
  }
  // A request whose event never went out (its attempt died after the write) is announced first: no decision without its request in the trail.
  await announce(item);
  const refusal = judgeDecider(by, { approvers: action.approvers, requester: item.requestedBy, author: record.author });
  if (refusal) return refuse(item, action, refusal);
  const decided: EmergencyItem = {
    ...item,
    state,
    decidedBy: by,
    decisionReason: action.reason ?? (state === 'denied' ? 'denied' : undefined),
    decidedAt: nowIso(),
  };
  const written = await conditionalWrite(
    new UpdateCommand({
      TableName: table.operators(),
      Key: { pk: item.pk, sk: item.sk },
      UpdateExpression: `SET #state = :state, #decidedBy = :by, #decidedAt = :at${decided.decisionReason !== undefined ? ', #decisionReason = :reason' : ''}`,
      ConditionExpression: '#state = :requested AND #requestedAt = :requestedAt',
      ExpressionAttributeNames: {
        '#state': 'state',
        '#decidedBy': 'decidedBy',
        '#decidedAt': 'decidedAt',
        '#requestedAt': 'requestedAt',
        ...(decided.decisionReason !== undefined ? { '#decisionReason': 'decisionReason' } : {}),
      },
      ExpressionAttributeValues: {
        ':state': state,
        ':by': by,
        ':at': decided.decidedAt,
        ':requested': 'requested',
        ':requestedAt': item.requestedAt,
        ...(decided.decisionReason !== undefined ? { ':reason': decided.decisionReason } : {}),
      },
    }),
  );
  if (!written) {
    if (attempt < 2) return decideEmergency(action, attempt + 1);
    return conflict('no-pending-request', 'the request was decided meanwhile; read the change again');
  }
  // Announced first: gates and bakes honour an approval only once its event is out.
  await announce(decided);
  if (state === 'approved') await takeEffect(pipeline, change);
  logger.info('emergency decided', { pipeline, change, by, state });
  return accepted(decided, 200);
};
