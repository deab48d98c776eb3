/**
 * The region machine: one execution per (change, region): window gate, one-box deploy and
 * bake, then each unit in turn (gate, rolling deploy, bake); any failure rolls the region
 * back and the execution reports `failed` with the reason.
 */
import { DeploymentTarget, type ResolvedPipeline } from '../core/model.ts';
import { HandlerName } from './resources.ts';
import { DEPLOY_TIMEOUT_SECONDS, States, bake, callback } from './asl.ts';
import { rollbackStates } from './rollback.ts';
import { returnsToGate, windowGate } from './gate.ts';
import { regionInputStates } from './region-input.ts';
import { oneBoxStates } from './onebox.ts';

export const buildRegion = (p: ResolvedPipeline): Record<string, unknown> => {
  const states: States = {};
  const rollback = 'Region.Rollback';
  const failed = 'Region.Failed';
  const succeeded = 'Region.Succeeded';

  const base = { 'pipeline.$': '$.pipeline', 'change.$': '$.change', 'stage.$': '$.stage', 'region.$': '$.region' };
  const oneBoxStart = oneBoxStates(states, p, {
    prefix: 'OneBox',
    scope: base,
    deploy: { 'application.$': '$.application', 'deploymentGroup.$': '$.oneBoxGroup', 'alarms.$': '$.alarmNames' },
    watch: { 'alarms.$': '$.alarms', 'metricScopes.$': '$.oneBoxMetricScopes' },
    next: 'Units',
    rollback,
  });

  const unitStates: States = {};
  const unitScope = { target: DeploymentTarget.FLEET, 'unit.$': '$.unit.unit' };
  // Before the first unit of a pipeline without one-box nothing runs there yet either; the
  // hold's alarms are the region's, so holding is safe (and it is what watches slow burns).
  const unitStart = windowGate(unitStates, 'Unit', p, unitScope, 'Unit.Deploy', 'Unit.Failed', true);
  unitStates['Unit.Deploy'] = returnsToGate(callback(
    HandlerName.START_DEPLOYMENT,
    {
      ...base,
      ...unitScope,
      'revision.$': '$.revision',
      'artifact.$': '$.artifact',
      'application.$': '$.application',
      'deploymentGroup.$': '$.unit.deploymentGroup',
      'alarms.$': '$.alarmNames',
    },
    DEPLOY_TIMEOUT_SECONDS,
    'Unit.Bake',
    'Unit.Failed',
  ), 'Unit');
  unitStates['Unit.Bake'] = bake(p, p.bake.unitSeconds, { ...base, ...unitScope, 'alarms.$': '$.alarms', 'metricScopes.$': '$.unit.metricScopes' }, 'Unit.Done', 'Unit.Failed');
  unitStates['Unit.Done'] = { Type: 'Succeed' };
  // Re-raise with the original error so the region's Catch sees the cause.
  unitStates['Unit.Failed'] = { Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' };

  states['Units'] = {
    Type: 'Map',
    ItemsPath: '$.units',
    ItemSelector: {
      'pipeline.$': '$.pipeline',
      'change.$': '$.change',
      'revision.$': '$.revision',
      'artifact.$': '$.artifact',
      'stage.$': '$.stage',
      'region.$': '$.region',
      'application.$': '$.application',
      'alarmNames.$': '$.alarmNames',
      'alarms.$': '$.alarms',
      'unit.$': '$$.Map.Item.Value',
    },
    // One unit (AZ or cell) at a time: a bad change reaches at most one unit's fleet.
    MaxConcurrency: 1,
    ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: unitStart, States: unitStates },
    ResultPath: null,
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: rollback }],
    Next: succeeded,
  };
  states[succeeded] = {
    Type: 'Pass',
    Parameters: { 'region.$': '$.region', status: 'succeeded', reason: '' },
    End: true,
  };
  rollbackStates(states, rollback, { 'stage.$': '$.stage', 'region.$': '$.region' }, failed);
  states[failed] = {
    Type: 'Pass',
    Parameters: { 'region.$': '$.region', status: 'failed', 'reason.$': '$.error.Cause' },
    End: true,
  };

  if (!p.oneBox) {
    for (const id of Object.keys(states)) if (id.startsWith('OneBox.')) delete states[id];
  }
  // First: the input is checked against the definition, and the plan comes from it.
  const start = regionInputStates(states, p, p.oneBox ? oneBoxStart : 'Units');
  return {
    Comment: `handsoff region rollout of ${p.name}: ${p.oneBox ? 'one-box, bake, then ' : ''}each unit in turn`,
    StartAt: start,
    States: states,
  };
};
