/**
 * Handler `bake-end`, invoked by the bake's (or hold's) one-time schedule. A bake passes only
 * when its time has passed AND it saw its minimum data points with every alarm OK; thin
 * traffic (or alarms without data) extends it, and past the extension cap it fails: it never
 * passes on silence. A hold passes at its end unless an alarm is missing or in ALARM; so
 * does a blocker wait at its `until` (the gate then checks its blocker again).
 * The logic lives in shared/bakes.ts (the reconciler ends overdue bakes the same way).
 */
import { endBake, type BakeEndOutput } from '../shared/bakes.ts';
import { BakeEndInput } from '../../core/contracts.ts';
import { logger } from '../shared/logger.ts';
import { lambdaHandler } from '../runtime/handler.ts';

export type { BakeEndOutput } from '../shared/bakes.ts';

export const bakeEnd = async (input: BakeEndInput): Promise<BakeEndOutput> => {
  return endBake(input.bakeId);
};

export const handler = lambdaHandler('bake-end', BakeEndInput, bakeEnd);
