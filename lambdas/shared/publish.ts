/**
 * Publishes handsoff events (core/events.ts vocabulary) to the handsoff bus. The simulator
 * routes the same PutEvents calls to its JSON Lines stream.
 *
 * Each published event of an audited type (core/audit.ts) is also appended to the audit
 * table: one conditional PutItem (attribute_not_exists) per record, keyed by time, type and a
 * digest of the content, so a retried publish of the same event at the same time is one
 * record and no record is ever overwritten. The handlers may only PutItem there. A record
 * that cannot be written fails the publish (throttling included): the handler's retry, not
 * silence, deals with it.
 */
import { PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE, type HandsoffEvent } from '../../core/events.ts';
import { clients } from './clients.ts';
import { env, ENV } from './config.ts';
import { PublishFailedError } from '../../core/errors.ts';
import { nowIso } from './duration.ts';
import { auditRecordOf, isAudited } from '../../core/audit.ts';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed } from './dynamo.ts';
import { table } from './tables.ts';

/** An event before it is stamped with the time of publication. */
export type EventDraft = Omit<HandsoffEvent, 'time'> & { time?: string };

/** PutEvents takes at most 10 entries per call. */
const BATCH = 10;

/** Drops undefined fields, so events carry only the fields that apply. */
const compact = (event: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(event).filter(([, v]) => v !== undefined));

export const publish = async (events: EventDraft[]): Promise<void> => {
  if (events.length === 0) return;
  const busName = env(ENV.EVENT_BUS_NAME);
  const time = nowIso();
  const stamped = events.map((event) => compact({ time, ...event }) as Record<string, unknown> & { time: string; type: string });
  const entries: PutEventsRequestEntry[] = events.map((event, i) => {
    const detail = stamped[i]!;
    return {
      EventBusName: busName,
      Source: EVENT_SOURCE,
      DetailType: String(event.type),
      Time: new Date(time),
      Detail: JSON.stringify(detail),
    };
  });
  for (let i = 0; i < entries.length; i += BATCH) {
    const batch = entries.slice(i, i + BATCH);
    const result = await clients().events().send(new PutEventsCommand({ Entries: batch }));
    if ((result.FailedEntryCount ?? 0) > 0) {
      const failures = (result.Entries ?? [])
        .map((e, j) => (e.ErrorCode ? `${batch[j]?.DetailType}: ${e.ErrorCode} ${e.ErrorMessage ?? ''}`.trim() : undefined))
        .filter(Boolean);
      throw new PublishFailedError(`EventBridge rejected ${result.FailedEntryCount} of ${batch.length} events: ${failures.join('; ')}`);
    }
  }
  await appendAudit(stamped.filter((e) => isAudited(e.type)));
};

/** Appends the audit records of `events` (conditional puts; one already there is kept as it is). */
const appendAudit = async (events: Array<Record<string, unknown> & { time: string; type: string }>): Promise<void> => {
  if (events.length === 0) return;
  const tableName = table.audit();
  await Promise.all(
    events.map(async (event) => {
      try {
        await clients()
          .dynamo()
          .send(new PutCommand({ TableName: tableName, Item: auditRecordOf(event), ConditionExpression: 'attribute_not_exists(pk)' }));
      } catch (err) {
        if (!isConditionalCheckFailed(err)) throw err;
      }
    }),
  );
};
