/**
 * Scenario files (docs/simulation.md, "Scenario"): what happens in the simulated world and when.
 * Changes are merged at given times and behave in given ways once their boxes run them;
 * events flip alarms, apply overrides, request and decide emergencies, add holidays.
 *
 * Validation collects every problem at once and relates the scenario to the pipelines it
 * runs against (a change's `pipeline`, the regions a behavior names). Times become epoch
 * milliseconds and durations seconds, so the simulator never parses text.
 */
import { DateTime } from 'luxon';
import { z } from 'zod';
import { PreProdStages, type PreProdStage, type ResolvedPipeline } from '../core/model.ts';
import { checkIsoDuration } from '../core/pipeline/duration.ts';
import { type Problem, isRecord, showValue, zodIssuesToProblems } from '../core/problems.ts';
import { calendarDate, isoDuration } from '../core/pipeline/schema.ts';
import type { FaultSpec } from './faults.ts';
import { faultEventSchema, resolveFault } from './scenario-faults.ts';
import { semanticProblems } from './scenario-checks.ts';
import type { OverridableBlocker } from '../core/operators.ts';

// ---------------------------------------------------------------------------------------
// Resolved types

export type AlarmStateValue = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/**
 * Where a behavior applies: `undefined` = everywhere (pre-production included); otherwise
 * plain region codes (production in that region) and `stage:region` for pre-production.
 */
export type BehaviorRegions = readonly string[] | undefined;

export type Behavior =
  | { readonly kind: 'healthy' }
  | { readonly kind: 'faults'; readonly rate: number; readonly regions?: BehaviorRegions; readonly afterSeconds: number }
  | { readonly kind: 'latency'; readonly p99Ms: number; readonly regions?: BehaviorRegions; readonly afterSeconds: number }
  | { readonly kind: 'crash'; readonly regions?: BehaviorRegions }
  | { readonly kind: 'traffic-drop'; readonly regions?: BehaviorRegions; readonly afterSeconds: number }
  /** The build or its unit tests fail: the change deploys nowhere. */
  | { readonly kind: 'build-failure' }
  /** The integration tests of these pre-production stages fail (alpha, beta, gamma, zeta). */
  | { readonly kind: 'test-failure'; readonly stages: readonly PreProdStage[] };

export interface ScenarioChange {
  readonly id: string;
  /** Merge time, epoch ms. */
  readonly atMs: number;
  readonly author: string;
  /** Reviewers; empty = unreviewed (the source stage rejects it). */
  readonly approvedBy: readonly string[];
  readonly behavior: Behavior;
  /** Name of the pipeline the change goes through (filled in when there is only one). */
  readonly pipeline: string;
}

export type BlockerKind = OverridableBlocker;

export type ScenarioEvent =
  | {
      readonly kind: 'company-event';
      readonly atMs: number;
      readonly state: AlarmStateValue;
      /** Region of the company event alarm; `undefined` = every region. */
      readonly region?: string;
    }
  | {
      readonly kind: 'team-alarm';
      readonly atMs: number;
      readonly region: string;
      readonly state: AlarmStateValue;
      /** Team whose aggregate alarm changes (filled in when the pipelines share one team). */
      readonly team: string;
    }
  | {
      readonly kind: 'override';
      readonly atMs: number;
      readonly blocker: BlockerKind;
      /** Region it applies to; `undefined` = every region. */
      readonly region?: string;
      readonly by: string;
      readonly reason: string;
      /** Epoch ms when the override stops applying. */
      readonly expiresMs: number;
      /** Pipeline it applies to; `undefined` = every pipeline. */
      readonly pipeline?: string;
      /** Change it applies to; `undefined` = every change. */
      readonly change?: string;
    }
  | { readonly kind: 'emergency-request'; readonly atMs: number; readonly change: string; readonly by: string; readonly reason: string }
  | {
      readonly kind: 'emergency-decision';
      readonly atMs: number;
      readonly change: string;
      readonly by: string;
      readonly decision: 'approve' | 'deny';
      readonly reason?: string;
    }
  | {
      readonly kind: 'holiday';
      readonly atMs: number;
      /** YYYY-MM-DD in the window's time zone. */
      readonly date: string;
      /** `undefined` = every region. */
      readonly region?: string;
      /** `undefined` = every pipeline. */
      readonly pipeline?: string;
    }
  | {
      /**
       * Chaos for the event path: the world's AWS events of `source` are lost (never reach
       * handsoff) from `at` until `until`, as when a forwarding rule drops them. The world's
       * own `world.*` records still show what happened; the reconciler must catch up.
       */
      readonly kind: 'lose-events';
      readonly atMs: number;
      readonly source: 'alarm' | 'deployment';
      readonly untilMs: number;
    }
  | { readonly kind: 'fault'; readonly atMs: number; readonly spec: FaultSpec };

