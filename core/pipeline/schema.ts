/**
 * The JSON form of a pipeline (docs/simulation.md, "Pipeline (JSON form)") as a zod schema.
 *
 * Every object is strict: an unknown field is an error, because a misspelt `bake.oneBx`
 * silently falling back to a default is how a one-hour bake becomes no bake. The schema
 * checks each field on its own (types, formats, ranges); checks that relate fields to each
 * other or to the region catalog live in resolve.ts, so that all problems of a file are
 * reported together.
 */
import { DateTime } from 'luxon';
import { z } from 'zod';
import { PipelineKinds, PreProdStages, TestRunners, UnitKind } from '../model.ts';
import { SOURCE_ARCHIVE_PREFIX, SOURCE_PIPELINE_PREFIX } from '../naming.ts';
import { windowProblemsAt } from '../window.ts';
import { testsProblems } from '../tests.ts';
import { checkIsoDuration } from './duration.ts';

/** Defaults of docs/design.md section 1, in JSON form. */
export const PIPELINE_DEFAULTS = {
  kind: 'app',
  batching: true,
  tests: { runner: 'codebuild' },
  waves: 'auto',
  unit: UnitKind.AZ,
  cellsPerRegion: 3,
  hostsPerUnit: 6,
  preProd: ['alpha', 'beta', 'gamma'],
  preProdRegion: 'us-west-2',
  bake: {
    oneBox: 'PT1H',
    firstWave: 'PT12H',
    laterWaves: 'PT2H',
    unit: 'PT30M',
    preProd: 'PT30M',
    minRequests: 100,
    emergencyFloor: 'PT10M',
  },
  rolling: { maxBatchPercent: 33, minHealthyPercent: 66 },
  window: { timeZone: 'region', days: ['MON', 'TUE', 'WED', 'THU'], start: '09:00', end: '15:00' },
  holidays: [],
  holidaysByRegion: {},
} as const;

export const PIPELINE_NAME_PATTERN = /^[a-z0-9-]{3,40}$/;
const TEAM_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

const show = (value: unknown): string => (typeof value === 'string' ? `'${value}'` : JSON.stringify(value) ?? String(value));

/** An ISO 8601 duration string (kept as written; resolve.ts turns it into seconds). */
export const isoDuration = () =>
  z.string().superRefine((value, ctx) => {
    const check = checkIsoDuration(value);
    if (!check.ok) ctx.addIssue({ code: 'custom', message: check.message, input: value });
  });

