/**
 * The state machines watch the alarm plan: every alarm a step names (deploys, bakes, holds,
 * wave bakes, pre-production stages) is an alarm the plan creates in that region, and each
 * production region's steps watch its one-box, unit and band checks and the team aggregate.
 */
import { describe, expect, it } from 'vitest';
import { pipelineAlarmPlan, regionStepAlarms } from '../../core/alarms/index.ts';
import { anomalyAlarmName, AnomalyMetric, oneBoxAlarmName, StandardAlarm, teamAggregateAlarmName, unitAnomalyAlarmName } from '../../core/naming.ts';
import { buildStateMachines } from '../../statemachines/index.ts';
import { loadPipelines } from '../infra/fixtures.ts';

/** Every `{region, name}` alarm reference in a definition. */
const alarmRefs = (node: unknown, out: Array<{ region: string; name: string }> = []): Array<{ region: string; name: string }> => {
  if (Array.isArray(node)) for (const x of node) alarmRefs(x, out);
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (typeof o.region === 'string' && typeof o.name === 'string' && Object.keys(o).length === 2) out.push({ region: o.region, name: o.name });
    for (const v of Object.values(o)) alarmRefs(v, out);
  }
  return out;
};

describe('the alarms the state machines watch', () => {
  it('are all in the alarm plan of their region', async () => {
    const { pipelines } = await loadPipelines();
    let checked = 0;
    for (const p of pipelines) {
      const defs = buildStateMachines(p);
      const refs = alarmRefs(defs);
      expect(refs.length).toBeGreaterThan(0);
      const planned = new Set(
        [...new Set([...p.waves.flatMap((w) => w.regions.map((r) => r.region)), p.preProdRegion])].flatMap((r) => pipelineAlarmPlan(p, r, pipelines).map((a) => `${a.region} ${a.name}`)),
      );
      const unknown = refs.filter((r) => !planned.has(`${r.region} ${r.name}`));
      expect(unknown, p.name).toEqual([]);
      checked += refs.length;
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('watch the one-box, the units, the fleet band and the team aggregate in every production region', async () => {
    const { pipelines } = await loadPipelines();
    const p = pipelines[0]!;
    const r = p.waves[0]!.regions[0]!;
    const watched = regionStepAlarms(p, r);
    expect(watched).toEqual(expect.arrayContaining([
      teamAggregateAlarmName(p.team, r.region),
      anomalyAlarmName(p.name, r.region, 'fleet', AnomalyMetric.REQUESTS),
      ...r.units.map((u) => unitAnomalyAlarmName(p.name, r.region, u)),
      ...(p.oneBox ? [oneBoxAlarmName(p.name, r.region, StandardAlarm.HEALTH), anomalyAlarmName(p.name, r.region, 'onebox', AnomalyMetric.LATENCY)] : []),
    ]));
    expect(new Set(watched).size).toBe(watched.length);
  });
});