export interface Scenario {
  /** Virtual clock start, epoch ms. */
  readonly startMs: number;
  /** Virtual clock end (exclusive), epoch ms. */
  readonly untilMs: number;
  /** Seed of every random choice of the run (faults). */
  readonly seed: number;
  /** The principal engineers who may approve an emergency. */
  readonly approvers: readonly string[];
  /** In file order. */
  readonly changes: readonly ScenarioChange[];
  /** In file order. */
  readonly events: readonly ScenarioEvent[];
}

export type ScenarioValidation = { ok: true; scenario: Scenario } | { ok: false; problems: Problem[] };

// ---------------------------------------------------------------------------------------
// Schema

export const DEFAULT_LENGTH_DAYS = 21;
const TIME_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Epoch ms of an ISO 8601 time that carries its zone, or undefined. */
export function parseTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || !TIME_PATTERN.test(value)) return undefined;
  const t = DateTime.fromISO(value, { setZone: true });
  return t.isValid ? t.toMillis() : undefined;
}

const isoTime = () =>
  z.string().superRefine((value, ctx) => {
    if (parseTime(value) === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `expected an ISO 8601 time with a zone, e.g. '2026-11-30T09:00:00Z' or '2026-11-30T10:00:00+01:00'; received ${showValue(value)}`,
        input: value,
      });
    }
  });

const alarmState = () => z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']);
const behaviorRegions = () => z.array(z.string()).min(1).optional();

export const BehaviorSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('healthy') }).strict(),
  z
    .object({
      kind: z.literal('faults'),
      /** Fraction of requests that fail, (0, 1]. */
      rate: z.number().gt(0).max(1),
      regions: behaviorRegions(),
      after: isoDuration().optional(),
    })
    .strict(),
  z
    .object({ kind: z.literal('latency'), p99Ms: z.number().positive(), regions: behaviorRegions(), after: isoDuration().optional() })
    .strict(),
  z.object({ kind: z.literal('crash'), regions: behaviorRegions() }).strict(),
  z.object({ kind: z.literal('traffic-drop'), regions: behaviorRegions(), after: isoDuration().optional() }).strict(),
  z.object({ kind: z.literal('build-failure') }).strict(),
  z.object({ kind: z.literal('test-failure'), stages: z.array(z.enum(PreProdStages)).min(1) }).strict(),
]);

export const ScenarioChangeSchema = z
  .object({
    // A change id is its commit and names its executions (core/naming.ts MAX_CHANGE_ID_LENGTH).
    id: z.string().regex(/^[A-Za-z0-9_-]{1,56}$/, "letters, digits, '-' and '_', at most 56 characters"),
    at: isoTime(),
    author: z.string().min(1),
    approvedBy: z.array(z.string().min(1)).default([]),
    behavior: BehaviorSchema.default({ kind: 'healthy' }),
    pipeline: z.string().min(1).optional(),
  })
  .strict();

