/**
 * The bench's counts, from the outside: per-change figures add up to the run's closing
 * `simulation.finished` stats, metering changes nothing in the stream, and the work grows
 * linearly with pipelines (counts, never time).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import type { ResolvedPipeline } from '../../core/model.ts';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { simulate, type SimScenario } from '../../sim/engine.ts';
import { attribute, SHARED } from '../../sim/bench/attribute.ts';
import { meteredRun, type MeteredRun } from '../../sim/bench/run.ts';
import { benchPipelines, oneChangeEach } from '../../sim/bench/scaling.ts';
import { SMALL_PIPELINE } from './cli-harness.ts';

const START = Date.parse('2026-11-30T08:00:00Z');
/** Not a time limit on the work: room for whole simulator runs on a machine under load. */
const LOADED_MACHINE_MS = 600_000;

const small = (): ResolvedPipeline => {
  const v = validatePipeline(JSON.parse(readFileSync(SMALL_PIPELINE, 'utf8')), SMALL_PIPELINE, { catalog: REGION_CATALOG });
  if (!v.ok) throw new Error('fixture invalid');
  return v.pipeline;
};

describe('per change figures of a run with a healthy and a failing change', () => {
  let p: ResolvedPipeline;
  let scenario: SimScenario;
  let run: MeteredRun;
  let figures: ReturnType<typeof attribute>;
  let finished: HandsoffEvent;
  beforeAll(async () => {
    p = small();
    const wave1 = p.waves[0]!.regions[0]!.region;
    scenario = {
      start: START,
      until: START + 10 * 86_400_000,
      changes: [
        { id: 'good', pipeline: p.name, at: START + 3_600_000, author: 'alice', approvedBy: ['bob'], behavior: { kind: 'healthy' } },
        { id: 'bad', pipeline: p.name, at: START + 5 * 3_600_000, author: 'carol', approvedBy: ['bob'], behavior: { kind: 'faults', rate: 0.3, regions: [wave1] } },
      ],
      events: [],
    };
    run = await meteredRun([p], scenario);
    figures = attribute(run);
    finished = run.events.find((e) => e.type === 'simulation.finished')!;
  }, LOADED_MACHINE_MS);

  it('adds up to the closing stats: transitions, invocations, DynamoDB requests, largest history', () => {
    const stats = finished.stats as Record<string, number>;
    const parts = [...Object.values(figures.changes), figures.shared];
    expect(parts.reduce((n, f) => n + f.transitions, 0)).toBe(stats.transitions);
    expect(parts.reduce((n, f) => n + f.invocations, 0)).toBe(stats.invocations);
    expect(parts.reduce((n, f) => n + f.dynamodbRequests, 0)).toBe(stats.dynamodbRequests);
    expect(Math.max(...parts.map((f) => f.largestHistory))).toBe(stats.largestHistory);
    expect(figures.total).toMatchObject({ transitions: stats.transitions, invocations: stats.invocations, dynamodbRequests: stats.dynamodbRequests, largestHistory: stats.largestHistory });
  });

  it('gives each change its own work, and the reconciler to the shared part', () => {
    expect(run.result.changes).toMatchObject({ good: { status: 'succeeded' }, bad: { status: 'failed' } });
    const { good, bad } = figures.changes;
    expect(good!.invocations).toBeGreaterThan(bad!.invocations);
    expect(bad!.invocations).toBeGreaterThan(0);
    expect(good!.cost.total).toBeGreaterThan(bad!.cost.total);
    const reconciles = run.invocations.filter((i) => i.handler === 'reconcile').length;
    expect(reconciles).toBeGreaterThan(0);
    expect(figures.shared.invocations).toBeGreaterThanOrEqual(reconciles);
    expect(Object.keys(figures.changes)).not.toContain(SHARED);
    // The alarms are the shared part's, the GetMetricData of the bakes the changes'.
    expect(figures.shared.usage.alarmMetricMonths).toBeGreaterThan(0);
    expect(good!.usage.alarmMetricMonths).toBe(0);
    expect(good!.usage.schedulerInvocations).toBeGreaterThan(0);
  });

  it('prices CodePipeline for the same policy above the bill of the change', () => {
    const cp = figures.changes.good!.codePipeline!;
    expect(cp.bake).toBeGreaterThan(0);
    expect(cp.deploy).toBeGreaterThan(0);
    expect(cp.cost).toBeGreaterThan(figures.changes.good!.cost.total);
  });

  it('changes nothing in the stream: the same run unmetered gives the same events', async () => {
    const plain: HandsoffEvent[] = [];
    await simulate({ pipelines: [p], scenario, onEvent: (e) => plain.push(e) });
    expect(plain.map((e) => JSON.stringify(e))).toEqual(run.events.map((e) => JSON.stringify(e)));
  }, LOADED_MACHINE_MS);
});

describe('work grows linearly with pipelines', () => {
  let one: ReturnType<typeof attribute>;
  let two: ReturnType<typeof attribute>;
  beforeAll(async () => {
    const runOf = async (n: number) => {
      const ps = benchPipelines(n, 5);
      return attribute(await meteredRun(ps, oneChangeEach(ps)));
    };
    one = await runOf(1);
    two = await runOf(2);
  }, LOADED_MACHINE_MS);

  it('two pipelines, one change each, cost about twice one: per change the same work', () => {
    expect(Object.keys(two.changes)).toHaveLength(2);
    const [a, b] = Object.values(two.changes);
    const solo = Object.values(one.changes)[0]!;
    for (const f of [a!, b!]) {
      expect(f.transitions).toBe(solo.transitions);
      expect(f.invocations / solo.invocations).toBeGreaterThan(0.9);
      expect(f.invocations / solo.invocations).toBeLessThan(1.1);
      expect(f.dynamodbRequests / solo.dynamodbRequests).toBeGreaterThan(0.9);
      expect(f.dynamodbRequests / solo.dynamodbRequests).toBeLessThan(1.1);
    }
    const changesCost = (x: typeof one) => Object.values(x.changes).reduce((n, f) => n + f.cost.total, 0);
    expect(changesCost(two) / changesCost(one)).toBeGreaterThan(1.8);
    expect(changesCost(two) / changesCost(one)).toBeLessThan(2.2);
    // The standing alarms: twice the pipelines' alarm metrics, the same length of run.
    expect(two.shared.usage.alarmMetricMonths / one.shared.usage.alarmMetricMonths).toBeGreaterThan(1.8);
    expect(two.shared.usage.alarmMetricMonths / one.shared.usage.alarmMetricMonths).toBeLessThan(2.2);
  });
});