/** A calendar date `YYYY-MM-DD` that exists. */
export const calendarDate = () =>
  z.string().superRefine((value, ctx) => {
    if (!DATE_PATTERN.test(value) || !DateTime.fromISO(value, { zone: 'UTC' }).isValid) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a date YYYY-MM-DD (e.g. '2026-12-24'); received ${show(value)}`,
        input: value,
      });
    }
  });

const uniqueList =
  <T>(what: string) =>
  (values: readonly T[], ctx: z.RefinementCtx) => {
    const seen = new Set<T>();
    values.forEach((v, i) => {
      if (seen.has(v)) {
        ctx.addIssue({
          code: 'custom',
          message: `${what} ${show(v)} is listed twice; list it once`,
          path: [i],
          input: v,
        });
      }
      seen.add(v);
    });
  };

export const BakeSchema = z
  .object({
    /** @default PT1H */
    oneBox: isoDuration().default(PIPELINE_DEFAULTS.bake.oneBox),
    /** @default PT12H */
    firstWave: isoDuration().default(PIPELINE_DEFAULTS.bake.firstWave),
    /** @default PT2H */
    laterWaves: isoDuration().default(PIPELINE_DEFAULTS.bake.laterWaves),
    /** Per-wave overrides, index 0 = wave-1; `null` keeps first/later. */
    waves: z.array(isoDuration().nullable()).optional(),
    /** @default PT30M */
    unit: isoDuration().default(PIPELINE_DEFAULTS.bake.unit),
    /** Bake of each pre-production stage. @default PT30M */
    preProd: isoDuration().default(PIPELINE_DEFAULTS.bake.preProd),
    /** Requests a bake must see in its scope before it may pass. @default 100 */
    minRequests: z.number().int().min(0).default(PIPELINE_DEFAULTS.bake.minRequests),
    /**
     * How long a bake may extend past its duration waiting for its minimum requests before
     * the change fails with `insufficient-data`. @default - twice the bake's duration
     */
    maxExtension: isoDuration().optional(),
    /** What bakes shrink to under an approved emergency. @default PT10M */
    emergencyFloor: isoDuration().default(PIPELINE_DEFAULTS.bake.emergencyFloor),
  })
  .strict();

export const RollingSchema = z
  .object({
    maxBatchPercent: z.number().int().min(1).max(100).default(PIPELINE_DEFAULTS.rolling.maxBatchPercent),
    minHealthyPercent: z.number().int().min(0).max(99).default(PIPELINE_DEFAULTS.rolling.minHealthyPercent),
  })
  .strict();

/**
 * A deployment window. Its rules are core/window.ts's (the same the check-window handler
 * applies to the windows table): the fields here only give the types and the defaults.
 */
export const WindowSchema = z
  .object({
    /** IANA zone, or `region` for each region's own zone. @default 'region' */
    timeZone: z.string().default(PIPELINE_DEFAULTS.window.timeZone),
    /** @default MON-THU */
    days: z.array(z.string()).default([...PIPELINE_DEFAULTS.window.days]),
    /** HH:MM, inclusive. @default '09:00' */
    start: z.string().default(PIPELINE_DEFAULTS.window.start),
    /** HH:MM (or 24:00), exclusive; earlier than start: the window crosses midnight. @default '15:00' */
    end: z.string().default(PIPELINE_DEFAULTS.window.end),
  })
  .strict()
  .superRefine((window, ctx) => {
    for (const problem of windowProblemsAt(window, { regionZone: true })) {
      const input = problem.path.reduce<unknown>((v, k) => (v as Record<string | number, unknown> | undefined)?.[k], window);
      ctx.addIssue({ code: 'custom', message: problem.message, path: [...problem.path], input });
    }
  });

export const TestsSchema = z
  .object({
    /** What runs each stage's suite: a CodeBuild project, or a Lambda test runner. @default "codebuild" */
    runner: z.enum(TestRunners).default(PIPELINE_DEFAULTS.tests.runner),
    /** The team's test function, name or ARN (the lambda runner only). */
    function: z.string().optional(),
    /** Endpoint template: {stage}, {region}, {service}, {pipeline}. @default "https://{stage}.{region}.{pipeline}.internal" */
    endpoint: z.string().optional(),
    /** How long a stage's suite may run, in minutes (codebuild up to 480, lambda up to 15). @default 30 */
    timeoutMinutes: z.number().optional(),
  })
  .strict()
  .superRefine((tests, ctx) => {
    for (const problem of testsProblems(tests)) ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path });
  });

const WAVES_MESSAGE =
  `expected "auto" or a list of waves, each a non-empty list of region codes (e.g. [["sa-east-1"], ["us-east-1"]])`;

export const WavesSchema = z.union([z.literal('auto'), z.array(z.array(z.string()).min(1)).min(1)], {
  error: WAVES_MESSAGE,
});

export const PipelineJsonSchema = z
  .object({
    name: z.string().superRefine((value, ctx) => {
      if (!PIPELINE_NAME_PATTERN.test(value)) {
        ctx.addIssue({
          code: 'custom',
          message: `pipeline name must be 3-40 characters of lowercase letters, digits and '-' (e.g. 'storefront-api'); received ${show(value)}`,
          input: value,
        });
      } else if (value === SOURCE_ARCHIVE_PREFIX) {
        ctx.addIssue({
          code: 'custom',
          message: `pipeline name '${SOURCE_ARCHIVE_PREFIX}' is reserved (the artifact bucket keeps every pipeline's commit archives under '${SOURCE_ARCHIVE_PREFIX}/'); choose another name (e.g. '${SOURCE_ARCHIVE_PREFIX}-api')`,
          input: value,
        });
      } else if (value.startsWith(SOURCE_PIPELINE_PREFIX)) {
        ctx.addIssue({
          code: 'custom',
          message: `pipeline names starting '${SOURCE_PIPELINE_PREFIX}' are reserved (handsoff's GitHub source pipelines are named so, and CodePipeline keeps their checkouts under the first 20 characters of that name); choose another name (e.g. '${value.slice(SOURCE_PIPELINE_PREFIX.length) || 'orders-api'}')`,
          input: value,
        });
      }
    }),
    service: z.string().min(1),
    team: z.string().superRefine((value, ctx) => {
      if (!TEAM_PATTERN.test(value)) {
        ctx.addIssue({
          code: 'custom',
          message: `team must be 1-64 letters, digits, '-' or '_' (it names the team's alarms); received ${show(value)}`,
          input: value,
        });
      }
    }),
    /** The kind of change this pipeline ships; a service has at most one pipeline per kind. @default "app" */
    kind: z.enum(PipelineKinds).default(PIPELINE_DEFAULTS.kind),
    /** Release batching: a waiting change is superseded by a newer waiting one. @default true */
    batching: z.boolean().default(PIPELINE_DEFAULTS.batching),
    /** The pre-production stages' integration tests. */
    tests: TestsSchema.prefault({}),
    /** @default every region of the catalog (or, with explicit waves, the regions they list) */
    regions: z.array(z.string()).min(1).superRefine(uniqueList('region')).optional(),
    /** @default "auto" */
    waves: WavesSchema.default(PIPELINE_DEFAULTS.waves),
    /** @default "az" */
    unit: z.enum([UnitKind.AZ, UnitKind.CELL]).default(PIPELINE_DEFAULTS.unit),
    /** Only with unit "cell". @default 3 */
    cellsPerRegion: z.number().int().min(1).max(20).optional(),
    /** @default 6 */
    hostsPerUnit: z.number().int().min(1).max(100).default(PIPELINE_DEFAULTS.hostsPerUnit),
    /** @default ["alpha", "beta", "gamma"] */
    preProd: z
      .array(z.enum(PreProdStages))
      .superRefine(uniqueList('stage'))
      .default([...PIPELINE_DEFAULTS.preProd]),
    /** @default "us-west-2" */
    preProdRegion: z.string().default(PIPELINE_DEFAULTS.preProdRegion),
    /**
     * One-box first in every region (one box, at most 10% of the region's traffic, baked
     * before any unit). Turn it off only to measure what it buys. @default true
     */
    oneBox: z.boolean().default(true),
    bake: BakeSchema.prefault({}),
    rolling: RollingSchema.prefault({}),
    window: WindowSchema.prefault({}),
    /** @default [] */
    holidays: z.array(calendarDate()).default([]),
    /** @default {} */
    holidaysByRegion: z.record(z.string(), z.array(calendarDate())).default({}),
  })
  .strict();

/** The JSON form as written by a user: every defaulted field optional. */
export type PipelineJson = z.input<typeof PipelineJsonSchema>;
/** The JSON form after defaults. */
export type PipelineJsonWithDefaults = z.output<typeof PipelineJsonSchema>;
