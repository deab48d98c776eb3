/**
 * Item layouts of the operators table and the audit table (schemas: core/tables.ts
 * TABLE_SCHEMAS). Pure: read by lambdas/, infra/ and sim/.
 *
 * operators: one partition (OPERATORS_PK), so a gate reads every override and emergency in
 * force with one Query. An override is `override#${id}` (core/operators.ts overrideId); a
 * change's emergency request is `emergency#${pipeline}#${change}`.
 *
 * audit: one item per decision, keyed by what it concerns (`${pipeline}#${change}`, or the
 * pipeline alone, or `*` for an override of every pipeline) and sorted by time; written with
 * a conditional PutItem, never updated or deleted.
 */
import type { EmergencyState, Override } from './operators.ts';

export const OPERATORS_PK = 'operators';
export const OVERRIDE_SK_PREFIX = 'override#';
export const EMERGENCY_SK_PREFIX = 'emergency#';

export const overrideKey = (id: string): { pk: string; sk: string } => ({ pk: OPERATORS_PK, sk: `${OVERRIDE_SK_PREFIX}${id}` });
export const emergencyKey = (pipeline: string, change: string): { pk: string; sk: string } => ({
  pk: OPERATORS_PK,
  sk: `${EMERGENCY_SK_PREFIX}${pipeline}#${change}`,
});

export interface OverrideItem extends Override {
  pk: string;
  sk: string;
  /** TTL (epoch seconds): some time after `expires`. */
  expiresAt: number;
  /**
   * Set once `override.applied` (and its audit record) is published: gates and alarm judges
   * honour an override only from then on, so none takes effect unannounced.
   */
  announcedAt?: string;
}

export interface EmergencyItem {
  pk: string;
  sk: string;
  pipeline: string;
  change: string;
  state: EmergencyState;
  requestedBy: string;
  requestReason: string;
  requestedAt: string;
  decidedBy?: string;
  decisionReason?: string;
  decidedAt?: string;
  /** Set once the change completed or failed: it holds the pipeline's other changes no more. */
  over?: boolean;
  /** The state whose event (`approval.requested`, `.granted`, `.denied`) was published: a retry does not publish it again. */
  announced?: EmergencyState;
  /** Refused decisions already published (`${person}#${decision}#${reason}`): a retried refusal is not published twice. */
  refused?: Record<string, boolean>;
  expiresAt?: number;
}

/** Whether an item of the operators partition is an emergency record. */
export const isEmergencyItem = (item: { sk?: unknown }): item is EmergencyItem =>
  typeof item.sk === 'string' && item.sk.startsWith(EMERGENCY_SK_PREFIX);

/**
 * What a change held by `emergency-hold` waits for: its blocker wait names this key as its
 * blocking "alarm" (in `watching`), so the end of the pipeline's emergency finds and ends
 * those waits with one Query, as an alarm's state change does. No CloudWatch alarm has the
 * name: it never changes state, the end of the emergency (or the wait's hourly re-check) ends it.
 */
export const emergencyHoldKey = (pipeline: string): string => `${EMERGENCY_HOLD_PREFIX}${pipeline}`;
const EMERGENCY_HOLD_PREFIX = 'handsoff-emergency-hold#';

/** Whether a watched name is an alarm CloudWatch could know (not an emergency-hold key): only those are read. */
export const isAlarmName = (name: string): boolean => !name.startsWith(EMERGENCY_HOLD_PREFIX);

/** The audit partition of a record: the change it concerns, else its pipeline, else `*`. */
export const auditPk = (pipeline: string | undefined, change: string | undefined): string =>
  pipeline && change ? `${pipeline}#${change}` : (pipeline ?? '*');
