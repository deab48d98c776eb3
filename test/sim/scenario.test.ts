import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedPipeline } from '../../core/model.ts';
import { loadScenarioFile } from '../../cli/load.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { formatProblem, resolvePipeline, type Problem } from '../../core/pipeline/resolve.ts';
import { appliesTo } from '../../sim/world/serve.ts';
import type { Behavior, DeploymentGroup } from '../../sim/world/model.ts';
import {
  defaultScenario,
  validateScenario,
} from '../../sim/scenario.ts';

const api: ResolvedPipeline = resolvePipeline({
  name: 'storefront-api',
  service: 'StorefrontApi',
  team: 'storefront',
  regions: ['sa-east-1', 'us-east-1', 'eu-west-1'],
}, 'api.json', { catalog: REGION_CATALOG });
const checkout: ResolvedPipeline = resolvePipeline({
  name: 'checkout-service',
  service: 'CheckoutService',
  team: 'storefront',
  regions: ['us-east-1', 'ap-northeast-1'],
  preProd: ['beta', 'gamma'],
}, 'checkout.json', { catalog: REGION_CATALOG });

const START = '2026-11-30T08:00:00Z';
const change = (over: Record<string, unknown> = {}) => ({ id: 'c1', at: '2026-11-30T09:00:00Z', author: 'alice', ...over });

const problemsOf = (input: unknown, pipelines = [api]): Problem[] => {
  const result = validateScenario(input, 's.json', pipelines);
  if (result.ok) throw new Error('expected problems, the scenario validated');
  return result.problems;
};
const ok = (input: unknown, pipelines = [api]) => {
  const result = validateScenario(input, 's.json', pipelines);
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
  return result.scenario;
};

