/**
 * The audit trail: which handsoff events are decisions that must be kept (who, when, why and
 * what they changed), and how each is keyed in the audit table (core/operator-items.ts
 * auditPk; core/tables.ts `audit`). One place: the publisher (lambdas/shared/publish.ts)
 * writes every published event of these types there, and the console and the report read
 * them back. Pure.
 */
import { createHash } from 'node:crypto';
import { EventType } from './events.ts';
import { auditPk } from './operator-items.ts';

/** The event types the audit trail records. */
export const AUDITED_EVENT_TYPES: ReadonlySet<string> = new Set<string>([
  EventType.CHANGE_RECEIVED,
  EventType.CHANGE_REJECTED,
  EventType.CHANGE_SUPERSEDED,
  EventType.CHANGE_FAILED,
  EventType.CHANGE_COMPLETED,
  EventType.STAGE_STARTED,
  EventType.STAGE_COMPLETED,
  EventType.TESTS_PASSED,
  EventType.TESTS_FAILED,
  // The checksum of what the change deploys, recorded with the change.
  EventType.BUILD_COMPLETED,
  EventType.BLOCKED,
  EventType.UNBLOCKED,
  EventType.DEPLOYMENT_STARTED,
  EventType.DEPLOYMENT_SUCCEEDED,
  EventType.DEPLOYMENT_FAILED,
  EventType.ALARM_TRIGGERED,
  EventType.ROLLBACK_STARTED,
  EventType.ROLLBACK_COMPLETED,
  EventType.OVERRIDE_APPLIED,
  EventType.OVERRIDE_EXPIRED,
  EventType.APPROVAL_REQUESTED,
  EventType.APPROVAL_GRANTED,
  EventType.APPROVAL_DENIED,
]);

export const isAudited = (type: string): boolean => AUDITED_EVENT_TYPES.has(type);

/** One record of the audit trail: the decision, who took it, when, why, and the event in full. */
export interface AuditRecord {
  pk: string;
  /** `${time}#${type}#${digest}`: sorted by time; the digest of the content makes a retried publish of the same event one record. */
  sk: string;
  time: string;
  type: string;
  pipeline?: string;
  change?: string;
  /** A person (`by` of an override or approval), else `handsoff` (the pipeline decided). */
  who: string;
  /** The event's reason, the alarm that triggered, or the type itself. */
  why: string;
  /** The event as published (JSON). */
  event: string;
}

/** A stable rendering of a value (keys sorted), for the digest. */
const stable = (value: unknown): string =>
  Array.isArray(value)
    ? `[${value.map(stable).join(',')}]`
    : value && typeof value === 'object'
      ? `{${Object.keys(value as object)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${stable((value as Record<string, unknown>)[k])}`)
          .join(',')}}`
      : JSON.stringify(value);

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The audit record of a published event (with its `time`). */
export const auditRecordOf = (event: Record<string, unknown> & { time: string; type: string }): AuditRecord => {
  const { time: _time, ...content } = event;
  const digest = createHash('sha256').update(stable(content)).digest('hex').slice(0, 16);
  const pipeline = text(event.pipeline);
  const change = text(event.change);
  const override = event.override as { by?: unknown; reason?: unknown } | undefined;
  return {
    pk: auditPk(pipeline, change),
    sk: `${event.time}#${event.type}#${digest}`,
    time: event.time,
    type: event.type,
    ...(pipeline ? { pipeline } : {}),
    ...(change ? { change } : {}),
    who: text(event.by) ?? text(override?.by) ?? 'handsoff',
    why: text(event.reason) ?? text(event.alarm) ?? text(override?.reason) ?? event.type,
    event: JSON.stringify(event),
  };
};
