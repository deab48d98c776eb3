/**
 * Pipelines as code: a `Pipeline` holds typed props of the JSON form and renders that form
 * with `toJSON()`, so that code and JSON definitions go through one validation.
 *
 * Teams put their policy in one base class (`class MyTeamPipeline extends TeamPipeline`),
 * services extend it and override only what differs: a team-wide change of bakes or windows
 * is one edit.
 *
 * ```ts
 * class StorefrontTeamPipeline extends TeamPipeline {
 *   constructor(props: ServicePipelineProps) {
 *     super({ team: 'storefront', waves: Waves.auto(), window: Window.businessHours() }, props);
 *   }
 * }
 * export default new StorefrontTeamPipeline({ name: 'storefront-api', service: 'StorefrontApi' });
 * ```
 */
import { PipelineKinds, type PipelineKind, type PreProdStage, ResolvedPipeline, TestRunner, UnitKind, Weekday } from '../../core/model.ts';
import { checkIsoDuration, secondsToIso } from '../../core/pipeline/duration.ts';
import { kindPipelineName } from '../../core/pipeline/kinds.ts';
import { resolvePipeline } from '../../core/pipeline/resolve.ts';
import { REGION_CATALOG } from '../catalog/regions.ts';
import type { PipelineJson } from '../../core/pipeline/schema.ts';

/** A bake (or any) duration, in the style of `Duration.minutes(30)` of aws-cdk-lib. */
export class Bake {
  private constructor(
    /** ISO 8601 form, e.g. `PT4H`. */
    readonly iso: string,
  ) {}

  /**
   * `n` units of `unitSeconds`. Never throws where the pipeline is written: a negative amount
   * becomes a negative ISO duration and anything else that is no number of seconds keeps its
   * call as text, so validation reports it with the field and the other problems of the file.
   */
  private static of(n: number, unitSeconds: number, call: string): Bake {
    const seconds = n * unitSeconds;
    if (typeof n !== 'number' || !Number.isFinite(seconds)) return new Bake(`Bake.${call}(${String(n)})`);
    return new Bake(seconds < 0 ? `-${secondsToIso(-seconds)}` : secondsToIso(seconds));
  }
  static seconds(n: number): Bake {
    return Bake.of(n, 1, 'seconds');
  }
  static minutes(n: number): Bake {
    return Bake.of(n, 60, 'minutes');
  }
  static hours(n: number): Bake {
    return Bake.of(n, 3_600, 'hours');
  }
  static days(n: number): Bake {
    return Bake.of(n, 86_400, 'days');
  }
  /** From an ISO 8601 duration, e.g. `Bake.iso('PT90M')`; checked when the pipeline is validated. */
  static iso(value: string): Bake {
    return new Bake(value);
  }
  /** No bake at all: the step is followed at once by the next. */
  static none(): Bake {
    return new Bake('PT0S');
  }

  get seconds(): number | undefined {
    const check = checkIsoDuration(this.iso);
    return check.ok ? check.seconds : undefined;
  }
  toJSON(): string {
    return this.iso;
  }
  toString(): string {
    return this.iso;
  }
}

export type DurationLike = Bake | string;

export interface WindowProps {
  /** IANA zone, or `region` for each region's own zone. @default 'region' */
  readonly timeZone?: string;
  /** @default MON-THU */
  readonly days?: readonly Weekday[];
  /** `HH:MM`, inclusive. @default '09:00' */
  readonly start?: string;
  /** `HH:MM` (or `24:00`), exclusive; earlier than `start`: the window crosses midnight. @default '15:00' */
  readonly end?: string;
}

/** A deployment window: production steps may only start inside it. */
export class Window {
  private constructor(readonly props: Required<WindowProps>) {}

