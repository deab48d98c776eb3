import { describe, expect, it } from 'vitest';
import { holidayItems, marshall, windowItems } from '../../infra/constructs/seed-items.ts';
import { PipelineValidationError, resolvePipelines, type ValidatePipeline } from '../../infra/stacks/pipelines.ts';
import { fixturePipelines } from './fixtures.ts';

describe('resolvePipelines', () => {
  it('reports every problem of every pipeline at once', () => {
    // Prepare
    const validate: ValidatePipeline = (input, source) =>
      (input as { bad?: number }).bad
        ? { ok: false, problems: Array.from({ length: (input as { bad: number }).bad }, (_, i) => ({ file: source, path: `waves.${i}`, message: 'wrong' })) }
        : { ok: true, pipeline: fixturePipelines[0]! };
    // Act
    const act = () => resolvePipelines([{ name: 'a', bad: 2 }, { name: 'b' }, { name: 'c', bad: 1 }], validate, (p) => `${p.file} ${p.path}: ${p.message}`, 'pipelines.ts');
    // Assess
    expect(act).toThrow(PipelineValidationError);
    try {
      act();
    } catch (e) {
      expect((e as PipelineValidationError).problems).toEqual(['pipelines.ts#a waves.0: wrong', 'pipelines.ts#a waves.1: wrong', 'pipelines.ts#c waves.0: wrong']);
    }
  });

  it('rejects two pipelines with the same name (names name AWS resources)', () => {
    const validate: ValidatePipeline = () => ({ ok: true, pipeline: fixturePipelines[0]! });
    expect(() => resolvePipelines([{}, {}], validate, String, 'x')).toThrow(/x: pipeline name 'orders' is also used by 'orders'; each pipeline needs its own name/);
  });
});

describe('seed items', () => {
  it('writes one window per production region in its resolved zone, and one item per holiday', () => {
    const p = fixturePipelines[0]!;
    expect(windowItems(p)).toEqual([
      { pk: 'orders', sk: 'eu-west-1', timeZone: 'Europe/Dublin', days: ['MON', 'TUE', 'WED', 'THU'], start: '09:00', end: '15:00' },
      { pk: 'orders', sk: 'us-east-1', timeZone: 'America/New_York', days: ['MON', 'TUE', 'WED', 'THU'], start: '09:00', end: '15:00' },
    ]);
    expect(holidayItems(p)).toEqual([
      { pk: 'orders', sk: '2026-12-25' },
      { pk: 'orders', sk: '2027-01-01' },
      { pk: 'orders#eu-west-1', sk: '2026-12-26' },
    ]);
    expect(marshall({ pk: 'a', n: 1, days: ['MON'] })).toEqual({ pk: { S: 'a' }, n: { N: '1' }, days: { L: [{ S: 'MON' }] } });
  });
});
