/**
 * Gamma deploys one-box first (docs/design.md), through `handsoff simulate --json`, one shared
 * run of three pipelines whose pre-production region is also a production region: a healthy
 * change deploys gamma's one-box and bakes it before gamma's fleet; a change faulting only in
 * `gamma:us-west-2` is caught at the gamma one-box, rolled back and failed in gamma, with fewer
 * failed requests than the same change where gamma has no one-box (`oneBox: false`), and
 * reaches no production region.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import { ms, ofType, reviewed, simulateJson, summary, writeJson } from './cli-harness.ts';

const base = {
  regions: ['us-east-1', 'us-west-2', 'sa-east-1'],
  preProd: ['alpha', 'beta', 'gamma'],
  preProdRegion: 'us-west-2',
  hostsPerUnit: 3,
  bake: { oneBox: 'PT1H', firstWave: 'PT12H', laterWaves: 'PT2H', unit: 'PT30M', minRequests: 100 },
};
const PIPELINES = {
  healthy: { name: 'orders-api', service: 'OrdersApi', team: 'orders', ...base },
  faulty: { name: 'carts-api', service: 'CartsApi', team: 'carts', ...base },
  noOneBox: { name: 'ledger-api', service: 'LedgerApi', team: 'ledger', ...base, oneBox: false },
};
const faultsInGamma = { kind: 'faults', rate: 0.2, regions: ['gamma:us-west-2'] };

const inGamma = (events: HandsoffEvent[], type: string, change: string): HandsoffEvent[] => ofType(events, type, change).filter((e) => e.stage === 'gamma');

let events: HandsoffEvent[];
beforeAll(async () => {
  const files = Object.values(PIPELINES).map((p) => writeJson(`${p.name}.json`, p));
  events = await simulateJson(
    {
      start: '2026-11-30T08:00:00Z',
      until: '2026-11-30T20:00:00Z',
      changes: [
        { id: 'ok1', pipeline: PIPELINES.healthy.name, at: '2026-11-30T09:00:00Z', ...reviewed },
        { id: 'bad1', pipeline: PIPELINES.faulty.name, at: '2026-11-30T09:00:00Z', ...reviewed, behavior: faultsInGamma },
        { id: 'bad2', pipeline: PIPELINES.noOneBox.name, at: '2026-11-30T09:00:00Z', ...reviewed, behavior: faultsInGamma },
      ],
    },
    files,
  );
});

describe('a healthy change in gamma', () => {
  it("deploys gamma's one-box first, bakes it for the one-box bake, then the fleet", () => {
    const started = inGamma(events, 'deployment.started', 'ok1');
    expect(started.map((e) => [e.target, e.region])).toEqual([
      ['onebox', 'us-west-2'],
      ['fleet', 'us-west-2'],
    ]);
    const bakes = inGamma(events, 'bake.started', 'ok1');
    expect(bakes.map((e) => e.target)).toEqual(['onebox', 'fleet']);
    const oneBoxBakeEnd = inGamma(events, 'bake.completed', 'ok1').find((e) => e.target === 'onebox')!;
    expect(ms(oneBoxBakeEnd) - ms(bakes[0]!)).toBeGreaterThanOrEqual(3_600_000);
    expect(ms(oneBoxBakeEnd)).toBeLessThanOrEqual(ms(started[1]!));
  });

  it('runs the suite after the fleet, and goes on to production', () => {
    const fleetDone = inGamma(events, 'deployment.succeeded', 'ok1').find((e) => e.target === 'fleet')!;
    expect(ms(inGamma(events, 'tests.passed', 'ok1')[0]!)).toBeGreaterThanOrEqual(ms(fleetDone));
    expect(ofType(events, 'stage.completed', 'ok1').map((e) => e.stage)).toContain('gamma');
    expect(ofType(events, 'stage.started', 'ok1').map((e) => e.stage)).toContain('wave-1');
  });

  it("is not deployed by the production one-box group of the same region, nor the gamma one-box's host by gamma's fleet group", () => {
    // The region is both the pre-production region and a production region: each group took its own hosts.
    const groups = ofType(events, 'world.deployment').filter((e) => e.pipeline === PIPELINES.healthy.name && e.stage === 'gamma');
    expect(new Set(groups.map((e) => e.deploymentGroup))).toEqual(new Set(['orders-api-gamma-onebox', 'orders-api-gamma']));
  });
});

describe('a change faulting only in gamma', () => {
  it('is caught by a gamma one-box alarm while the one-box bakes', () => {
    const triggered = ofType(events, 'alarm.triggered', 'bad1');
    expect(triggered.length).toBeGreaterThan(0);
    expect(triggered[0]).toMatchObject({ stage: 'gamma', target: 'onebox', region: 'us-west-2' });
    const oneBoxBake = inGamma(events, 'bake.started', 'bad1').find((e) => e.target === 'onebox')!;
    expect(ms(triggered[0]!)).toBeGreaterThanOrEqual(ms(oneBoxBake));
    // The world's record of that alarm names the same scope.
    const record = ofType(events, 'world.alarm').find((e) => e.alarm === triggered[0]!.alarm && e.state === 'ALARM')!;
    expect(record).toMatchObject({ pipeline: PIPELINES.faulty.name, stage: 'gamma', target: 'onebox', region: 'us-west-2' });
    expect(String(record.alarm)).toMatch(/^carts-api-gamma-onebox-/);
    // Only the one-box had the change: gamma's fleet was never deployed.
    expect(inGamma(events, 'deployment.started', 'bad1').map((e) => e.target)).toEqual(['onebox']);
  });

  it('rolls the one-box back, fails in gamma and reaches no production region', () => {
    expect(inGamma(events, 'rollback.completed', 'bad1').map((e) => e.target)).toContain('onebox');
    const failed = ofType(events, 'change.failed', 'bad1');
    expect(failed.map((e) => e.stage)).toEqual(['gamma']);
    expect(ofType(events, 'deployment.started', 'bad1').every((e) => !String(e.stage).startsWith('wave-'))).toBe(true);
    expect(summary(events).bad1).toMatchObject({ status: 'failed', regionsReached: [], boxesAtEnd: 0 });
  });

  it('fails fewer requests than where gamma has no one-box', () => {
    const s = summary(events);
    expect(s.bad2).toMatchObject({ status: 'failed', regionsReached: [], boxesAtEnd: 0 });
    expect(ofType(events, 'change.failed', 'bad2').map((e) => e.stage)).toEqual(['gamma']);
    expect(s.bad1!.failedRequests).toBeGreaterThan(0);
    expect(s.bad1!.failedRequests).toBeLessThan(s.bad2!.failedRequests);
  });
});

describe('a pipeline with oneBox: false', () => {
  it('keeps gamma without a one-box: only the fleet deploys there', () => {
    expect(inGamma(events, 'deployment.started', 'bad2').map((e) => e.target)).toEqual(['fleet']);
    expect(ofType(events, 'world.deployment').some((e) => e.pipeline === PIPELINES.noOneBox.name && e.target === 'onebox')).toBe(false);
  });
});