describe('validateScenario', () => {
  it('resolves times to epoch ms, durations to seconds and applies defaults', () => {
    // Act
    const s = ok({
      start: START,
      changes: [change({ behavior: { kind: 'faults', rate: 0.2, regions: ['sa-east-1', 'gamma:us-west-2'], after: 'PT5H' } })],
      events: [{ at: '2026-11-30T10:00:00+01:00', kind: 'team-alarm', region: 'us-east-1', state: 'ALARM' }],
    });

    // Assess
    expect(s.startMs).toBe(Date.parse(START));
    expect(s.untilMs).toBe(Date.parse(START) + 21 * 86_400_000);
    expect(s.approvers).toEqual([]);
    expect(s.changes).toEqual([
      {
        id: 'c1',
        atMs: Date.parse('2026-11-30T09:00:00Z'),
        author: 'alice',
        approvedBy: [],
        pipeline: 'storefront-api',
        behavior: { kind: 'faults', rate: 0.2, regions: ['sa-east-1', 'gamma:us-west-2'], afterSeconds: 18000 },
      },
    ]);
    expect(s.events).toEqual([
      { kind: 'team-alarm', atMs: Date.parse('2026-11-30T09:00:00Z'), region: 'us-east-1', state: 'ALARM', team: 'storefront' },
    ]);
  });

  it('resolves every event kind', () => {
    const s = ok({
      start: START,
      approvers: ['pat'],
      changes: [change()],
      events: [
        { at: '2026-11-30T10:00:00Z', kind: 'company-event', state: 'ALARM' },
        { at: '2026-11-30T10:05:00Z', kind: 'override', blocker: 'company-event', region: 'us-east-1', by: 'dave', reason: 'fix', expires: '2026-11-30T12:00:00Z' },
        { at: '2026-11-30T10:10:00Z', kind: 'emergency-request', change: 'c1', by: 'alice', reason: 'outage' },
        { at: '2026-11-30T10:20:00Z', kind: 'emergency-decision', change: 'c1', by: 'pat', decision: 'approve' },
        { at: '2026-11-30T10:30:00Z', kind: 'holiday', date: '2026-12-03' },
      ],
    });
    expect(s.events.map((e) => e.kind)).toEqual(['company-event', 'override', 'emergency-request', 'emergency-decision', 'holiday']);
    expect(s.events[1]).toMatchObject({ expiresMs: Date.parse('2026-11-30T12:00:00Z') });
  });

  it('reports every problem at once with its field path', () => {
    // Prepare
    const input = {
      start: START,
      until: '2026-12-01T08:00:00Z',
      changes: [
        change({ behavior: { kind: 'faults', rate: 1.5 } }),
        change({ at: '2026-12-02T09:00:00Z' }),
        { id: 'c3', at: '2026-11-30T09:00:00Z', author: 'bob', behavior: { kind: 'crash', regions: ['ap-south-1', 'zeta:us-west-2'] } },
      ],
      events: [
        { at: '2026-11-30T10:00:00Z', kind: 'team-alarm', region: 'us-east-7', state: 'ALARM' },
        { at: '2026-11-30T10:00:00Z', kind: 'emergency-decision', change: 'c9', by: 'pat', decision: 'approve' },
        { at: '2026-11-30T10:00:00Z', kind: 'reboot' },
      ],
      extra: true,
    };

    // Act
    const problems = problemsOf(input);

    // Assess
    expect(problems.map((p) => p.path).sort()).toEqual(
      [
        'changes[0].behavior.rate',
        'changes[1].at',
        'changes[1].id',
        'changes[2].behavior.regions[0]',
        'changes[2].behavior.regions[1]',
        'events[0].region',
        'events[1].change',
        'events[2].kind',
        'extra',
      ].sort(),
    );
    expect(problems.every((p) => p.file === 's.json')).toBe(true);
    const message = (path: string) => problems.find((p) => p.path === path)!.message;
    expect(message('changes[1].id')).toMatch(/'c1' is used twice/);
    expect(message('changes[1].at')).toMatch(/outside the simulated time/);
    expect(message('changes[2].behavior.regions[0]')).toMatch(/'ap-south-1' is not a production region of pipeline 'storefront-api'/);
    expect(message('changes[2].behavior.regions[1]')).toMatch(/'zeta:us-west-2' is not a pre-production stage.*'gamma:us-west-2'/);
    expect(message('events[1].change')).toMatch(/'c9', which is not a change of this scenario/);
  });

  it('requires and checks the pipeline of each change when several pipelines run', () => {
    const problems = problemsOf(
      { start: START, changes: [change(), change({ id: 'c2', pipeline: 'cart' }), change({ id: 'c3', pipeline: 'checkout-service' })] },
      [api, checkout],
    );
    expect(problems.map((p) => [p.path, p.message])).toEqual([
      ['changes[0].pipeline', expect.stringMatching(/missing required field 'pipeline'.*'storefront-api', 'checkout-service'/)],
      ['changes[1].pipeline', expect.stringMatching(/names pipeline 'cart'/)],
    ]);
  });

  it("checks behavior regions against the change's own pipeline", () => {
    const problems = problemsOf(
      { start: START, changes: [change({ pipeline: 'checkout-service', behavior: { kind: 'crash', regions: ['sa-east-1', 'alpha:us-west-2', 'beta:us-west-2'] } })] },
      [api, checkout],
    );
    expect(problems.map((p) => p.path)).toEqual(['changes[0].behavior.regions[0]', 'changes[0].behavior.regions[1]']);
  });

  it('rejects times without a zone and unknown behavior fields', () => {
    const problems = problemsOf({ start: '2026-11-30T08:00:00', changes: [change({ behavior: { kind: 'healthy', rate: 1 } })] });
    expect(problems.map((p) => p.path)).toEqual(['start', 'changes[0].behavior.rate']);
    expect(problems[0]!.message).toMatch(/with a zone/);
    expect(problems[1]!.message).toMatch(/unknown field 'rate'; known fields here: kind/);
  });

  it('rejects an override that expires before it applies, and until before start', () => {
    const problems = problemsOf({
      start: START,
      until: '2026-11-29T00:00:00Z',
      events: [],
    });
    expect(problems.map((p) => p.path)).toEqual(['until']);
    const override = problemsOf({
      start: START,
      events: [{ at: '2026-11-30T10:00:00Z', kind: 'override', blocker: 'team-alarm', region: 'us-east-1', by: 'd', reason: 'r', expires: '2026-11-30T09:00:00Z' }],
    });
    expect(override.map((p) => p.path)).toEqual(['events[0].expires']);
  });
});