  /** Business hours in each region's own time: Mon-Thu 09:00-15:00 unless told otherwise. */
  static businessHours(props: WindowProps = {}): Window {
    return new Window({
      timeZone: props.timeZone ?? 'region',
      days: props.days ?? ['MON', 'TUE', 'WED', 'THU'],
      start: props.start ?? '09:00',
      end: props.end ?? '15:00',
    });
  }
  /** Every day of the week, all day (00:00-24:00) in each region's own time. */
  static always(props: Pick<WindowProps, 'timeZone'> = {}): Window {
    return new Window({
      timeZone: props.timeZone ?? 'region',
      days: ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'],
      start: '00:00',
      end: '24:00',
    });
  }

  toJSON(): { timeZone: string; days: Weekday[]; start: string; end: string } {
    return { timeZone: this.props.timeZone, days: [...this.props.days], start: this.props.start, end: this.props.end };
  }
}

/** The wave plan of a pipeline. */
export class Waves {
  private constructor(private readonly plan: 'auto' | readonly (readonly string[])[]) {}

  /** Waves derived from the region catalog's traffic (docs/design.md): new catalog regions join automatically. */
  static auto(): Waves {
    return new Waves('auto');
  }
  /** An explicit plan, e.g. `Waves.explicit([['sa-east-1'], ['us-east-1'], ['eu-west-1', 'ap-northeast-1']])`. */
  static explicit(waves: readonly (readonly string[])[]): Waves {
    return new Waves(waves.map((w) => [...w]));
  }

  toJSON(): 'auto' | string[][] {
    return this.plan === 'auto' ? 'auto' : this.plan.map((w) => [...w]);
  }
}

export interface BakeProps {
  /** @default Bake.hours(1) */
  readonly oneBox?: DurationLike;
  /** @default Bake.hours(12) */
  readonly firstWave?: DurationLike;
  /** @default Bake.hours(2) */
  readonly laterWaves?: DurationLike;
  /**
   * Per-wave bakes overriding first/later: a list indexed from wave 1 (`undefined`/`null`
   * keeps the default) or a map keyed by wave number, e.g. `{ 2: Bake.hours(4) }`.
   * @default - none
   */
  readonly waves?: readonly (DurationLike | null | undefined)[] | Readonly<Record<number, DurationLike>>;
  /** @default Bake.minutes(30) */
  readonly unit?: DurationLike;
  /** Bake of each pre-production stage. @default Bake.minutes(30) */
  readonly preProd?: DurationLike;
  /** @default 100 */
  readonly minRequests?: number;
  /** How long a bake may extend for its minimum requests. @default - twice the bake */
  readonly maxExtension?: DurationLike;
  /** @default Bake.minutes(10) */
  readonly emergencyFloor?: DurationLike;
}

export interface RollingProps {
  /** @default 33 */
  readonly maxBatchPercent?: number;
  /** @default 66 */
  readonly minHealthyPercent?: number;
}

export interface PipelineProps {
  /** Lowercase letters, digits and '-', 3-40 characters. */
  readonly name: string;
  readonly service: string;
  /** Scope of the team aggregate alarm. */
  readonly team: string;
  /** The kind of change this pipeline ships; a service has at most one pipeline per kind. @default 'app' */
  readonly kind?: PipelineKind;
  /** Release batching: a change waiting for a busy stage is superseded by a newer waiting one. @default true */
  readonly batching?: boolean;
  /** The pre-production stages' integration tests. @default { runner: 'codebuild' } */
  readonly tests?: {
    readonly runner?: TestRunner;
    /** The team's test function, name or ARN (the lambda runner; docs/tests.md). */
    readonly function?: string;
    /** Endpoint template of the stages: {stage}, {region}, {service}, {pipeline}. */
    readonly endpoint?: string;
    /** @default 30 */
    readonly timeoutMinutes?: number;
  };
  /** @default - every region of the catalog */
  readonly regions?: readonly string[];
  /** @default Waves.auto() */
  readonly waves?: Waves | 'auto' | readonly (readonly string[])[];
  /** @default 'az' */
  readonly unit?: UnitKind;
  /** Only with unit 'cell'. @default 3 */
  readonly cellsPerRegion?: number;
  /** Simulated boxes per unit. @default 6 */
  readonly hostsPerUnit?: number;
  /** @default ['alpha', 'beta', 'gamma'] */
  readonly preProd?: readonly PreProdStage[];
  /** @default 'us-west-2' */
  readonly preProdRegion?: string;
  /** One-box first in every region. @default true */
  readonly oneBox?: boolean;
  readonly bake?: BakeProps;
  readonly rolling?: RollingProps;
  /** @default Window.businessHours() */
  readonly window?: Window | WindowProps;
  /** @default [] */
  readonly holidays?: readonly string[];
  /** @default {} */
  readonly holidaysByRegion?: Readonly<Record<string, readonly string[]>>;
}

