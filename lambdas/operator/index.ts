/**
 * Handler `operator`: what people do to a running pipeline, one action per invocation:
 * an override of a blocker, an emergency request, an emergency decision. The console's API
 * (on AWS and locally) and the simulator's scenario events invoke it with the same input, so
 * every rule (core/operators.ts) and every record (the operators and audit tables) is one.
 * It answers in HTTP terms (OperatorResult); a refusal changes nothing but the audit trail.
 */
import { OperatorAction, type OperatorResult } from '../../core/operators.ts';
import { lambdaHandler } from '../runtime/handler.ts';
import { applyOverride } from '../shared/overrides.ts';
import { decideEmergency, requestEmergency } from '../shared/emergency.ts';

export const operate = async (action: OperatorAction): Promise<OperatorResult> => {
  switch (action.action) {
    case 'override':
      return applyOverride(action);
    case 'emergency-request':
      return requestEmergency(action);
    case 'emergency-decision':
      return decideEmergency(action);
  }
};

export const handler = lambdaHandler('operator', OperatorAction, operate);
