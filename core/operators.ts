/**
 * What people do to a pipeline that runs without them, as pure rules: a developer overrides a
 * blocker for a while, a developer asks to fast-track a change, a principal engineer approves
 * or denies it. One rule, one place: the scenario validator, the operator handler (AWS and
 * the simulator alike) and the console's API all ask these functions, so an override refused
 * by `handsoff validate` is refused by the console with the same words.
 *
 * Pure: no AWS imports, no environment, no clock (the caller passes `nowMs`).
 */
import { z } from 'zod';
import { EventType } from './events.ts';
import { personOf, samePerson } from './review.ts';

/** The blockers a developer may override. */
export const OVERRIDABLE_BLOCKERS = ['team-alarm', 'company-event', 'time-window'] as const;
export type OverridableBlocker = (typeof OVERRIDABLE_BLOCKERS)[number];

/** An override lasts at most this long after it is applied. */
export const MAX_OVERRIDE_MS = 24 * 3600 * 1000;

/** A field of an operator's request that is wrong, and how to fix it. */
export interface FieldProblem {
  /** The field's name in the request (`expires`, `region`, ...); empty for the whole request. */
  readonly field: string;
  readonly message: string;
}

/** What a developer asks for: let steps start while `blocker` would hold them. */
export interface OverrideRequest {
  readonly blocker: OverridableBlocker;
  /** Omitted: every region. */
  readonly region?: string;
  /** Omitted: every pipeline. */
  readonly pipeline?: string;
  /** Omitted: every change of the pipeline(s). */
  readonly change?: string;
  readonly by: string;
  readonly reason: string;
  /** ISO 8601 UTC. */
  readonly expires: string;
}

/** An override in force: the request, when it was applied, and its id. */
export interface Override extends OverrideRequest {
  /** Stable id: the same request applied twice (a retry) is one override. */
  readonly id: string;
  /** ISO 8601 UTC. */
  readonly appliedAt: string;
}