/** Props of one kind's pipeline that differ from the service's (or the team's) others. */
export type KindProps = Omit<Partial<PipelineProps>, 'service' | 'team' | 'kind'>;
/** Team-wide defaults: everything but the service's identity. */
export type TeamDefaults = Omit<Partial<PipelineProps>, 'name' | 'service'> & {
  readonly team: string;
  /**
   * The team's policy per kind of change, over the defaults above, e.g. config pipelines
   * that bake shorter: `{ config: { bake: { firstWave: Bake.hours(2) } } }`. @default {}
   */
  readonly kinds?: Readonly<Partial<Record<PipelineKind, Omit<KindProps, 'name'>>>>;
};
/** What a service states when it extends its team's pipeline: identity plus overrides. */
export type ServicePipelineProps = Omit<PipelineProps, 'team'> & { readonly team?: string };

const windowProps = (w: Window | WindowProps | undefined): WindowProps | undefined =>
  w instanceof Window ? w.props : w;

/**
 * Merge pipeline props: `override` wins field by field; `bake`, `rolling`, `tests` and a
 * plain `window` merge one level deeper, so a service can change one bake (or its tests'
 * endpoint) and keep the team's others. Lists are replaced, not concatenated.
 */
export function mergePipelineProps<A extends Partial<PipelineProps>, B extends Partial<PipelineProps>>(
  base: A,
  override: B,
): A & B {
  const defined = <T extends object>(o: T | undefined): Partial<T> =>
    Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
  const merged: Record<string, unknown> = { ...defined(base), ...defined(override) };
  if (base.bake || override.bake) merged.bake = { ...defined(base.bake), ...defined(override.bake) };
  if (base.rolling || override.rolling) merged.rolling = { ...defined(base.rolling), ...defined(override.rolling) };
  if (base.tests || override.tests) merged.tests = { ...defined(base.tests), ...defined(override.tests) };
  if (override.window !== undefined && !(override.window instanceof Window) && base.window !== undefined) {
    merged.window = { ...defined(windowProps(base.window)), ...defined(override.window) };
  }
  return merged as A & B;
}

const durationJson = (d: DurationLike): string => (d instanceof Bake ? d.iso : d);

function waveBakesJson(waves: NonNullable<BakeProps['waves']>): (string | null)[] {
  if (Array.isArray(waves)) {
    return (waves as readonly (DurationLike | null | undefined)[]).map((d) => (d == null ? null : durationJson(d)));
  }
  const byNumber = waves as Readonly<Record<number, DurationLike>>;
  const numbers = Object.keys(byNumber).map(Number);
  const out: (string | null)[] = Array.from({ length: Math.max(0, ...numbers) }, () => null);
  for (const n of numbers) {
    // Wave numbers start at 1; validatePipeline reports this throw as a problem of the file.
    if (Number.isInteger(n) && n >= 1) out[n - 1] = durationJson(byNumber[n]!);
    else throw new RangeError(`bake.waves key ${n} is not a wave number; wave numbers start at 1 (e.g. { 2: Bake.hours(4) })`);
  }
  return out;
}

/** A deployment pipeline defined in code. Validate with `validatePipeline(pipeline)` or `pipeline.resolve()`. */
export class Pipeline {
  readonly props: PipelineProps;

