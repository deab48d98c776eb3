/** Emergency fast-track (core/operators.ts rules): requests and decisions. */
import type { z } from 'zod';
import type { EmergencyDecisionAction, EmergencyRequestAction, OperatorResult } from '../../core/operators.ts';

export const requestEmergency = async (_action: z.infer<typeof EmergencyRequestAction>): Promise<OperatorResult> => ({
  status: 409,
  error: 'not-built',
  reason: 'emergency requests are being built',
});

export const decideEmergency = async (_action: z.infer<typeof EmergencyDecisionAction>): Promise<OperatorResult> => ({
  status: 409,
  error: 'not-built',
  reason: 'emergency decisions are being built',
});
