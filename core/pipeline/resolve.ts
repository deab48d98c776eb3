/**
 * Validation and resolution of a pipeline definition into the ResolvedPipeline that every
 * other part of handsoff consumes.
 *
 * Validation collects every problem of a definition at once (a CI run that reports one
 * mistake per push wastes an afternoon): zod's field-level issues first, then the checks
 * that relate fields to each other and to the region catalog. The semantic checks read the
 * raw input defensively, so they still run when some other field failed the schema.
 */
import type {
  PreProdStage,
  RegionInfo,
  ResolvedPipeline,
  ResolvedRegion,
  ResolvedWave,
  UnitKind,
  Weekday,
} from '../model.ts';
import { PreProdStages } from '../model.ts';
import { parseIsoDuration } from './duration.ts';
import { PIPELINE_DEFAULTS, PipelineJsonSchema, type PipelineJsonWithDefaults } from './schema.ts';
import { planWaves } from './waves.ts';
import { rollingProblems } from '../rollout.ts';
import { type Problem, didYouMean, formatPath, formatProblem, isRecord, showValue, zodIssuesToProblems } from '../problems.ts';

export { type Problem, closest, formatPath, formatProblem, isRecord, showValue, zodIssuesToProblems } from '../problems.ts';

export type PipelineValidation = { ok: true; pipeline: ResolvedPipeline } | { ok: false; problems: Problem[] };

export interface ValidateOptions {
  /** The central region catalog to validate against and plan waves from (passed in: core holds no catalog). */
  readonly catalog: readonly RegionInfo[];
}

/** `use1-az1` -> `use1`: the prefix of a region's cell ids. */
export const azIdPrefix = (info: RegionInfo): string => {
  const first = info.azIds[0] ?? info.code;
  const i = first.lastIndexOf('-az');
  return i > 0 ? first.slice(0, i) : first;
};

// ---------------------------------------------------------------------------------------
// Semantic checks over the raw input

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** The JSON form of a definition: plain objects as they are, pipelines-as-code through `toJSON()`. */
/** Regions of one wave, at most: an inline Map runs at most 40 iterations at once. */
export const MAX_WAVE_REGIONS = 40;

export function toPipelineJson(input: unknown): unknown {
  if (isRecord(input) && typeof (input as { toJSON?: unknown }).toJSON === 'function') {
    return (input as { toJSON(): unknown }).toJSON();
  }
  return input;
}

/** Region codes a pipeline deploys to: `regions`, else the regions its explicit waves list, else the whole catalog. */
export function pipelineRegionCodes(raw: Record<string, unknown>, catalog: readonly RegionInfo[]): string[] | undefined {
  if (raw.regions !== undefined) return isStringArray(raw.regions) ? [...raw.regions] : undefined;
  if (Array.isArray(raw.waves)) {
    return raw.waves.every(isStringArray) ? [...new Set((raw.waves as string[][]).flat())] : undefined;
  }
  return catalog.map((r) => r.code);
}

