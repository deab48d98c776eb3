import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { describe, expect, it } from 'vitest';
import { formatProblem, validatePipeline, type Problem } from '../../core/pipeline/resolve.ts';
import { SOURCE_ARCHIVE_PREFIX, sourceArchiveKey } from '../../core/naming.ts';
import { checkIsoDuration, parseIsoDuration, secondsToIso } from '../../core/pipeline/duration.ts';

const minimal = { name: 'storefront-api', service: 'StorefrontApi', team: 'storefront' };

const problemsOf = (input: unknown): Problem[] => {
  const result = validatePipeline(input, 'p.json', { catalog: REGION_CATALOG });
  if (result.ok) throw new Error('expected problems, the pipeline validated');
  return result.problems;
};
const paths = (problems: Problem[]) => problems.map((p) => p.path).sort();
const ok = (input: unknown) => {
  const result = validatePipeline(input, 'p.json', { catalog: REGION_CATALOG });
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
  return result.pipeline;
};

describe('validatePipeline defaults', () => {
  it('applies the defaults of docs/design.md to a minimal pipeline', () => {
    // Act
    const p = ok(minimal);

    // Assess
    expect(p.unit).toBe('az');
    expect(p.hostsPerUnit).toBe(6);
    expect(p.cellsPerRegion).toBe(3);
    expect(p.preProd).toEqual(['alpha', 'beta', 'gamma']);
    expect(p.preProdRegion).toBe('us-west-2');
    expect(p.bake).toEqual({
      oneBoxSeconds: 3600,
      firstWaveSeconds: 12 * 3600,
      laterWavesSeconds: 2 * 3600,
      waveSeconds: [],
      unitSeconds: 1800,
      preProdSeconds: 1800,
      minRequests: 100,
      emergencyFloorSeconds: 600,
    });
    expect(p.rolling).toEqual({ maxBatchPercent: 33, minHealthyPercent: 66 });
    expect(p.window).toEqual({ timeZone: 'region', days: ['MON', 'TUE', 'WED', 'THU'], start: '09:00', end: '15:00' });
    expect(p.holidays).toEqual([]);
    expect(p.holidaysByRegion).toEqual({});
    expect(p.waves.map((w) => w.bakeSeconds)).toEqual([43200, 7200, 7200, 7200, 7200]);
  });

  it('keeps nested defaults when only one nested field is given', () => {
    const p = ok({ ...minimal, bake: { oneBox: 'PT2H' }, window: { start: '10:00' } });
    expect(p.bake.oneBoxSeconds).toBe(7200);
    expect(p.bake.unitSeconds).toBe(1800);
    expect(p.window).toMatchObject({ start: '10:00', end: '15:00', timeZone: 'region' });
  });

  it("evaluates the window in each region's own zone unless one zone is given", () => {
    const regional = ok({ ...minimal, regions: ['eu-west-1', 'ap-northeast-1'] });
    const fixed = ok({ ...minimal, regions: ['eu-west-1', 'ap-northeast-1'], window: { timeZone: 'America/Los_Angeles' } });
    const zones = (p: typeof regional) => Object.fromEntries(p.waves.flatMap((w) => w.regions.map((r) => [r.region, r.windowTimeZone])));
    expect(zones(regional)).toEqual({ 'eu-west-1': 'Europe/Dublin', 'ap-northeast-1': 'Asia/Tokyo' });
    expect(zones(fixed)).toEqual({ 'eu-west-1': 'America/Los_Angeles', 'ap-northeast-1': 'America/Los_Angeles' });
  });

  it('uses bake.waves to override the bake of one wave', () => {
    const p = ok({ ...minimal, bake: { waves: [null, 'PT4H'] } });
    expect(p.waves.map((w) => w.bakeSeconds)).toEqual([43200, 14400, 7200, 7200, 7200]);
    expect(p.bake.waveSeconds).toEqual([undefined, 14400]);
  });

  it('names cell units after the AZ id prefix of the region', () => {
    const p = ok({ ...minimal, regions: ['us-east-1', 'eu-west-1'], unit: 'cell', cellsPerRegion: 4 });
    const units = Object.fromEntries(p.waves.flatMap((w) => w.regions.map((r) => [r.region, r.units])));
    expect(units['us-east-1']).toEqual(['use1-cell1', 'use1-cell2', 'use1-cell3', 'use1-cell4']);
    expect(units['eu-west-1']).toEqual(['euw1-cell1', 'euw1-cell2', 'euw1-cell3', 'euw1-cell4']);
  });

  it('keeps explicit waves as written and takes the regions from them', () => {
    const p = ok({ ...minimal, waves: [['sa-east-1'], ['us-east-1', 'eu-west-1']] });
    expect(p.waves.map((w) => [w.name, w.regions.map((r) => r.region)])).toEqual([
      ['wave-1', ['sa-east-1']],
      ['wave-2', ['us-east-1', 'eu-west-1']],
    ]);
  });

  it('puts pre-production stages in canonical order', () => {
    const p = ok({ ...minimal, preProd: ['zeta', 'alpha'] });
    expect(p.preProd).toEqual(['alpha', 'zeta']);
  });
});