export const ScenarioEventSchema = z.discriminatedUnion('kind', [
  z.object({ at: isoTime(), kind: z.literal('company-event'), state: alarmState(), region: z.string().optional() }).strict(),
  z
    .object({ at: isoTime(), kind: z.literal('team-alarm'), region: z.string(), state: alarmState(), team: z.string().optional() })
    .strict(),
  // Only the time here: every other field is judged by core/operators.ts overrideProblems
  // (scenario-checks.ts), the rule the operator handler applies, so each problem is named once.
  z.object({ at: isoTime(), kind: z.literal('override') }).passthrough(),
  z
    .object({ at: isoTime(), kind: z.literal('emergency-request'), change: z.string(), by: z.string().min(1), reason: z.string().min(1) })
    .strict(),
  z
    .object({
      at: isoTime(),
      kind: z.literal('emergency-decision'),
      change: z.string(),
      by: z.string().min(1),
      decision: z.enum(['approve', 'deny']),
      reason: z.string().optional(),
    })
    .strict(),
  z
    .object({
      at: isoTime(),
      kind: z.literal('holiday'),
      date: calendarDate(),
      region: z.string().optional(),
      pipeline: z.string().optional(),
    })
    .strict(),
  z.object({ at: isoTime(), kind: z.literal('lose-events'), source: z.enum(['alarm', 'deployment']), until: isoTime() }).strict(),
  faultEventSchema(isoTime),
]);

export const ScenarioSchema = z
  .object({
    start: isoTime(),
    /** @default start + 21 days */
    until: isoTime().optional(),
    /** Seed of every random choice (faults). @default 1 */
    seed: z.number().int().default(1),
    approvers: z.array(z.string().min(1)).default([]),
    changes: z.array(ScenarioChangeSchema).default([]),
    events: z.array(ScenarioEventSchema).default([]),
  })
  .strict();

/** The scenario file as written. */
export type ScenarioJson = z.input<typeof ScenarioSchema>;

// ---------------------------------------------------------------------------------------
// Resolution

const seconds = (iso: string | undefined): number => {
  if (iso === undefined) return 0;
  const check = checkIsoDuration(iso);
  if (!check.ok) throw new Error(`internal: validated duration '${iso}' does not parse`);
  return check.seconds;
};
const ms = (iso: string): number => {
  const t = parseTime(iso);
  if (t === undefined) throw new Error(`internal: validated time '${iso}' does not parse`);
  return t;
};

type ParsedScenario = z.output<typeof ScenarioSchema>;
type ParsedBehavior = z.output<typeof BehaviorSchema>;

function resolveBehavior(b: ParsedBehavior): Behavior {
  switch (b.kind) {
    case 'healthy':
      return { kind: 'healthy' };
    case 'faults':
      return { kind: 'faults', rate: b.rate, regions: b.regions, afterSeconds: seconds(b.after) };
    case 'latency':
      return { kind: 'latency', p99Ms: b.p99Ms, regions: b.regions, afterSeconds: seconds(b.after) };
    case 'crash':
      return { kind: 'crash', regions: b.regions };
    case 'traffic-drop':
      return { kind: 'traffic-drop', regions: b.regions, afterSeconds: seconds(b.after) };
    case 'build-failure':
      return { kind: 'build-failure' };
    case 'test-failure':
      return { kind: 'test-failure', stages: [...new Set(b.stages)] };
  }
}