describe("the world's appliesTo: where a behaviour acts on the boxes", () => {
  const group = (stage: string, region: string): DeploymentGroup =>
    ({ stage, region, preProd: !stage.startsWith('wave-'), location: stage.startsWith('wave-') ? region : `${stage}:${region}` }) as unknown as DeploymentGroup;
  it('tells production regions from pre-production stage:region entries', () => {
    const behavior: Behavior = { kind: 'faults', rate: 0.1, regions: ['sa-east-1', 'gamma:us-west-2'], afterSeconds: 0 };
    expect(appliesTo(behavior, group('wave-1', 'sa-east-1'))).toBe(true);
    expect(appliesTo(behavior, group('gamma', 'us-west-2'))).toBe(true);
    expect(appliesTo(behavior, group('beta', 'us-west-2'))).toBe(false);
    expect(appliesTo(behavior, group('wave-2', 'us-east-1'))).toBe(false);
    expect(appliesTo({ kind: 'crash' }, group('alpha', 'us-west-2'))).toBe(true);
  });

  it('never lets a healthy change, a build failure or a test failure act on boxes', () => {
    expect(appliesTo({ kind: 'healthy' }, group('wave-1', 'sa-east-1'))).toBe(false);
    expect(appliesTo({ kind: 'build-failure' }, group('alpha', 'us-west-2'))).toBe(false);
    expect(appliesTo({ kind: 'test-failure', stages: ['beta'] }, group('beta', 'us-west-2'))).toBe(false);
  });
});

describe('defaultScenario', () => {
  it('merges a healthy change, then a change failing only in the wave-1 region', () => {
    // Act
    const s = defaultScenario(api);

    // Assess
    expect(new Date(s.startMs).toISOString()).toBe('2026-11-30T08:00:00.000Z');
    expect(new Date(s.startMs).getUTCDay()).toBe(1); // Monday
    expect(s.changes.map((c) => [c.id, new Date(c.atMs).toISOString(), c.approvedBy])).toEqual([
      ['c1', '2026-11-30T09:00:00.000Z', ['bob']],
      ['c2', '2026-11-30T13:00:00.000Z', ['bob']],
    ]);
    expect(s.changes[0]!.behavior).toEqual({ kind: 'healthy' });
    expect(s.changes[1]!.behavior).toEqual({ kind: 'faults', rate: 0.3, regions: ['sa-east-1'], afterSeconds: 0 });
  });
});

describe('loadScenarioFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'handsoff-scenario-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the example scenario against the example pipeline', async () => {
    const { loadPipelineFile } = await import('../../cli/load.ts');
    const pipeline = await loadPipelineFile('examples/pipeline.json');
    if (!pipeline.ok) throw new Error('example pipeline invalid');
    const result = await loadScenarioFile('examples/scenario.json', [pipeline.pipeline]);
    expect(result.ok && result.scenario.changes.map((c) => c.behavior.kind)).toEqual(['healthy', 'faults']);
  });

  it('reports a JSON syntax error naming the file', async () => {
    const path = join(dir, 'broken.json');
    await writeFile(path, '{ "start": ');
    const result = await loadScenarioFile(path, [api]);
    expect(!result.ok && result.problems.map((p) => [p.file, p.path])).toEqual([[path, '']]);
  });
});