describe('validatePipeline problems', () => {
  it('reports every problem at once, each with its field path', () => {
    // Prepare: three unrelated mistakes
    const input = { ...minimal, name: 'Storefront_API', bake: { oneBox: 'one hour' }, rolling: { maxBatchPercent: 0 } };

    // Act
    const problems = problemsOf(input);

    // Assess
    expect(paths(problems)).toEqual(['bake.oneBox', 'name', 'rolling.maxBatchPercent']);
    expect(problems.every((p) => p.file === 'p.json')).toBe(true);
  });

  it('refuses the source archives\' prefix as a pipeline name, reported with the other problems', () => {
    const problems = problemsOf({ ...minimal, name: SOURCE_ARCHIVE_PREFIX, hostsPerUnit: 0 });
    expect(paths(problems)).toEqual(['hostsPerUnit', 'name']);
    expect(sourceArchiveKey('storefront-api', 'abc').startsWith(`${SOURCE_ARCHIVE_PREFIX}/`)).toBe(true);
    expect(ok({ ...minimal, name: `${SOURCE_ARCHIVE_PREFIX}-api` }).name).toBe('sources-api');
  });

  it('collects schema and semantic problems together', () => {
    const problems = problemsOf({ ...minimal, hostsPerUnit: 0, regions: ['us-east-7'], window: { start: '12:00', end: '12:00' } });
    expect(paths(problems)).toEqual(['hostsPerUnit', 'regions[0]', 'window.end']);
  });

  it('rejects unknown fields at every level and suggests the likely name', () => {
    const problems = problemsOf({ ...minimal, bakes: {}, bake: { oneBx: 'PT1H' }, window: { zone: 'UTC' } });
    expect(paths(problems)).toEqual(['bake.oneBx', 'bakes', 'window.zone']);
    expect(problems.find((p) => p.path === 'bake.oneBx')?.message).toMatch(/unknown field 'oneBx' \(did you mean 'oneBox'\?\)/);
  });

  it('names an unknown region of a wave, the value and the known codes', () => {
    const problems = problemsOf({ ...minimal, waves: [['sa-east-1'], ['us-east-7']] });
    expect(problems).toHaveLength(1);
    expect(formatProblem(problems[0]!)).toMatch(
      /^p\.json: waves\[1\]\[0\]: wave 2 lists region 'us-east-7', which is not in the region catalog.*; known: us-east-1, us-east-2/,
    );
  });

  it('rejects a region in two waves', () => {
    const problems = problemsOf({ ...minimal, waves: [['sa-east-1'], ['us-east-1', 'sa-east-1']] });
    expect(problems.map((p) => [p.path, p.message])).toEqual([
      ['waves[1][1]', expect.stringMatching(/'sa-east-1' is in wave 1 and wave 2/)],
    ]);
  });

  it('rejects explicit waves that omit or add regions relative to regions', () => {
    const problems = problemsOf({ ...minimal, regions: ['sa-east-1', 'us-east-1', 'eu-west-1'], waves: [['sa-east-1'], ['us-east-1', 'ap-south-1']] });
    expect(problems.map((p) => p.path)).toEqual(['waves[1][1]', 'waves']);
    expect(problems[0]!.message).toMatch(/'ap-south-1', which is not in the pipeline's regions/);
    expect(problems[1]!.message).toMatch(/'eu-west-1' is in regions but in no wave/);
  });

  it.each([
    [{ bake: { unit: 'P1M' } }, 'bake.unit', /years or months/],
    [{ bake: { laterWaves: '2h' } }, 'bake.laterWaves', /'2h' is not an ISO 8601 duration/],
    [{ window: { start: '9:00' } }, 'window.start', /HH:MM.*received '9:00'/],
    [{ window: { end: '24:30' } }, 'window.end', /HH:MM.*received '24:30'/],
    [{ window: { start: '12:00', end: '12:00' } }, 'window.end', /never opens/],
    [{ window: { days: [] } }, 'window.days', /never opens/],
    [{ window: { days: ['MON', 'MON'] } }, 'window.days[1]', /listed twice/],
    [{ window: { timeZone: 'Mars/Olympus' } }, 'window.timeZone', /'Mars\/Olympus' is not an IANA time zone/],
    [{ window: { days: ['MON', 'FUN'] } }, 'window.days[1]', /expected one of 'MON'.*received 'FUN'/],
    [{ holidays: ['2026-02-30'] }, 'holidays[0]', /YYYY-MM-DD.*'2026-02-30'/],
    [{ holidays: ['12/24/2026'] }, 'holidays[0]', /YYYY-MM-DD/],
    [{ regions: ['us-east-1'], holidaysByRegion: { 'eu-west-1': ['2026-12-26'] } }, 'holidaysByRegion.eu-west-1', /not a region of this pipeline/],
    [{ holidaysByRegion: { 'eu-west-1': ['2026-12-32'] } }, 'holidaysByRegion.eu-west-1[0]', /YYYY-MM-DD/],
    [{ name: 'ab' }, 'name', /3-40 characters.*received 'ab'/],
    [{ name: 'a'.repeat(41) }, 'name', /3-40 characters/],
    [{ name: 'sources' }, 'name', /pipeline name 'sources' is reserved.*commit archives under 'sources\/'.*choose another name/],
    [{ name: 'handsoff-src-checkou' }, 'name', /pipeline names starting 'handsoff-src-' are reserved.*choose another name \(e.g. 'checkou'\)/],
    [{ cellsPerRegion: 3 }, 'cellsPerRegion', /only to unit 'cell'/],
    [{ unit: 'zone' }, 'unit', /expected one of 'az', 'cell'; received 'zone'/],
    [{ rolling: { maxBatchPercent: 101 } }, 'rolling.maxBatchPercent', /at most 100; received 101/],
    [{ rolling: { minHealthyPercent: 100 } }, 'rolling.minHealthyPercent', /at most 99/],
    [{ rolling: { maxBatchPercent: 50, minHealthyPercent: 60 } }, 'rolling', /= 110, more than 100/],
    [{ hostsPerUnit: 101 }, 'hostsPerUnit', /at most 100/],
    [{ hostsPerUnit: 2.5 }, 'hostsPerUnit', /an integer; received 2.5/],
    [{ waves: 'manual' }, 'waves', /"auto" or a list of waves/],
    [{ waves: [['us-east-1', 5]] }, 'waves[0][1]', /expected a string; received 5/],
    [{ preProd: ['alpha', 'alpha'] }, 'preProd[1]', /listed twice/],
    [{ preProdRegion: 'us-west-9' }, 'preProdRegion', /not in the region catalog/],
    [{ bake: { waves: ['PT1H', 'PT1H', 'PT1H', 'PT1H', 'PT1H', 'PT1H'] } }, 'bake.waves', /6 entries but the pipeline has 5 waves/],
  ])('reports %j at its path', (patch, path, message) => {
    const problems = problemsOf({ ...minimal, ...patch });
    expect(problems.map((p) => p.path)).toEqual([path]);
    expect(problems[0]!.message).toMatch(message);
  });

  it('reports a missing required field and a non-object input', () => {
    expect(problemsOf({ name: 'storefront-api', team: 'storefront' }).map((p) => [p.path, p.message])).toEqual([
      ['service', "missing required field 'service'; add it (a string)"],
    ]);
    expect(problemsOf([1, 2])).toEqual([{ file: 'p.json', path: '', message: 'expected a pipeline definition object; received [1,2]' }]);
  });

  it('formats a problem as file: path: message', () => {
    expect(formatProblem({ file: 'a.json', path: 'bake.oneBox', message: 'bad' })).toBe('a.json: bake.oneBox: bad');
    expect(formatProblem({ file: 'a.json', path: '', message: 'file not found' })).toBe('a.json: file not found');
  });
});

describe('ISO durations', () => {
  it('parses to seconds and back', () => {
    expect(parseIsoDuration('PT30M')).toBe(1800);
    expect(parseIsoDuration('P1DT2H')).toBe(93600);
    expect(secondsToIso(93600)).toBe('P1DT2H');
    expect(secondsToIso(0)).toBe('PT0S');
  });

  it('explains what is wrong', () => {
    expect(checkIsoDuration('PT-1H')).toMatchObject({ ok: false, message: expect.stringMatching(/negative/) });
    expect(checkIsoDuration(3600)).toMatchObject({ ok: false, message: expect.stringMatching(/received 3600/) });
    expect(() => parseIsoDuration('soon')).toThrow(/'soon' is not an ISO 8601 duration; write e.g. 'PT30M'/);
  });
});

describe('a wave of more regions than one Step Functions Map runs at once', () => {
  it('is refused, naming the wave, the limit and the fix (its regions would wait for each other for ever)', () => {
    // A catalog larger than today's, so that one wave can hold 41 regions.
    const base = REGION_CATALOG[0]!;
    const catalog = Array.from({ length: 41 }, (_, i) => ({ ...base, code: `xx-test-${i + 1}`, azIds: [`xxt${i + 1}-az1`, `xxt${i + 1}-az2`] }));
    const regions = catalog.map((r) => r.code);
    const result = validatePipeline({ name: 'wide-api', service: 'WideApi', team: 'wide', regions, waves: [regions] }, 'p.json', { catalog });
    expect(!result.ok && result.problems.map((p) => [p.path, p.message])).toEqual([
      ['waves[0]', 'wave 1 has 41 regions; a wave takes at most 40 (its regions deploy at once, in one Step Functions Map): split it in two'],
    ]);
    const split = validatePipeline({ name: 'wide-api', service: 'WideApi', team: 'wide', regions, waves: [regions.slice(0, 20), regions.slice(20)] }, 'p.json', { catalog });
    expect(split.ok).toBe(true);
  });
});