function resolveScenario(s: ParsedScenario, pipelines: readonly ResolvedPipeline[]): Scenario {
  const startMs = ms(s.start);
  const teams = [...new Set(pipelines.map((p) => p.team))];
  return {
    startMs,
    untilMs: s.until === undefined ? startMs + DEFAULT_LENGTH_DAYS * 86_400_000 : ms(s.until),
    seed: s.seed,
    approvers: [...s.approvers],
    changes: s.changes.map((c) => ({
      id: c.id,
      atMs: ms(c.at),
      author: c.author,
      approvedBy: [...c.approvedBy],
      behavior: resolveBehavior(c.behavior),
      pipeline: c.pipeline ?? pipelines[0]!.name,
    })),
    events: s.events.map((e): ScenarioEvent => {
      const atMs = ms(e.at);
      switch (e.kind) {
        case 'company-event':
          return { kind: e.kind, atMs, state: e.state, region: e.region };
        case 'team-alarm':
          return { kind: e.kind, atMs, region: e.region, state: e.state, team: e.team ?? teams[0]! };
        case 'override': {
          // Checked by overrideProblems (scenario-checks.ts) before it gets here.
          const o = e as unknown as { blocker: BlockerKind; region?: string; by: string; reason: string; expires: string; pipeline?: string; change?: string };
          return {
            kind: e.kind,
            atMs,
            blocker: o.blocker,
            region: o.region,
            by: o.by,
            reason: o.reason,
            expiresMs: ms(o.expires),
            pipeline: o.pipeline,
            change: o.change,
          };
        }
        case 'emergency-request':
          return { kind: e.kind, atMs, change: e.change, by: e.by, reason: e.reason };
        case 'emergency-decision':
          return { kind: e.kind, atMs, change: e.change, by: e.by, decision: e.decision, reason: e.reason };
        case 'holiday':
          return { kind: e.kind, atMs, date: e.date, region: e.region, pipeline: e.pipeline };
        case 'lose-events':
          return { kind: e.kind, atMs, source: e.source, untilMs: ms(e.until) };
        case 'fault':
          return { kind: e.kind, atMs, spec: resolveFault(e, ms) };
      }
    }),
  };
}

/** Validate a scenario against the pipelines of the run; every problem is reported at once. */
export function validateScenario(
  input: unknown,
  source = '<scenario>',
  pipelines: readonly ResolvedPipeline[] = [],
): ScenarioValidation {
  if (!isRecord(input)) {
    return { ok: false, problems: [{ file: source, path: '', message: `expected a scenario object; received ${showValue(input)}` }] };
  }
  const parsed = ScenarioSchema.safeParse(input, { reportInput: true });
  const problems = [
    ...(parsed.success ? [] : zodIssuesToProblems(parsed.error.issues, source, ScenarioSchema)),
    ...semanticProblems(input, source, pipelines),
  ];
  if (problems.length > 0 || !parsed.success) return { ok: false, problems };
  return { ok: true, scenario: resolveScenario(parsed.data, pipelines) };
}

/** The scenario file form of the built-in demo, for `defaultScenario` and as an example. */
export function defaultScenarioJson(pipeline: ResolvedPipeline): ScenarioJson {
  const firstRegion = pipeline.waves[0]?.regions[0]?.region;
  return {
    start: '2026-11-30T08:00:00Z', // a Monday: the rollout meets windows, a night and a weekend
    until: '2026-12-21T08:00:00Z',
    approvers: ['pat'],
    changes: [
      { id: 'c1', at: '2026-11-30T09:00:00Z', author: 'alice', approvedBy: ['bob'], behavior: { kind: 'healthy' } },
      {
        id: 'c2',
        at: '2026-11-30T13:00:00Z',
        author: 'carol',
        approvedBy: ['bob'],
        // Fails only where production starts, so the demo shows one-box + bake catching it.
        behavior: { kind: 'faults', rate: 0.3, ...(firstRegion ? { regions: [firstRegion] } : {}) },
      },
    ],
    events: [],
  };
}

/**
 * The built-in demo: a healthy change c1 merged Monday 09:00Z, then c2, merged four hours
 * later, that fails 30% of requests in the wave-1 region only.
 */
export function defaultScenario(pipeline: ResolvedPipeline): Scenario {
  const result = validateScenario(defaultScenarioJson(pipeline), '<default scenario>', [pipeline]);
  if (!result.ok) throw new Error(`internal: the default scenario is invalid: ${result.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  return result.scenario;
}
