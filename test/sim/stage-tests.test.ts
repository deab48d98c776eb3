/**
 * The pre-production stages' suites (docs/tests.md) through `handsoff simulate --json`, one
 * shared run of five pipelines, each change alone in its own pipeline: a healthy change passes
 * every stage's suite (codebuild and lambda runners), a failing beta suite stops the change in
 * beta, a failing zeta suite stops it in zeta; each stage's suite runs after its deployment and
 * before its bake, and a failed one rolls the stage (and the stages before it) back.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { semanticProblems } from '../../sim/scenario-checks.ts';
import { describeEvent } from '../../sim/timeline.ts';
import { ms, ofType, reviewed, simulateJson, summary, writeJson } from './cli-harness.ts';

const base = {
  regions: ['us-east-1', 'eu-west-1', 'sa-east-1'],
  hostsPerUnit: 2,
  bake: { oneBox: 'PT1H', firstWave: 'PT12H', laterWaves: 'PT2H', unit: 'PT30M', minRequests: 100 },
};
const withZeta = { preProd: ['alpha', 'beta', 'gamma', 'zeta'] };
const lambdaRunner = { tests: { runner: 'lambda', function: 'payments-integration-tests' } };

const PIPELINES = {
  ok: { name: 'orders-api', service: 'OrdersApi', team: 'orders', ...base, ...withZeta },
  beta: { name: 'carts-api', service: 'CartsApi', team: 'carts', ...base },
  zeta: { name: 'ledger-api', service: 'LedgerApi', team: 'ledger', ...base, ...withZeta },
  lambdaOk: { name: 'payments-api', service: 'PaymentsApi', team: 'payments', ...base, ...lambdaRunner },
  lambdaBeta: { name: 'refunds-api', service: 'RefundsApi', team: 'refunds', ...base, tests: { runner: 'lambda', function: 'refunds-integration-tests' } },
};

const stagesOf = (events: HandsoffEvent[], type: string, change: string): string[] => ofType(events, type, change).map((e) => String(e.stage));
const deployedStages = (events: HandsoffEvent[], change: string): string[] => [...new Set(stagesOf(events, 'deployment.started', change))];

let events: HandsoffEvent[];
beforeAll(async () => {
  const files = Object.fromEntries(Object.entries(PIPELINES).map(([k, p]) => [k, writeJson(`${p.name}.json`, p)]));
  events = await simulateJson(
    {
      start: '2026-11-30T08:00:00Z',
      until: '2026-11-30T20:00:00Z',
      changes: [
        { id: 'ok1', pipeline: PIPELINES.ok.name, at: '2026-11-30T09:00:00Z', ...reviewed },
        { id: 'beta1', pipeline: PIPELINES.beta.name, at: '2026-11-30T09:00:00Z', ...reviewed, behavior: { kind: 'test-failure', stages: ['beta'] } },
        { id: 'zeta1', pipeline: PIPELINES.zeta.name, at: '2026-11-30T09:00:00Z', ...reviewed, behavior: { kind: 'test-failure', stages: ['zeta'] } },
        { id: 'lam1', pipeline: PIPELINES.lambdaOk.name, at: '2026-11-30T09:00:00Z', ...reviewed },
        { id: 'lam2', pipeline: PIPELINES.lambdaBeta.name, at: '2026-11-30T09:00:00Z', ...reviewed, behavior: { kind: 'test-failure', stages: ['beta'] } },
      ],
    },
    Object.values(files),
  );
});

describe('a healthy change', () => {
  it('passes the suite of every pre-production stage, zeta the backward-compatibility one', () => {
    const passed = ofType(events, 'tests.passed', 'ok1');
    expect(passed.map((e) => [e.stage, e.suite, e.runner])).toEqual([
      ['alpha', 'integration', 'codebuild'],
      ['beta', 'integration', 'codebuild'],
      ['gamma', 'integration', 'codebuild'],
      ['zeta', 'backward-compatibility', 'codebuild'],
    ]);
    expect(passed.every((e) => e.region === 'us-west-2' && e.pipeline === PIPELINES.ok.name)).toBe(true);
    expect(ofType(events, 'tests.failed', 'ok1')).toEqual([]);
  });

  it('runs each suite after the stage deployed and before its bake, for some virtual minutes', () => {
    for (const stage of ['alpha', 'beta', 'gamma', 'zeta']) {
      // The stage's fleet (gamma deploys and bakes its one-box first).
      const at = (type: string) => ms(ofType(events, type, 'ok1').find((e) => e.stage === stage && e.target !== 'onebox')!);
      expect(at('deployment.succeeded')).toBeLessThan(at('tests.passed'));
      expect(at('tests.passed') - at('deployment.succeeded')).toBeGreaterThanOrEqual(60_000);
      expect(at('tests.passed')).toBeLessThanOrEqual(at('bake.started'));
    }
  });

  it('goes on to production', () => {
    expect(stagesOf(events, 'stage.started', 'ok1')).toContain('wave-1');
  });
});

describe('a change whose beta suite fails', () => {
  it('prints tests.failed for beta with the reason, after alpha passed', () => {
    expect(stagesOf(events, 'tests.passed', 'beta1')).toEqual(['alpha']);
    const [failed, ...more] = ofType(events, 'tests.failed', 'beta1');
    expect(more).toEqual([]);
    expect(failed).toMatchObject({ stage: 'beta', suite: 'integration', region: 'us-west-2', runner: 'codebuild' });
    // What the build said: its phase and the tests that failed, against the stage's own endpoint.
    expect(String(failed!.reason)).toMatch(/the test build failed in its BUILD phase: .*3 of 40 integration tests failed against https:\/\/beta\.us-west-2\.carts-api\.internal.* \(carts-api-tests:\S+\)$/);
  });

  it('fails the change in beta, after rolling back beta and alpha', () => {
    const [failed] = ofType(events, 'change.failed', 'beta1');
    expect(failed).toMatchObject({ stage: 'beta', region: 'us-west-2', reason: 'the integration suite failed in beta' });
    const rollbacks = ofType(events, 'rollback.completed', 'beta1');
    expect(rollbacks.map((e) => e.stage).sort()).toEqual(['alpha', 'beta']);
    expect(rollbacks.every((e) => ms(e) <= ms(failed!))).toBe(true);
    expect(summary(events).beta1).toMatchObject({ status: 'failed', boxesAtEnd: 0, regionsReached: [] });
  });

  it('deploys nothing to gamma or production, and never bakes beta', () => {
    expect(deployedStages(events, 'beta1')).toEqual(['alpha', 'beta']);
    expect(stagesOf(events, 'bake.started', 'beta1')).toEqual(['alpha']);
    expect(stagesOf(events, 'stage.started', 'beta1')).not.toContain('gamma');
  });
});

describe('a change whose zeta suite fails', () => {
  it('passes alpha, beta and gamma, then fails the backward-compatibility suite in zeta', () => {
    expect(stagesOf(events, 'tests.passed', 'zeta1')).toEqual(['alpha', 'beta', 'gamma']);
    expect(ofType(events, 'tests.failed', 'zeta1')).toEqual([
      expect.objectContaining({ stage: 'zeta', suite: 'backward-compatibility', reason: expect.stringContaining('backward-compatibility tests failed against https://zeta.us-west-2.ledger-api.internal') }),
    ]);
  });

  it('stops the change in zeta: every pre-production stage rolled back, no production region reached', () => {
    expect(ofType(events, 'change.failed', 'zeta1')[0]).toMatchObject({ stage: 'zeta', reason: 'the backward-compatibility suite failed in zeta' });
    expect(ofType(events, 'rollback.completed', 'zeta1').map((e) => `${e.stage}/${e.target}`).sort()).toEqual(['alpha/fleet', 'beta/fleet', 'gamma/fleet', 'gamma/onebox', 'zeta/fleet']);
    expect(deployedStages(events, 'zeta1')).toEqual(['alpha', 'beta', 'gamma', 'zeta']);
    expect(summary(events).zeta1).toMatchObject({ status: 'failed', boxesAtEnd: 0, regionsReached: [] });
  });
});

describe('the lambda runner', () => {
  it("passes a healthy change through the team's function in every stage", () => {
    expect(ofType(events, 'tests.passed', 'lam1').map((e) => [e.stage, e.suite, e.runner])).toEqual([
      ['alpha', 'integration', 'lambda'],
      ['beta', 'integration', 'lambda'],
      ['gamma', 'integration', 'lambda'],
    ]);
    expect(stagesOf(events, 'stage.started', 'lam1')).toContain('wave-1');
  });

  it("fails a change in beta on the function's passed: false, with its summary, and rolls back as the codebuild runner does", () => {
    expect(ofType(events, 'tests.failed', 'lam2')).toEqual([
      expect.objectContaining({
        stage: 'beta',
        suite: 'integration',
        runner: 'lambda',
        reason: 'the test function answered passed: false: 3 of 40 integration tests failed against https://beta.us-west-2.refunds-api.internal',
      }),
    ]);
    expect(ofType(events, 'change.failed', 'lam2')[0]).toMatchObject({ stage: 'beta', reason: 'the integration suite failed in beta' });
    expect(ofType(events, 'rollback.completed', 'lam2').map((e) => e.stage).sort()).toEqual(['alpha', 'beta']);
    expect(deployedStages(events, 'lam2')).toEqual(['alpha', 'beta']);
    expect(summary(events).lam2).toMatchObject({ status: 'failed', boxesAtEnd: 0 });
  });
});

describe('the timeline', () => {
  it('shows each suite that passed or failed, with the reason', () => {
    const lines = [...ofType(events, 'tests.passed', 'beta1'), ...ofType(events, 'tests.failed', 'beta1')].map(describeEvent);
    expect(lines).toEqual([
      expect.stringMatching(/beta1\s+integration tests passed at alpha \/ us-west-2$/),
      expect.stringMatching(/beta1\s+integration tests FAILED at beta \/ us-west-2: the test build failed in its BUILD phase: /),
    ]);
  });
});

describe('a scenario that fails a stage the pipeline lacks', () => {
  it('is refused, naming the stage, the pipeline\'s stages and the fix', () => {
    const v = validatePipeline(PIPELINES.beta, 'p.json', { catalog: REGION_CATALOG });
    if (!v.ok) throw new Error('the fixture pipeline does not validate');
    const raw = {
      start: '2026-11-30T08:00:00Z',
      changes: [{ id: 'x1', at: '2026-11-30T09:00:00Z', ...reviewed, behavior: { kind: 'test-failure', stages: ['beta', 'zeta'] } }],
    };
    expect(semanticProblems(raw, 's.json', [v.pipeline])).toEqual([
      {
        file: 's.json',
        path: 'changes[0].behavior.stages[1]',
        message: expect.stringMatching(/^stage 'zeta' is not a pre-production stage of pipeline 'carts-api', so its suite never runs; its stages are 'alpha', 'beta', 'gamma' \(add 'zeta'/),
      },
    ]);
  });
});
