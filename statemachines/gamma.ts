/**
 * Gamma deploys one-box first, as production does: the one-box step of a production region
 * (statemachines/onebox.ts) on gamma's one-box group in the pre-production region, watched by
 * gamma's alarms (its one-box's standard alarms and anomaly checks, its fleet's alarms), baked
 * for the pipeline's one-box bake. Then the fleet deploys as in every stage. Any failure goes
 * to the stage's rollback, which restores every group of gamma that got the change.
 */
import type { ResolvedPipeline } from '../core/model.ts';
import { applicationName, GAMMA_ONE_BOX_SCOPE, GAMMA_STAGE, gammaOneBoxGroupName, hasGammaOneBox } from '../core/naming.ts';
import { preProdAlarms } from './alarms.ts';
import type { State, States } from './asl.ts';
import { gateEntryId } from './gate.ts';
import { oneBoxStates } from './onebox.ts';

/**
 * In stage `stage` (state id prefix `id`), before its gate: gamma's one-box step when the
 * pipeline has one, ending at the stage's own gate (gateEntryId); nothing elsewhere.
 */
export const gammaOneBoxStep = (
  states: States,
  add: (id: string, state: State) => void,
  p: ResolvedPipeline,
  stage: string,
  id: string,
  rollbackId: string,
): void => {
  if (stage !== GAMMA_STAGE || !hasGammaOneBox(p)) return;
  const region = p.preProdRegion;
  const alarms = preProdAlarms(p, stage);
  const start = oneBoxStates(states, p, {
    prefix: `${id}.OneBox`,
    scope: { 'pipeline.$': '$.pipeline', 'change.$': '$.change', stage, region },
    deploy: { application: applicationName(p.name), deploymentGroup: gammaOneBoxGroupName(p.name), alarms },
    watch: { alarms: alarms.map((name) => ({ region, name })), metricScopes: [{ region, scope: GAMMA_ONE_BOX_SCOPE }] },
    preProd: { stage, region, alarms },
    next: gateEntryId(id),
    rollback: rollbackId,
  });
  add(start, states[start]!);
};
