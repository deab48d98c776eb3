/**
 * Handler `on-deployment-event`: CodeDeploy "Deployment State-change Notification" events
 * (forwarded from every target region to the home bus). A deployment's end completes the
 * step waiting on it exactly once; duplicates, late events and other states are no-ops.
 */
import { type BusEvent, CodeDeployStateChangeDetail, busEvent } from '../../core/contracts.ts';
import { onDeploymentState, type Outcome } from '../shared/deployment-outcome.ts';
import { logger } from '../shared/logger.ts';
import { lambdaHandler } from '../runtime/handler.ts';

export const onDeploymentEvent = async (
  event: BusEvent<CodeDeployStateChangeDetail>,
): Promise<{ outcome: Outcome }> => {
  const { deploymentId, state } = event?.detail ?? ({} as Partial<CodeDeployStateChangeDetail>);
  if (!deploymentId || !state) {
    logger.warn('CodeDeploy event without deploymentId or state; ignored', { detail: event?.detail });
    return { outcome: 'ignored' };
  }
  logger.appendKeys({ deploymentId });
  const outcome = await onDeploymentState(deploymentId, state);
  logger.info('deployment state change handled', { state, outcome });
  return { outcome };
};

export const handler = lambdaHandler('on-deployment-event', busEvent(CodeDeployStateChangeDetail), onDeploymentEvent, { resetKeys: true });
