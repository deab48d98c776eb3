/** The bench's cost model and CodePipeline comparison: known counts give known dollars. */
import { describe, expect, it } from 'vitest';
import type { AlarmDef } from '../../core/alarms/index.ts';
import type { HandsoffEvent } from '../../core/events.ts';
import { actionMinutes } from '../../sim/bench/codepipeline.ts';
import { changeOfBakeId } from '../../sim/bench/attribute.ts';
import { alarmMetrics, alarmMonths, billedMs, codePipelineCost, costOf, emptyUsage, gbSeconds } from '../../sim/bench/cost.ts';
import { bakeIdOf } from '../../lambdas/shared/bakes.ts';

describe('the cost model, at us-east-1 list prices', () => {
  it('prices each service from its own count', () => {
    const c = costOf({
      ...emptyUsage(),
      transitions: 1_000_000, // $25 per million
      invocations: 1_000_000, // $0.20 per million requests
      lambdaGbSeconds: 100_000, // Arm: $0.0000133334 per GB-s
      readUnits: 1_000_000, // $0.125 per million RRU
      writeUnits: 1_000_000, // $0.625 per million WRU
      schedulerInvocations: 1_000_000, // $1 per million
      events: 1_000_000, // $1 per million
      metricsRequested: 1_000_000, // $0.01 per 1,000
      alarmMetricMonths: 10, // $0.10 each
      compositeAlarmMonths: 2, // $0.50 each
    });
    expect(c.stepFunctions).toBeCloseTo(25, 9);
    expect(c.lambda).toBeCloseTo(0.2 + 1.33334, 9);
    expect(c.dynamodb).toBeCloseTo(0.75, 9);
    expect(c.scheduler).toBeCloseTo(1, 9);
    expect(c.eventbridge).toBeCloseTo(1, 9);
    expect(c.cloudwatch).toBeCloseTo(10 + 1 + 1, 9);
    expect(c.total).toBeCloseTo(25 + 1.53334 + 0.75 + 1 + 1 + 12, 9);
  });

  it('prices x86 duration at its own rate', () => {
    expect(costOf({ ...emptyUsage(), lambdaGbSeconds: 1_000_000 }, 'x86_64').lambda).toBeCloseTo(16.6667, 6);
  });

  it('bills a 256 MB invocation by its modelled duration', () => {
    expect(billedMs(0)).toBe(25);
    expect(billedMs(3)).toBe(55);
    expect(gbSeconds(1000, 256)).toBe(0.25);
  });

  it('bills an alarm by its metrics: one, the metrics of its expression, three for a band; a composite by itself', () => {
    const metric = { kind: 'metric' } as AlarmDef;
    const anomaly = { kind: 'anomaly' } as AlarmDef;
    const stat = { namespace: 'n', metric: 'm', dimensions: {}, statistic: 'Sum', periodSeconds: 60 };
    const math = { kind: 'math', math: { expression: 'a/b', using: { a: stat, b: { expression: 'c*2', using: { c: stat } } } } } as unknown as AlarmDef;
    const composite = { kind: 'composite' } as AlarmDef;
    expect([metric, anomaly, math, composite].map(alarmMetrics)).toEqual([1, 3, 2, 0]);
    // 73 hours of a 730-hour month is a tenth of it; a started hour counts whole.
    const m = alarmMonths([metric, anomaly, math, composite], 72.5 * 3600);
    expect(m.alarmMetricMonths).toBeCloseTo(0.6, 9);
    expect(m.compositeAlarmMonths).toBeCloseTo(0.1, 9);
    expect(costOf({ ...emptyUsage(), ...m }).cloudwatch).toBeCloseTo(0.06 + 0.05, 9);
  });

  it('reads the change of a bake id as handlers write it', () => {
    expect(changeOfBakeId(bakeIdOf({ pipeline: 'p', change: 'c7', stage: 'wave-1', region: 'us-east-1', target: 'onebox' }))).toBe('c7');
  });
});

describe('CodePipeline V2 for the same policy', () => {
  const at = (minute: number, e: { type: string; [field: string]: unknown }): HandsoffEvent => ({ ...e, time: new Date(Date.UTC(2026, 10, 30, 9, minute)).toISOString() });
  const scope = { change: 'c1', stage: 'wave-1', region: 'us-east-1', target: 'onebox' as const };

  it('bills each deployment, bake and wait by the started minute, at $0.002 a minute', () => {
    const events = [
      at(0, { type: 'stage.started', change: 'c1', stage: 'source' }),
      at(0, { type: 'stage.completed', change: 'c1', stage: 'source' }), // 0 s: still a minute
      at(0, { type: 'blocked', ...scope, reason: 'time-window' }),
      at(30, { type: 'unblocked', ...scope, reason: 'time-window' }),
      at(30, { type: 'deployment.started', ...scope, deploymentId: 'd-1' }),
      at(36, { type: 'deployment.succeeded', ...scope, deploymentId: 'd-1' }),
      at(36, { type: 'bake.started', ...scope }),
      at(96, { type: 'bake.completed', ...scope }),
      at(96, { type: 'bake.started', change: 'c1', stage: 'wave-1' }), // the wave bake: still running when the run ends
    ];
    const m = actionMinutes(events, Date.UTC(2026, 10, 30, 11, 36, 30))['c1']!;
    expect(m).toEqual({ other: 1, wait: 30, deploy: 6, bake: 60 + 61, total: 1 + 30 + 6 + 121, actions: 5 });
    expect(codePipelineCost(m.total)).toBeCloseTo(0.316, 9);
  });

  it('ends a bake that an alarm cut short there, and bills the rollback as its own deployment', () => {
    const events = [
      at(0, { type: 'bake.started', ...scope }),
      at(10, { type: 'alarm.triggered', ...scope }),
      at(10, { type: 'rollback.started', ...scope }),
      at(13, { type: 'rollback.completed', ...scope, deploymentId: 'd-2' }),
      at(13, { type: 'change.failed', change: 'c1' }),
    ];
    expect(actionMinutes(events, Date.UTC(2026, 11, 1))['c1']).toEqual({ other: 0, wait: 0, deploy: 3, bake: 10, total: 13, actions: 2 });
  });
});
