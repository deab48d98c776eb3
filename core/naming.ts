/**
 * Names shared by the CDK target stacks, the state machine builders, the handlers and the
 * simulated world. Changing one renames AWS resources: these are a public contract.
 */
import type { PreProdStage } from './model.ts';
import { FAST_ROLLBACK, ONE_AT_A_TIME, rollingConfig } from './rollout.ts';

/** CodeDeploy application of a pipeline, in every region it deploys to. */
export const applicationName = (pipeline: string): string => pipeline;

/** Deployment group holding the single one-box host of a region. */
export const oneBoxGroupName = (pipeline: string): string => `${pipeline}-onebox`;

/** Deployment group holding the fleet of one unit (AZ or cell) of a region. */
export const unitGroupName = (pipeline: string, unit: string): string => `${pipeline}-${unit}`;

/** Deployment group of a pre-production stage (whole stage fleet). */
export const preProdGroupName = (pipeline: string, stage: PreProdStage | string): string =>
  `${pipeline}-${stage}`;

/** The team's high-severity aggregate composite alarm of one region. */
export const teamAggregateAlarmName = (team: string, region: string): string =>
  `handsoff-${team}-${region}-aggregate`;

/** Whether `name` is a team's aggregate alarm in `region` (teamAggregateAlarmName's form). */
export const isTeamAggregateAlarmName = (name: string, region: string): boolean =>
  name.startsWith('handsoff-') && name.endsWith(`-${region}-aggregate`);

/** Company-wide event alarm (a blocker for every team), one per region. */
export const companyEventAlarmName = (region: string): string => `handsoff-company-event-${region}`;

/**
 * The standard alarms every service has, per scope (one-box, region fleet, pre-production
 * stage): thresholds in docs/design.md's spirit, evaluated on one-minute periods, 2 of 3.
 */
export const StandardAlarm = {
  FAULTS: 'faults',
  LATENCY_P50: 'latency-p50',
  LATENCY_P90: 'latency-p90',
  LATENCY_P99: 'latency-p99',
  CPU: 'cpu',
  MEMORY: 'memory',
  DISK: 'disk',
  LOG_ERRORS: 'log-errors',
  HEALTH: 'health',
} as const;
export type StandardAlarm = (typeof StandardAlarm)[keyof typeof StandardAlarm];

/**
 * Anomaly checks on the standard metrics, as CloudWatch alarms (metric math and anomaly
 * detection bands), so that they fire as events like any alarm:
 * - one-box against the rest of the fleet: requests (the box stopped serving), latency and
 *   faults far above the fleet's;
 * - the fleet against its own seasonal baseline: requests dropping towards zero.
 */
export const AnomalyMetric = {
  REQUESTS: 'requests',
  LATENCY: 'latency',
  FAULTS: 'faults',
} as const;
export type AnomalyMetric = (typeof AnomalyMetric)[keyof typeof AnomalyMetric];

/** Anomaly alarm of a region scope (`onebox` or `fleet`). */
export const anomalyAlarmName = (pipeline: string, region: string, scope: 'onebox' | 'fleet', metric: AnomalyMetric): string =>
  `${pipeline}-${region}-${scope}-anomaly-${metric}`;

/**
 * A unit's (AZ's or cell's) requests against the rest of its region: the unit's boxes
 * stopped serving while the region as a whole still looks normal.
 */
export const unitAnomalyAlarmName = (pipeline: string, region: string, unit: string): string =>
  `${pipeline}-${region}-${unit}-anomaly-requests`;

/** The anomaly metric of an anomaly alarm name, or undefined for other alarms. */
export const anomalyOf = (alarmName: string): AnomalyMetric | undefined => {
  const m = /-anomaly-(requests|latency|faults)$/.exec(alarmName);
  return m ? (m[1] as AnomalyMetric) : undefined;
};

/** How an alarm is named in `alarm.triggered`: its name, or `anomaly:<metric>` (docs/simulation.md). */
export const triggeredAlarmLabel = (alarmName: string): string => {
  const metric = anomalyOf(alarmName);
  return metric ? `anomaly:${({ requests: 'RequestCount', latency: 'Latency', faults: 'Faults' } as const)[metric]}` : alarmName;
};

/** Fleet-wide service alarm of a region (or of a pre-production stage). */
export const serviceAlarmName = (pipeline: string, scope: string, kind: StandardAlarm): string =>
  `${pipeline}-${scope}-${kind}`;

/** One-box alarm of a region: watches only the one-box host's metrics dimension. */
export const oneBoxAlarmName = (pipeline: string, region: string, kind: StandardAlarm): string =>
  `${pipeline}-${region}-onebox-${kind}`;

/** CloudWatch namespace of the standard metrics every service emits. */
export const METRICS_NAMESPACE = 'Handsoff/Service';

/**
 * Metric dimensions: `Service` plus `Scope`, one of `onebox`, `fleet` (the whole region),
 * a unit id, or a pre-production stage name.
 */
export const StandardMetric = {
  REQUESTS: 'RequestCount',
  FAULTS: 'Faults',
  /** Per-request latency; alarms use its p50/p90/p99 statistics. */
  LATENCY: 'Latency',
  UNHEALTHY_HOSTS: 'UnhealthyHosts',
  /** Percent, average over the scope's hosts. */
  CPU: 'CPUUtilization',
  MEMORY: 'MemoryUtilization',
  DISK: 'DiskUtilization',
  /** Error lines in the service's logs (a metric filter on AWS). */
  LOG_ERRORS: 'LogErrors',
} as const;

/**
 * Shared CodeDeploy deployment configurations (an account holds at most 50 custom ones); what
 * each does to a group's hosts is core/rollout.ts. A pipeline's rolling configuration is
 * `rollingConfig(p.rolling).name`, set on its unit and stage groups.
 */