  constructor(props: PipelineProps) {
    this.props = props;
  }

  get name(): string {
    return this.props.name;
  }

  /** The JSON form (docs/simulation.md); fields left unset are omitted and take the defaults. */
  toJSON(): PipelineJson {
    const p = this.props;
    const out: Record<string, unknown> = { name: p.name, service: p.service, team: p.team };
    if (p.kind !== undefined) out.kind = p.kind;
    if (p.batching !== undefined) out.batching = p.batching;
    if (p.tests !== undefined) out.tests = { ...p.tests };
    if (p.regions !== undefined) out.regions = [...p.regions];
    if (p.waves !== undefined) out.waves = p.waves instanceof Waves ? p.waves.toJSON() : p.waves === 'auto' ? 'auto' : p.waves.map((w) => [...w]);
    if (p.unit !== undefined) out.unit = p.unit;
    if (p.cellsPerRegion !== undefined) out.cellsPerRegion = p.cellsPerRegion;
    if (p.hostsPerUnit !== undefined) out.hostsPerUnit = p.hostsPerUnit;
    if (p.preProd !== undefined) out.preProd = [...p.preProd];
    if (p.preProdRegion !== undefined) out.preProdRegion = p.preProdRegion;
    if (p.oneBox !== undefined) out.oneBox = p.oneBox;
    if (p.bake !== undefined) {
      const bake: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(p.bake)) {
        if (value === undefined) continue;
        if (key === 'waves') bake.waves = waveBakesJson(value as NonNullable<BakeProps['waves']>);
        else bake[key] = typeof value === 'number' ? value : durationJson(value as DurationLike);
      }
      out.bake = bake;
    }
    if (p.rolling !== undefined) out.rolling = { ...p.rolling };
    if (p.window !== undefined) out.window = p.window instanceof Window ? p.window.toJSON() : { ...p.window };
    if (p.holidays !== undefined) out.holidays = [...p.holidays];
    if (p.holidaysByRegion !== undefined) {
      out.holidaysByRegion = Object.fromEntries(Object.entries(p.holidaysByRegion).map(([k, v]) => [k, [...v]]));
    }
    return out as PipelineJson;
  }

  /** Validate and resolve; throws a PipelineValidationError listing every problem. */
  resolve(source = `pipeline '${this.props.name}'`): ResolvedPipeline {
    return resolvePipeline(this, source, { catalog: REGION_CATALOG });
  }
}

/**
 * Base of a team's pipelines: fixes the team-wide policy (waves, bakes, windows, holidays),
 * which each service's props override field by field.
 */
export class TeamPipeline extends Pipeline {
  constructor(
    readonly teamDefaults: TeamDefaults,
    serviceProps: ServicePipelineProps,
  ) {
    const { kinds, ...team } = teamDefaults;
    const kind = serviceProps.kind ?? team.kind ?? 'app';
    super(mergePipelineProps(mergePipelineProps(team, kinds?.[kind] ?? {}), serviceProps) as PipelineProps);
  }

  /**
   * A service's pipelines, one per kind listed in `kinds` (each with its overrides of
   * `service`): the app pipeline takes `service.name`, the others append their kind
   * (`storefront-api-config`), unless a kind's props name it.
   *
   * ```ts
   * export default StorefrontTeamPipeline.forKinds(
   *   { name: 'storefront-api', service: 'StorefrontApi' },
   *   { app: {}, config: { bake: { firstWave: Bake.hours(2) } } },
   * );
   * ```
   */
  static forKinds<T extends Pipeline>(
    this: new (props: ServicePipelineProps) => T,
    service: Omit<ServicePipelineProps, 'kind'>,
    kinds: Readonly<Partial<Record<PipelineKind, KindProps>>>,
  ): T[] {
    return PipelineKinds.filter((kind) => kinds[kind] !== undefined).map(
      (kind) => new this(mergePipelineProps(service, { name: kindPipelineName(service.name, kind), ...kinds[kind], kind })),
    );
  }
}