/** What an override request is checked against: the known regions, pipelines and changes. */
export interface OverrideContext {
  readonly nowMs: number;
  /** Regions the pipeline(s) deploy to; omitted: not checked. */
  readonly regions?: readonly string[];
  /** Pipeline names; omitted: not checked. */
  readonly pipelines?: readonly string[];
  /** Change ids; omitted: not checked. */
  readonly changes?: readonly string[];
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z$/;

const list = (values: readonly string[]): string => values.map((v) => `'${v}'`).join(', ');

/**
 * Every problem of an override request at once, each naming the field and the fix: `blocker`
 * one of OVERRIDABLE_BLOCKERS, `by` and `reason` non-empty, `expires` an ISO 8601 UTC time
 * after `nowMs` and at most MAX_OVERRIDE_MS after it, `region` / `pipeline` / `change` known
 * when given (and when the context lists them). Empty: the request is valid.
 */
export const overrideProblems = (input: Record<string, unknown>, ctx: OverrideContext): FieldProblem[] => {
  const problems: FieldProblem[] = [];
  const add = (field: string, message: string) => problems.push({ field, message });
  const known = new Set(['blocker', 'region', 'pipeline', 'change', 'by', 'reason', 'expires', 'at']);
  for (const key of Object.keys(input)) {
    if (!known.has(key) && key !== 'kind') add(key, `unknown field '${key}'; an override has blocker, region, pipeline, change, reason and expires`);
  }
  const blocker = input.blocker;
  if (blocker === undefined || blocker === '') add('blocker', `missing required field 'blocker': one of ${list(OVERRIDABLE_BLOCKERS)}`);
  else if (!OVERRIDABLE_BLOCKERS.includes(blocker as OverridableBlocker)) {
    add('blocker', `blocker ${JSON.stringify(blocker)} cannot be overridden; use one of ${list(OVERRIDABLE_BLOCKERS)}`);
  }
  for (const field of ['by', 'reason'] as const) {
    const v = input[field];
    if (v === undefined || (typeof v === 'string' && v.trim() === '')) {
      add(field, field === 'reason' ? `missing required field 'reason': say why the blocker may be set aside (it is kept in the audit trail)` : `missing required field 'by': who overrides`);
    } else if (typeof v !== 'string') add(field, `'${field}' must be a string`);
  }
  const expires = input.expires;
  if (expires === undefined || expires === '') {
    add('expires', `missing required field 'expires': an ISO 8601 UTC time at most 24 h from now (${new Date(ctx.nowMs + MAX_OVERRIDE_MS).toISOString()})`);
  } else if (typeof expires !== 'string' || !ISO_UTC.test(expires) || Number.isNaN(Date.parse(expires))) {
    add('expires', `expires ${JSON.stringify(expires)} is not an ISO 8601 UTC time such as '2026-12-01T18:00:00Z'`);
  } else {
    const ms = Date.parse(expires);
    if (ms <= ctx.nowMs) add('expires', `expires ${expires} is not after now (${new Date(ctx.nowMs).toISOString()}); set a later time`);
    else if (ms - ctx.nowMs > MAX_OVERRIDE_MS) {
      add('expires', `expires ${expires} is more than 24 h from now; an override lasts at most 24 h (until ${new Date(ctx.nowMs + MAX_OVERRIDE_MS).toISOString()})`);
    }
  }
  const scoped = (field: 'region' | 'pipeline' | 'change', allowed: readonly string[] | undefined, what: string) => {
    const v = input[field];
    if (v === undefined) return;
    if (typeof v !== 'string' || v === '') add(field, `'${field}' must be a non-empty string, or left out for every ${what}`);
    else if (allowed && !allowed.includes(v)) add(field, `unknown ${what} '${v}'; known: ${list(allowed.slice(0, 12))}${allowed.length > 12 ? ', ...' : ''}`);
  };
  scoped('region', ctx.regions, 'region');
  scoped('pipeline', ctx.pipelines, 'pipeline');
  scoped('change', ctx.changes, 'change');
  return problems;
};

/** The override id: one per (scope, blocker, by, expires), so a retried request is not a second override. */
export const overrideId = (o: OverrideRequest): string =>
  [o.blocker, o.region ?? '*', o.pipeline ?? '*', o.change ?? '*', personOf(o.by), o.expires].join('|');

/** What a gate asks of the overrides: may this blocker be set aside for this step now? */
export interface OverrideAsk {
  readonly blocker: OverridableBlocker;
  readonly region: string;
  readonly pipeline: string;
  readonly change: string;
  readonly nowMs: number;
}

/**
 * Whether `o` is for `blocker` in `region` now, whatever pipeline or change it names (the
 * console's blocker row of a region; overrideApplies adds the step's pipeline and change).
 */
export const overrideInRegion = (o: { readonly blocker: string; readonly region?: string; readonly expires: string }, blocker: string, region: string, nowMs: number): boolean =>
  o.blocker === blocker && (o.region === undefined || o.region === region) && nowMs < Date.parse(o.expires);

/** Whether `o` sets `ask.blocker` aside for that step now (in scope and not expired: it stops applying at `expires`). */
export const overrideApplies = (o: OverrideRequest, ask: OverrideAsk): boolean =>
  overrideInRegion(o, ask.blocker, ask.region, ask.nowMs) &&
  (o.pipeline === undefined || o.pipeline === ask.pipeline) &&
  (o.change === undefined || o.change === ask.change);

/**
 * Whether a team-alarm override `o` sets aside a team aggregate in the ALARM episode that
 * began at `alarmingSinceMs` (when the aggregate entered ALARM): only the ALARM it was already
 * in when the override was applied (entered no later than `appliedAt`). An aggregate that
 * enters ALARM after, even while the override holds, is a new incident (the change itself may
 * cause it): it blocks gates and rolls changes back as if there were no override. The rule is
 * the same for gates and for alarm judges. An episode it cannot tell (undefined) is never spared.
 */
export const sparesEpisode = (o: Pick<Override, 'appliedAt'>, alarmingSinceMs: number | undefined): boolean =>
  alarmingSinceMs !== undefined && Number.isFinite(alarmingSinceMs) && alarmingSinceMs <= Date.parse(o.appliedAt);

/** The first override of `overrides` that applies to `ask`, if any. */
export const applicableOverride = <O extends OverrideRequest>(overrides: readonly O[], ask: OverrideAsk): O | undefined =>
  overrides.find((o) => overrideApplies(o, ask));

// ---------------------------------------------------------------------------------------
// Emergency fast-track

/** Where a change's emergency request is: none (null), requested, approved or denied. */
export type EmergencyState = 'requested' | 'approved' | 'denied';

/** Why a decision is refused (`approval.denied`'s `reason`). */
export const DenyReason = {
  NOT_AN_APPROVER: 'not-an-approver',
  SELF_APPROVAL: 'self-approval',
} as const;
export type DenyReason = (typeof DenyReason)[keyof typeof DenyReason];

/** A change's outcome once it is over: no emergency can be requested for it any more. */
export const FINAL_STATUSES = ['succeeded', 'failed', 'rejected', 'superseded'] as const;
export type FinalStatus = (typeof FINAL_STATUSES)[number];

/**
 * The outcome each final event gives a change (the one mapping: notify records it with the
 * change, the console shows it).
 */
export const FINAL_STATUS_OF_EVENT: Readonly<Record<string, FinalStatus>> = {
  [EventType.CHANGE_COMPLETED]: 'succeeded',
  [EventType.CHANGE_FAILED]: 'failed',
  [EventType.CHANGE_REJECTED]: 'rejected',
  [EventType.CHANGE_SUPERSEDED]: 'superseded',
};

/** Whether a change's recorded status says it is over. */
export const isFinalStatus = (status: string | undefined): boolean => status !== undefined && (FINAL_STATUSES as readonly string[]).includes(status);

/** Why an emergency request cannot be taken (HTTP 400 / 409), or undefined when it can. */
export const emergencyRequestProblem = (
  request: { by?: unknown; reason?: unknown },
  change: { status: string; emergency: EmergencyState | null },
): { status: 400 | 409; field?: string; code?: 'change-over' | 'emergency-pending' | 'already-fast-tracked'; message: string } | undefined => {
  if (typeof request.reason !== 'string' || request.reason.trim() === '') {
    return { status: 400, field: 'reason', message: `missing required field 'reason': say why the change must be fast-tracked (it is kept in the audit trail)` };
  }
  if (typeof request.by !== 'string' || request.by.trim() === '') return { status: 400, field: 'by', message: `missing required field 'by': who asks` };
  if ((FINAL_STATUSES as readonly string[]).includes(change.status)) {
    return { status: 409, code: 'change-over', message: `the change has already ${change.status === 'superseded' ? 'been superseded' : change.status === 'rejected' ? 'been rejected' : change.status}; nothing to fast-track` };
  }
  if (change.emergency === 'requested') return { status: 409, code: 'emergency-pending', message: 'an emergency request for this change is already pending; an approver decides it' };
  if (change.emergency === 'approved') return { status: 409, code: 'already-fast-tracked', message: 'this change is already fast-tracked' };
  return undefined;
};

/**
 * Whether `by` may decide the emergency request of a change: a member of `approvers`
 * (case-insensitive), and neither the requester nor the change's author. The refusal names
 * the reason of `approval.denied`.
 */
export const judgeDecider = (by: string, who: { approvers: readonly string[]; requester: string; author: string }): DenyReason | undefined => {
  if (!who.approvers.some((a) => samePerson(a, by))) return DenyReason.NOT_AN_APPROVER;
  if (samePerson(by, who.requester) || samePerson(by, who.author)) return DenyReason.SELF_APPROVAL;
  return undefined;
};

/** The first production stage: a change has entered production once it started a step there. */
export const FIRST_PRODUCTION_STAGE = 'wave-1';

/** What the emergency rules read of an emergency record (core/operator-items.ts EmergencyItem). */
export interface EmergencyFacts {
  readonly pipeline: string;
  readonly change: string;
  readonly state: EmergencyState;
  /** The state whose event was published: an approval takes effect only once announced. */
  readonly announced?: EmergencyState;
  readonly over?: boolean;
}

/**
 * Whether `e` is fast-tracking its change now: approved and announced (`approval.granted`
 * published, so the audit trail has it), and its change not over yet.
 */
export const fastTracking = (e: EmergencyFacts): boolean => e.state === 'approved' && e.announced === 'approved' && e.over !== true;

/** Whether the change's own emergency is approved and running: time windows do not hold it (its team is watching). */
export const windowWaived = (emergencies: readonly EmergencyFacts[], pipeline: string, change: string): boolean =>
  emergencies.some((e) => e.pipeline === pipeline && e.change === change && fastTracking(e));

/**
 * The emergencies that may hold `change` of `pipeline` at its first production gate: the
 * pipeline's other fast-tracked changes. Only one that has entered production holds it (the
 * caller checks): the lanes keep the changes' order, so an emergency behind this change could
 * not pass it, and holding it would hold the emergency too.
 */
export const holdingEmergencies = <E extends EmergencyFacts>(emergencies: readonly E[], pipeline: string, change: string): E[] =>
  emergencies.filter((e) => e.pipeline === pipeline && e.change !== change && fastTracking(e));

/** The bake a change waits for: the pipeline's bake, or the emergency floor once its emergency is approved (never longer than the bake). */
export const effectiveBakeMs = (bakeMs: number, floorMs: number, emergency: EmergencyState | null | undefined): number =>
  emergency === 'approved' ? Math.min(bakeMs, floorMs) : bakeMs;

// ---------------------------------------------------------------------------------------
// Requests as the console and the operator handler take them

export const OverrideAction = z.object({
  action: z.literal('override'),
  blocker: z.string(),
  region: z.string().optional(),
  pipeline: z.string().optional(),
  change: z.string().optional(),
  by: z.string(),
  reason: z.string(),
  expires: z.string(),
});
export const EmergencyRequestAction = z.object({ action: z.literal('emergency-request'), change: z.string(), pipeline: z.string().optional(), by: z.string(), reason: z.string() });
export const EmergencyDecisionAction = z.object({
  action: z.literal('emergency-decision'),
  change: z.string(),
  pipeline: z.string().optional(),
  by: z.string(),
  decision: z.enum(['approve', 'deny']),
  reason: z.string().optional(),
  /**
   * The approvers group as the caller knows it: the scenario's `approvers` in the simulator;
   * on AWS the console passes the caller alone when the Cognito token puts them in `approvers`.
   */
  approvers: z.array(z.string()).default([]),
  /**
   * Tells a retry from a new attempt: the same id is the same attempt retried (a refusal is
   * recorded once), another id another attempt (recorded again). The console gives each POST
   * one, the simulator each scenario event.
   */
  requestId: z.string().optional(),
});
/** One operator action: the scenario's `override` / `emergency-*` events and the console's POSTs are all one of these. */
export const OperatorAction = z.discriminatedUnion('action', [OverrideAction, EmergencyRequestAction, EmergencyDecisionAction]);
export type OperatorAction = z.infer<typeof OperatorAction>;

/**
 * The answer to an operator action, in HTTP terms so the console returns it as is. A refusal
 * has the console's error shape: `error` is the message a person reads (what is wrong and
 * what to do), `reason` the machine code (`invalid-request`, `not-an-approver`,
 * `self-approval`, `unknown-change`, `change-over`, `no-pending-request`, ...).
 * 201 override applied, 202 request taken, 200 decision taken (granted or denied with the
 * approver's reason); 400 with every problem; 403 with the deny reason (the decision is
 * recorded as `approval.denied` and changes nothing); 404 unknown change; 409 the state does
 * not allow it.
 */
export type OperatorResult =
  | { status: 200 | 201 | 202; body: Record<string, unknown> }
  | { status: 400; error: string; reason: string; problems: FieldProblem[] }
  | { status: 403; error: string; reason: DenyReason }
  | { status: 404 | 409; error: string; reason: string };

/** A refused operator action in the one error shape: `error` the message, `reason` the code. */
export const operatorRefusal = <S extends 404 | 409>(status: S, reason: string, error: string): { status: S; error: string; reason: string } => ({ status, error, reason });

/** A 400 with every problem: `error` the problems in words, `reason` `invalid-request`. */
export const invalidOperatorRequest = (problems: FieldProblem[]): { status: 400; error: string; reason: string; problems: FieldProblem[] } => ({
  status: 400,
  error: problems.map((p) => p.message).join('; '),
  reason: 'invalid-request',
  problems,
});

export { personOf, samePerson };
