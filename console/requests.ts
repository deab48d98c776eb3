/**
 * The console's request bodies, checked before anything acts: each POST's fields, every
 * problem named with its fix (core/operators.ts holds the rules the operator handler shares).
 */
import { emergencyRequestProblem, overrideProblems, type FieldProblem, type OperatorAction } from '../core/operators.ts';
import type { Caller, ChangeSummaryView, StateView } from './api.ts';
import { productionRegions } from '../core/console.ts';

/** A request's action, or every problem of its fields (400), or why the state does not allow it (409). */
export type Checked<T> = { ok: true; value: T } | { ok: false; problems: FieldProblem[] } | { ok: false; conflict: string; code: string };

const unknownFields = (body: Record<string, unknown>, allowed: readonly string[], what: string): FieldProblem[] =>
  Object.keys(body)
    .filter((k) => !allowed.includes(k))
    .map((k) =>
      k === 'by'
        ? { field: 'by', message: `'by' comes from who is signed in; leave it out` }
        : { field: k, message: `unknown field '${k}'; ${what} has ${allowed.map((a) => `'${a}'`).join(', ')}` },
    );

const needText = (body: Record<string, unknown>, field: string, why: string): FieldProblem[] => {
  const v = body[field];
  if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) return [{ field, message: `missing required field '${field}': ${why}` }];
  if (typeof v !== 'string') return [{ field, message: `'${field}' must be a string` }];
  return [];
};

/**
 * `POST /api/changes/{id}/emergency` `{"reason"}`: 409 at once for a change that is over or
 * already has a request pending or approved (the rule the operator handler applies too).
 */
export const emergencyRequest = (body: Record<string, unknown>, change: ChangeSummaryView, caller: Caller): Checked<OperatorAction> => {
  const problems = [
    ...unknownFields(body, ['reason'], 'an emergency request'),
    ...needText(body, 'reason', 'say why the change must be fast-tracked (it is kept in the audit trail)'),
  ];
  if (problems.length > 0) return { ok: false, problems };
  const refused = emergencyRequestProblem({ by: caller.name, reason: body.reason }, change);
  if (refused?.status === 409) return { ok: false, conflict: refused.message, code: refused.code ?? 'conflict' };
  if (refused) return { ok: false, problems: [{ field: refused.field ?? '', message: refused.message }] };
  return { ok: true, value: { action: 'emergency-request', change: change.id, pipeline: change.pipeline, by: caller.name, reason: String(body.reason).trim() } };
};

/** `POST /api/changes/{id}/decision` `{"decision": "approve" | "deny", "reason"}`. */
export const emergencyDecision = (body: Record<string, unknown>, change: ChangeSummaryView, caller: Caller): Checked<OperatorAction> => {
  const problems = [...unknownFields(body, ['decision', 'reason'], 'a decision')];
  const decision = body.decision;
  if (decision === undefined || decision === null || decision === '') problems.push({ field: 'decision', message: `missing required field 'decision': 'approve' or 'deny'` });
  else if (decision !== 'approve' && decision !== 'deny') problems.push({ field: 'decision', message: `decision ${JSON.stringify(decision)} is neither 'approve' nor 'deny'` });
  problems.push(...needText(body, 'reason', 'say why (it is kept in the audit trail)'));
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: {
      action: 'emergency-decision',
      change: change.id,
      pipeline: change.pipeline,
      by: caller.name,
      decision: decision as 'approve' | 'deny',
      reason: String(body.reason).trim(),
      // The approvers group as the caller's identity tells it: locally the scenario's list
      // named them, on AWS the token put them in the group.
      approvers: caller.approver ? [caller.name] : [],
      // Each POST is its own attempt: a second refused try is recorded again.
      requestId: globalThis.crypto.randomUUID(),
    },
  };
};

/** `POST /api/overrides`: checked against what the state knows (regions, pipelines, changes, now). */
export const overrideRequest = (body: Record<string, unknown>, state: StateView, caller: Caller): Checked<OperatorAction> => {
  const fields = ['blocker', 'region', 'pipeline', 'change', 'reason', 'expires'];
  const problems = unknownFields(body, fields, 'an override');
  // null and absent alike: every region, pipeline or change.
  const input: Record<string, unknown> = { by: caller.name };
  for (const f of fields) if (body[f] !== undefined && body[f] !== null) input[f] = body[f];
  problems.push(
    ...overrideProblems(input, {
      nowMs: Date.parse(state.now),
      // The production regions, as the scenario validator accepts them.
      regions: productionRegions(state.pipelines),
      pipelines: state.pipelines.map((p) => p.name),
      changes: state.changes.map((c) => c.id),
    }),
  );
  if (problems.length > 0) return { ok: false, problems };
  const opt = (f: string) => (typeof input[f] === 'string' ? { [f]: input[f] as string } : {});
  return {
    ok: true,
    value: {
      action: 'override',
      blocker: input.blocker as string,
      ...opt('region'),
      ...opt('pipeline'),
      ...opt('change'),
      by: caller.name,
      reason: String(input.reason).trim(),
      expires: input.expires as string,
    },
  };
};

/** `POST /api/clock` `{"speed", "paused"}`: at least one. */
export const clockChange = (body: Record<string, unknown>): Checked<{ speed?: number; paused?: boolean }> => {
  const problems = unknownFields(body, ['speed', 'paused'], 'a clock change');
  const out: { speed?: number; paused?: boolean } = {};
  if (body.speed !== undefined) {
    const s = body.speed;
    if (typeof s !== 'number' || !Number.isFinite(s) || s <= 0 || s > 10_000_000) {
      problems.push({ field: 'speed', message: `speed ${JSON.stringify(s)} is not a number of virtual seconds per real second between 0 (excluded) and 10000000` });
    } else out.speed = s;
  }
  if (body.paused !== undefined) {
    if (typeof body.paused !== 'boolean') problems.push({ field: 'paused', message: `'paused' must be true or false` });
    else out.paused = body.paused;
  }
  if (body.speed === undefined && body.paused === undefined) problems.push({ field: '', message: `give 'speed' (virtual seconds per real second), 'paused' (true or false), or both` });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: out };
};
