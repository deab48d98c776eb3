/**
 * Handler `operator`: what people do to a running pipeline, one action per invocation:
 * an override of a blocker, an emergency request, an emergency decision. The console's API
 * (on AWS and locally) and the simulator's scenario events invoke it with the same input, so
 * every rule (core/operators.ts) and every record (the operators and audit tables) is one.
 * It answers in HTTP terms (OperatorResult); a refusal changes nothing but the audit trail.
 * Its own schedules invoke it too, with the internal `expire-override` action (an override's
 * expiry), which is not one of the console's actions.
 */
import { z } from 'zod';
import { OperatorAction, type OperatorResult } from '../../core/operators.ts';
import { lambdaHandler } from '../runtime/handler.ts';
import { applyOverride, expireOverride } from '../shared/overrides.ts';
import { decideEmergency, requestEmergency } from '../shared/emergency.ts';

/** The internal action of an override's expiry schedule (lambdas/shared/overrides.ts). */
export const ExpireOverrideAction = z.object({ action: z.literal('expire-override'), id: z.string().min(1) }).strict();

/** What the operator handler takes: a person's action, or its own expiry schedule's. */
export const OperatorInput = z.union([OperatorAction, ExpireOverrideAction]);
export type OperatorInput = z.infer<typeof OperatorInput>;

export const operate = async (action: OperatorInput): Promise<OperatorResult> => {
  switch (action.action) {
    case 'override':
      return applyOverride(action);
    case 'expire-override':
      return expireOverride(action);
    case 'emergency-request':
      return requestEmergency(action);
    case 'emergency-decision':
      return decideEmergency(action);
  }
};

export const handler = lambdaHandler('operator', OperatorInput, operate);