function semanticProblems(raw: Record<string, unknown>, file: string, catalog: readonly RegionInfo[]): Problem[] {
  const problems: Problem[] = [];
  const add = (path: readonly PropertyKey[], message: string) => problems.push({ file, path: formatPath(path), message });
  const known = catalog.map((r) => r.code);
  const knownSet = new Set(known);
  const knownList = `known: ${known.join(', ')}`;
  const unknownRegion = (code: string) => `which is not in the region catalog${didYouMean(code, known)}; ${knownList}`;

  // regions
  if (Array.isArray(raw.regions)) {
    raw.regions.forEach((code, i) => {
      if (typeof code === 'string' && !knownSet.has(code)) add(['regions', i], `regions lists region '${code}', ${unknownRegion(code)}`);
    });
  }

  // explicit waves
  if (Array.isArray(raw.waves)) {
    const firstWaveOf = new Map<string, number>();
    const regionsGiven = isStringArray(raw.regions) ? new Set(raw.regions) : undefined;
    raw.waves.forEach((wave, w) => {
      if (!Array.isArray(wave)) return;
      wave.forEach((code, i) => {
        if (typeof code !== 'string') return;
        const path = ['waves', w, i];
        if (!knownSet.has(code)) {
          add(path, `wave ${w + 1} lists region '${code}', ${unknownRegion(code)}`);
          return;
        }
        const earlier = firstWaveOf.get(code);
        if (earlier !== undefined) {
          add(
            path,
            earlier === w
              ? `wave ${w + 1} lists region '${code}' twice; list it once`
              : `region '${code}' is in wave ${earlier + 1} and wave ${w + 1}; a region deploys in exactly one wave, remove it from one of them`,
          );
          return;
        }
        firstWaveOf.set(code, w);
        if (regionsGiven && !regionsGiven.has(code)) {
          add(path, `wave ${w + 1} lists region '${code}', which is not in the pipeline's regions; add it to regions or remove it from the wave`);
        }
      });
    });
    if (regionsGiven && raw.waves.every(isStringArray)) {
      const missing = [...regionsGiven].filter((code) => knownSet.has(code) && !firstWaveOf.has(code));
      if (missing.length > 0) {
        add(
          ['waves'],
          `region${missing.length > 1 ? 's' : ''} ${missing.map((c) => `'${c}'`).join(', ')} ${missing.length > 1 ? 'are' : 'is'} in regions but in no wave; add ${missing.length > 1 ? 'them' : 'it'} to a wave, remove ${missing.length > 1 ? 'them' : 'it'} from regions, or use "waves": "auto"`,
        );
      }
    }
  }

  // pre-production region
  if (typeof raw.preProdRegion === 'string' && !knownSet.has(raw.preProdRegion)) {
    add(['preProdRegion'], `preProdRegion is '${raw.preProdRegion}', ${unknownRegion(raw.preProdRegion)}`);
  }

  // unit / cells
  if (raw.cellsPerRegion !== undefined && (raw.unit === undefined || raw.unit === 'az')) {
    add(
      ['cellsPerRegion'],
      `cellsPerRegion applies only to unit 'cell'; unit is ${showValue(raw.unit ?? PIPELINE_DEFAULTS.unit)}. Set "unit": "cell" or remove cellsPerRegion`,
    );
  }

  // rolling: CodeDeploy enforces only the hosts that stay healthy (core/rollout.ts)
  if (isRecord(raw.rolling)) {
    const maxBatch = raw.rolling.maxBatchPercent ?? PIPELINE_DEFAULTS.rolling.maxBatchPercent;
    const minHealthy = raw.rolling.minHealthyPercent ?? PIPELINE_DEFAULTS.rolling.minHealthyPercent;
    const hosts = raw.hostsPerUnit ?? PIPELINE_DEFAULTS.hostsPerUnit;
    if (
      typeof maxBatch === 'number' && typeof minHealthy === 'number' && typeof hosts === 'number' && Number.isInteger(hosts) && hosts >= 1 &&
      maxBatch >= 1 && maxBatch <= 100 && minHealthy >= 0 && minHealthy <= 99
    ) {
      if (maxBatch + minHealthy > 100) {
        add(
          ['rolling'],
          `maxBatchPercent (${maxBatch}) + minHealthyPercent (${minHealthy}) = ${maxBatch + minHealthy}, more than 100: no batch can be taken out while keeping that many boxes healthy; lower one of them`,
        );
      } else {
        for (const problem of rollingProblems({ maxBatchPercent: maxBatch, minHealthyPercent: minHealthy }, hosts)) add(['rolling', 'maxBatchPercent'], problem);
      }
    }
  }

  // holidays by region
  if (isRecord(raw.holidaysByRegion)) {
    const regions = pipelineRegionCodes(raw, catalog);
    if (regions) {
      const own = new Set(regions);
      for (const code of Object.keys(raw.holidaysByRegion)) {
        if (own.has(code)) continue;
        add(
          ['holidaysByRegion', code],
          knownSet.has(code)
            ? `holidaysByRegion names region '${code}', which is not a region of this pipeline; remove it or add it to regions (pipeline regions: ${regions.join(', ')})`
            : `holidaysByRegion names region '${code}', ${unknownRegion(code)}`,
        );
      }
    }
  }

  // A wave's regions run in one inline Map, at most 40 at once (Step Functions' limit), and
  // each waits in its wave hold for all the others: a larger wave would never finish.
  const planned = plannedWaveCodes(raw, catalog);
  planned?.forEach((wave, w) => {
    if (wave.length > MAX_WAVE_REGIONS) {
      add(['waves', w], `wave ${w + 1} has ${wave.length} regions; a wave takes at most ${MAX_WAVE_REGIONS} (its regions deploy at once, in one Step Functions Map): split it in two`);
    }
  });

  // bake.waves must not outnumber the waves
  if (isRecord(raw.bake) && Array.isArray(raw.bake.waves)) {
    const waves = plannedWaveCodes(raw, catalog);
    if (waves && raw.bake.waves.length > waves.length) {
      add(
        ['bake', 'waves'],
        `bake.waves has ${raw.bake.waves.length} entries but the pipeline has ${waves.length} wave${waves.length === 1 ? '' : 's'}; remove the extra entries`,
      );
    }
  }

  return problems;
}

