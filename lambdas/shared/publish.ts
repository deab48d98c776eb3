/**
 * Publishes handsoff events (core/events.ts vocabulary) to the handsoff bus. The simulator
 * routes the same PutEvents calls to its JSON Lines stream.
 */
import { PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE, type HandsoffEvent } from '../../core/events.ts';
import { clients } from './clients.ts';
import { env, ENV } from './config.ts';
import { PublishFailedError } from '../../core/errors.ts';
import { nowIso } from './duration.ts';

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
  const entries: PutEventsRequestEntry[] = events.map((event) => {
    const stamped = compact({ time, ...event });
    return {
      EventBusName: busName,
      Source: EVENT_SOURCE,
      DetailType: String(event.type),
      Time: new Date(time),
      Detail: JSON.stringify(stamped),
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
};