export const DeploymentConfig = {
  ONE_AT_A_TIME: ONE_AT_A_TIME.name,
  /** The default pipeline's rolling configuration: 66% of the unit's hosts healthy, so a third at a time. */
  ROLLING: rollingConfig({ maxBatchPercent: 33, minHealthyPercent: 66 }).name,
  /** Fast rollback: a third of the hosts at once. */
  FAST_ROLLBACK: FAST_ROLLBACK.name,
} as const;

/**
 * The commit's archive in the artifact bucket, with a GitHub source: start-change keeps the
 * source pipeline's checkout there, and the build and the stage suites read it (an S3 source).
 */
export const sourceArchiveKey = (pipeline: string, revision: string): string => `${SOURCE_ARCHIVE_PREFIX}/${pipeline}/${revision}.zip`;

/**
 * The artifact bucket's prefix of every pipeline's commit archives. A pipeline's own prefix is
 * its name (artifactKey, and its build's upload right), so no pipeline may be named this: its
 * build could overwrite the sources every other pipeline builds from.
 */
export const SOURCE_ARCHIVE_PREFIX = 'sources';

/**
 * Prefix of the GitHub source pipelines' names (`handsoff-src-<pipeline>`). CodePipeline keeps a
 * pipeline's artifacts under the first 20 characters of its name, so no pipeline of handsoff's
 * may be named with it: its build could write where a source pipeline's checkouts are.
 */
export const SOURCE_PIPELINE_PREFIX = 'handsoff-src-';

/**
 * `storefront-api` -> `StorefrontApi`: the construct ids the CDK app derives from pipeline,
 * team, unit and stage names (a public contract: renaming one replaces its resources). Two
 * names with one id cannot be told apart in a stack (core/pipeline/set.ts refuses them).
 */
export const constructIdOf = (s: string): string =>
  s
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');

/** Pushes of one commit to one pipeline's main, at most (a reset loop is not a workflow). */
export const MAX_PUSHES_PER_COMMIT = 50;

/**
 * The id of the n-th push (1-based) of a commit: the commit id, then `-2`, `-3`... A change's
 * revision is its commit, so the changes that carry a revision are these ids, in push order.
 */
export const changeIdFor = (commit: string, push: number): string => (push === 1 ? commit : `${commit}-${push}`);

/** Artifact key of a change's immutable revision. */
export const artifactKey = (pipeline: string, revision: string): string => `${pipeline}/${revision}.zip`;

/**
 * Execution names (1-80 letters, digits, `-`, `_`): a change's pipeline execution is named
 * after the change, each region's child `${change}-${region}`. A change id has at most 60
 * characters so that the child's name fits with any region code (at most 19).
 */
export const MAX_CHANGE_ID_LENGTH = 60;
export const regionExecutionName = (change: string, region: string): string => `${change}-${region}`;

/**
 * The `Service` of a pipeline's fleet: the instance tag its deployment groups target and the
 * `Service` dimension of its fleet's metrics (so of its alarms and bakes). Each kind of change
 * deploys to its own fleet: the app pipeline's is the service itself (`StorefrontApi`), the
 * others' carry the kind (`StorefrontApi-config`), so that a bad config change shows in the
 * config pipeline's alarms, not in the app pipeline's.
 */
export const fleetService = (p: { readonly service: string; readonly kind: string }): string =>
  p.kind === 'app' ? p.service : `${p.service}-${p.kind}`;

/** The CodeBuild project that runs a pipeline's stage suites (buildspec-tests.yml of its artifact; docs/tests.md). */
export const testProjectName = (pipeline: string): string => `${pipeline}-tests`;

/** The pipeline's CodeBuild project: runs its unit tests and uploads its artifact (the build stage). */
export const buildProjectName = (pipeline: string): string => `handsoff-${pipeline}-build`;

/**
 * The artifact bucket of one target region (in its target stack): CodeDeploy there reads the
 * change's bundle from this copy, never across regions. Bucket names are global, hence the account.
 */
export const regionArtifactBucketName = (account: string, region: string): string => `handsoff-artifacts-${account}-${region}`;

/**
 * The stage that deploys one-box first, as production does (a pipeline with `oneBox` and this
 * stage): its one-box group, scope and instance tag value are `GAMMA_ONE_BOX_SCOPE`.
 */
export const GAMMA_STAGE = 'gamma';
/**
 * The gamma one-box's `Scope` dimension and `Stage` instance tag value: neither the gamma
 * fleet's group (`Stage=gamma`) nor a production one-box group of the same region
 * (`OneBox=true`) picks its host up.
 */
export const GAMMA_ONE_BOX_SCOPE = 'gamma-onebox';

/** Deployment group of gamma's one-box host, in the pre-production region. */
export const gammaOneBoxGroupName = (pipeline: string): string => `${pipeline}-${GAMMA_ONE_BOX_SCOPE}`;

/** Gamma one-box alarm: the production one-box's standard alarm, for the gamma one-box scope. */
export const gammaOneBoxAlarmName = (pipeline: string, kind: StandardAlarm): string => serviceAlarmName(pipeline, GAMMA_ONE_BOX_SCOPE, kind);

/** Gamma one-box anomaly check (against the gamma fleet). */
export const gammaOneBoxAnomalyAlarmName = (pipeline: string, metric: AnomalyMetric): string => `${pipeline}-${GAMMA_ONE_BOX_SCOPE}-anomaly-${metric}`;

/** Whether a pipeline's gamma deploys one-box first: it has gamma and one-box (`oneBox: false` keeps gamma without). */
export const hasGammaOneBox = (p: { readonly oneBox?: boolean; readonly preProd: readonly string[] }): boolean =>
  p.oneBox !== false && p.preProd.includes(GAMMA_STAGE);