/** Wave plan of region codes, or undefined when the input is too broken to plan. */
function plannedWaveCodes(raw: Record<string, unknown>, catalog: readonly RegionInfo[]): string[][] | undefined {
  const waves = raw.waves ?? 'auto';
  if (Array.isArray(waves)) return waves.every(isStringArray) ? (waves as string[][]) : undefined;
  if (waves !== 'auto') return undefined;
  const codes = pipelineRegionCodes(raw, catalog);
  if (!codes) return undefined;
  const infos = codes.map((c) => catalog.find((r) => r.code === c));
  if (infos.some((r) => r === undefined)) return undefined;
  return planWaves(infos as RegionInfo[]);
}

// ---------------------------------------------------------------------------------------
// Resolution

/** One region of a pipeline with its deployment units in rollout order. */
export function resolveRegion(
  info: RegionInfo,
  unit: UnitKind,
  cellsPerRegion: number,
  windowTimeZone: string,
): ResolvedRegion {
  const units =
    unit === 'cell'
      ? Array.from({ length: cellsPerRegion }, (_, i) => `${azIdPrefix(info)}-cell${i + 1}`)
      : [...info.azIds];
  return {
    region: info.code,
    units,
    windowTimeZone: windowTimeZone === 'region' ? info.timeZone : windowTimeZone,
  };
}

/** Waves of resolved regions with their bake times, from a wave plan of region codes. */
export function resolveRegions(
  plan: readonly (readonly string[])[],
  def: PipelineJsonWithDefaults,
  catalog: readonly RegionInfo[],
): ResolvedWave[] {
  const cells = def.cellsPerRegion ?? PIPELINE_DEFAULTS.cellsPerRegion;
  const firstWave = parseIsoDuration(def.bake.firstWave);
  const laterWaves = parseIsoDuration(def.bake.laterWaves);
  return plan.map((codes, i) => {
    const override = def.bake.waves?.[i];
    return {
      name: `wave-${i + 1}`,
      regions: codes.map((code) => {
        const info = catalog.find((r) => r.code === code);
        if (!info) throw new Error(`internal: region '${code}' passed validation but is not in the catalog`);
        return resolveRegion(info, def.unit, cells, def.window.timeZone);
      }),
      bakeSeconds: override != null ? parseIsoDuration(override) : i === 0 ? firstWave : laterWaves,
    };
  });
}

