/** Overrides of blockers (core/operators.ts rules): applied, read by the gates, expired. */
import type { z } from 'zod';
import type { OperatorResult, OverrideAction } from '../../core/operators.ts';

export const applyOverride = async (_action: z.infer<typeof OverrideAction>): Promise<OperatorResult> => ({
  status: 409,
  error: 'not-built',
  reason: 'overrides are being built',
});
