/**
 * Validation and resolution of a pipeline definition into the ResolvedPipeline that every
 * other part of handsoff consumes.
 *
 * Validation collects every problem of a definition at once (a CI run that reports one
 * mistake per push wastes an afternoon): zod's field-level issues first, then the checks
 * that relate fields to each other and to the region catalog. The semantic checks read the
 * raw input defensively, so they still run when some other field failed the schema.
 */
import type { z } from 'zod';
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

/** One thing wrong with an input file, located by file and field path. */
export interface Problem {
  readonly file: string;
  /** Field path such as `bake.oneBox` or `waves[1][0]`; empty for the whole file. */
  readonly path: string;
  readonly message: string;
}

/** `<file>: <path>: <message>` (the path part is left out when the problem concerns the whole file). */
export const formatProblem = (p: Problem): string =>
  p.path === '' ? `${p.file}: ${p.message}` : `${p.file}: ${p.path}: ${p.message}`;

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
// Paths and values in messages

export type PathSegment = string | number;

/** `['waves', 1, 0]` -> `waves[1][0]`; `['holidaysByRegion', 'eu-west-1']` -> `holidaysByRegion.eu-west-1`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const key = String(seg);
      if (/^[A-Za-z_$][\w$-]*$/.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

/** A value as it appears in a message: strings quoted, others as JSON. */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return value.length > 5 ? `a list of ${value.length} items` : JSON.stringify(value);
  try {
    const json = JSON.stringify(value);
    if (json === undefined) return String(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return String(value);
  }
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The closest candidate when it is close enough to be a likely typo. */
export function closest(value: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = levenshtein(value.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(value.length / 4)) ? best : undefined;
}

const didYouMean = (value: string, candidates: readonly string[]): string => {
  const hint = closest(value, candidates);
  return hint === undefined ? '' : ` (did you mean '${hint}'?)`;
};

// ---------------------------------------------------------------------------------------
// zod issues -> problems

/* The schema walk reads zod's internal definition; it only feeds the "known fields" hint. */
/* eslint-disable @typescript-eslint/no-explicit-any */
function schemaAt(schema: any, path: readonly PropertyKey[]): any {
  let s = schema;
  const unwrap = (x: any): any => {
    let cur = x;
    for (let i = 0; i < 10 && cur?._zod?.def; i++) {
      const def = cur._zod.def;
      if (['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch'].includes(def.type)) cur = def.innerType;
      else if (def.type === 'pipe') cur = def.in;
      else break;
    }
    return cur;
  };
  s = unwrap(s);
  for (const seg of path) {
    const def = s?._zod?.def;
    if (!def) return undefined;
    if (def.type === 'object') s = def.shape?.[seg as string];
    else if (def.type === 'array') s = def.element;
    else if (def.type === 'record') s = def.valueType;
    else if (def.type === 'union') {
      s = def.options.map(unwrap).find((o: any) => ['object', 'array', 'record'].includes(o?._zod?.def?.type));
      if (s === undefined) return undefined;
      s = schemaAt(s, [seg]);
      continue;
    } else return undefined;
    s = unwrap(s);
  }
  return s;
}

function knownKeys(schema: unknown, path: readonly PropertyKey[], input: unknown): string[] {
  let s = schemaAt(schema, path);
  if (s?._zod?.def?.type === 'union') {
    // A discriminated union: the option whose literal fields match the input, e.g. its `kind`.
    const options: any[] = s._zod.def.options.filter((o: any) => o?._zod?.def?.type === 'object');
    const matches = (o: any) =>
      Object.entries(o._zod.def.shape).every(([key, field]: [string, any]) => {
        const def = field?._zod?.def;
        return def?.type !== 'literal' || (isRecord(input) && def.values.includes(input[key]));
      });
    s = options.find(matches);
  }
  const shape = s?._zod?.def?.type === 'object' ? s._zod.def.shape : undefined;
  return shape ? Object.keys(shape) : [];
}
/* eslint-enable @typescript-eslint/no-explicit-any */

const describeExpected = (expected: string): string =>
  expected === 'int' ? 'an integer' : expected === 'array' ? 'a list' : expected === 'object' ? 'an object' : `a ${expected}`;

/**
 * Turn zod issues into problems whose messages say what is wrong, the value received and
 * the fix. `schema` lets an unknown field name the known ones.
 */
export function zodIssuesToProblems(
  issues: readonly z.core.$ZodIssue[],
  file: string,
  schema: unknown,
  prefix: readonly PropertyKey[] = [],
): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    const input = (issue as { input?: unknown }).input;
    const at = (message: string, p: readonly PropertyKey[] = path) => problems.push({ file, path: formatPath(p), message });
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = knownKeys(schema, path, input);
        for (const key of issue.keys) {
          at(
            `unknown field '${key}'${didYouMean(key, known)}; ` +
              (known.length ? `known fields here: ${known.join(', ')}` : 'remove it'),
            [...path, key],
          );
        }
        break;
      }
      case 'invalid_type':
        if (input === undefined) {
          at(`missing required field '${String(path[path.length - 1] ?? '')}'; add it (${describeExpected(issue.expected)})`);
        } else {
          at(`expected ${describeExpected(issue.expected)}; received ${showValue(input)}`);
        }
        break;
      case 'invalid_value':
        at(`expected one of ${issue.values.map((v) => showValue(v)).join(', ')}; received ${showValue(input)}`);
        break;
      case 'too_small': {
        const min = String(issue.minimum);
        if (issue.origin === 'array' || issue.origin === 'set') {
          at(`expected at least ${min} item${min === '1' ? '' : 's'}; received ${Array.isArray(input) ? input.length : 0}`);
        } else if (issue.origin === 'string') {
          at(`expected at least ${min} character${min === '1' ? '' : 's'}; received ${showValue(input)}`);
        } else {
          at(`must be ${issue.inclusive ? 'at least' : 'more than'} ${min}; received ${showValue(input)}`);
        }
        break;
      }
      case 'too_big': {
        const max = String(issue.maximum);
        if (issue.origin === 'array' || issue.origin === 'set') {
          at(`expected at most ${max} items; received ${Array.isArray(input) ? input.length : '?'}`);
        } else if (issue.origin === 'string') {
          at(`expected at most ${max} characters; received ${showValue(input)}`);
        } else {
          at(`must be ${issue.inclusive ? 'at most' : 'less than'} ${max}; received ${showValue(input)}`);
        }
        break;
      }
      case 'invalid_union': {
        const disc = issue as { discriminator?: string; options?: unknown[] };
        if (disc.discriminator !== undefined && Array.isArray(disc.options) && issue.errors.length === 0) {
          const value = isRecord(input) ? input[disc.discriminator] : undefined;
          const options = disc.options.map((o) => showValue(o)).join(', ');
          at(
            value === undefined
              ? `missing required field '${disc.discriminator}'; add one of ${options}`
              : `expected one of ${options}; received ${showValue(value)}`,
          );
          break;
        }
        // A branch whose issues are all below the union's own level matched the value's
        // shape: its issues are the useful ones (e.g. a number inside a list of waves).
        const branch = issue.errors.find((errs) => errs.length > 0 && errs.every((e) => e.path.length > 0));
        if (branch) problems.push(...zodIssuesToProblems(branch, file, schema, path));
        else at(`${issue.message}; received ${showValue(input)}`);
        break;
      }
      case 'custom':
        at(issue.message);
        break;
      default:
        at(input === undefined ? issue.message : `${issue.message}; received ${showValue(input)}`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------
// Semantic checks over the raw input

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** The JSON form of a definition: plain objects as they are, pipelines-as-code through `toJSON()`. */
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

  // rolling
  if (isRecord(raw.rolling)) {
    const maxBatch = raw.rolling.maxBatchPercent ?? PIPELINE_DEFAULTS.rolling.maxBatchPercent;
    const minHealthy = raw.rolling.minHealthyPercent ?? PIPELINE_DEFAULTS.rolling.minHealthyPercent;
    if (
      typeof maxBatch === 'number' && typeof minHealthy === 'number' &&
      maxBatch >= 1 && maxBatch <= 100 && minHealthy >= 0 && minHealthy <= 99 &&
      maxBatch + minHealthy > 100
    ) {
      add(
        ['rolling'],
        `maxBatchPercent (${maxBatch}) + minHealthyPercent (${minHealthy}) = ${maxBatch + minHealthy}, more than 100: no batch can be taken out while keeping that many boxes healthy; lower one of them`,
      );
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