function resolve(def: PipelineJsonWithDefaults, catalog: readonly RegionInfo[]): ResolvedPipeline {
  const plan = plannedWaveCodes(def as unknown as Record<string, unknown>, catalog);
  if (!plan) throw new Error('internal: a validated pipeline has no wave plan');
  const waveSeconds = (def.bake.waves ?? []).map((d) => (d == null ? undefined : parseIsoDuration(d)));
  const preProd = PreProdStages.filter((s) => def.preProd.includes(s)) as PreProdStage[];
  return {
    name: def.name,
    service: def.service,
    team: def.team,
    kind: def.kind,
    batching: def.batching,
    tests: {
      runner: def.tests.runner,
      ...(def.tests.function !== undefined ? { function: def.tests.function } : {}),
      ...(def.tests.endpoint !== undefined ? { endpoint: def.tests.endpoint } : {}),
      ...(def.tests.timeoutMinutes !== undefined ? { timeoutMinutes: def.tests.timeoutMinutes } : {}),
    },
    unit: def.unit,
    cellsPerRegion: def.cellsPerRegion ?? PIPELINE_DEFAULTS.cellsPerRegion,
    hostsPerUnit: def.hostsPerUnit,
    preProd,
    preProdRegion: def.preProdRegion,
    oneBox: def.oneBox,
    waves: resolveRegions(plan, def, catalog),
    bake: {
      oneBoxSeconds: parseIsoDuration(def.bake.oneBox),
      firstWaveSeconds: parseIsoDuration(def.bake.firstWave),
      laterWavesSeconds: parseIsoDuration(def.bake.laterWaves),
      waveSeconds,
      unitSeconds: parseIsoDuration(def.bake.unit),
      preProdSeconds: parseIsoDuration(def.bake.preProd),
      minRequests: def.bake.minRequests,
      ...(def.bake.maxExtension ? { maxExtensionSeconds: parseIsoDuration(def.bake.maxExtension) } : {}),
      emergencyFloorSeconds: parseIsoDuration(def.bake.emergencyFloor),
    },
    rolling: { ...def.rolling },
    // The schema checked the days with core/window.ts's rules.
    window: { timeZone: def.window.timeZone, days: [...def.window.days] as Weekday[], start: def.window.start, end: def.window.end },
    holidays: [...def.holidays],
    holidaysByRegion: Object.fromEntries(Object.entries(def.holidaysByRegion).map(([k, v]) => [k, [...v]])),
  };
}

/**
 * Validate a pipeline definition (JSON form, or a pipelines-as-code instance) and resolve
 * it. Every problem is reported at once; nothing is resolved unless there is none.
 */
export function validatePipeline(input: unknown, source: string, options: ValidateOptions): PipelineValidation {
  const catalog = options.catalog;
  let json: unknown;
  try {
    json = toPipelineJson(input);
  } catch (err) {
    return { ok: false, problems: [{ file: source, path: '', message: `toJSON() of the pipeline definition failed: ${(err as Error).message}` }] };
  }
  if (!isRecord(json)) {
    return {
      ok: false,
      problems: [{ file: source, path: '', message: `expected a pipeline definition object; received ${showValue(json)}` }],
    };
  }
  const parsed = PipelineJsonSchema.safeParse(json, { reportInput: true });
  const problems = [
    ...(parsed.success ? [] : zodIssuesToProblems(parsed.error.issues, source, PipelineJsonSchema)),
    ...semanticProblems(json, source, catalog),
  ];
  if (problems.length > 0 || !parsed.success) return { ok: false, problems: dedupe(problems) };
  return { ok: true, pipeline: resolve(parsed.data, catalog) };
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Like {@link validatePipeline}, but throws a {@link PipelineValidationError} listing every problem. */
export function resolvePipeline(input: unknown, source: string, options: ValidateOptions): ResolvedPipeline {
  const result = validatePipeline(input, source, options);
  if (!result.ok) throw new PipelineValidationError(result.problems);
  return result.pipeline;
}

export class PipelineValidationError extends Error {
  override readonly name = 'PipelineValidationError';
  constructor(readonly problems: readonly Problem[]) {
    super(`invalid pipeline definition:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
  }
}
