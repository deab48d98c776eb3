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
  expiresAt?: number;
}

/** The audit partition of a record: the change it concerns, else its pipeline, else `*`. */
export const auditPk = (pipeline: string | undefined, change: string | undefined): string =>
  pipeline && change ? `${pipeline}#${change}` : (pipeline ?? '*');
