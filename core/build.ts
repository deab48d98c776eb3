/**
 * The build stage's contract between the pipeline machine, the pipeline's CodeBuild project
 * (its buildspec, infra/constructs/control-plane/build-project.ts) and the simulated build
 * (sim/world/build.ts): the variables the machine hands the build, the ones the build
 * exports, and how a failed build's record becomes the reason a person reads. Pure.
 */

/** Environment variables the pipeline machine overrides on every build (StartBuild). */
export const BuildEnv = {
  PIPELINE: 'HANDSOFF_PIPELINE',
  CHANGE: 'HANDSOFF_CHANGE',
  REVISION: 'HANDSOFF_REVISION',
  ARTIFACT_BUCKET: 'HANDSOFF_ARTIFACT_BUCKET',
  ARTIFACT_KEY: 'HANDSOFF_ARTIFACT_KEY',
} as const;

/** What the buildspec exports (`env.exported-variables`): the uploaded object and its checksum. */
export const BuildExport = {
  /** Hex SHA-256 of the bundle the build uploaded (S3 checked it on upload). */
  SHA256: 'ARTIFACT_SHA256',
  /** S3 version id of the uploaded object. */
  VERSION_ID: 'ARTIFACT_VERSION_ID',
} as const;

/** A build's record as `codebuild:startBuild.sync` reports it (the BatchGetBuilds shape, in part). */
export interface BuildRecord {
  Id?: string;
  BuildStatus?: string;
  Phases?: { PhaseType?: string; PhaseStatus?: string; Contexts?: { StatusCode?: string; Message?: string }[] }[];
  ExportedEnvironmentVariables?: { Name?: string; Value?: string }[];
}

/** The value the build exported as `name`, if any. */
export const exportedValue = (build: BuildRecord | undefined, name: string): string | undefined =>
  build?.ExportedEnvironmentVariables?.find((v) => v.Name === name)?.Value || undefined;

const FAILED_PHASE = new Set(['FAILED', 'FAULT', 'TIMED_OUT', 'STOPPED']);

/** Why a build failed: the phase that failed and its message, from the build's record (`what`: 'build', 'test build'). */
export const buildFailureReason = (build: BuildRecord, what = 'build'): string => {
  const phase = build.Phases?.find((p) => p.PhaseStatus && FAILED_PHASE.has(p.PhaseStatus));
  const message = phase?.Contexts?.map((c) => c.Message).find((m) => typeof m === 'string' && m.length > 0);
  const id = build.Id ? ` (${build.Id})` : '';
  if (!phase) return `the ${what} ended ${build.BuildStatus ?? 'without a status'}${id}`;
  return `the ${what} failed in its ${phase.PhaseType ?? 'unknown'} phase${message ? `: ${message}` : ''}${id}`;
};

/**
 * A Step Functions Cause that is a failed build (`{"Build": {...}}`, what
 * `codebuild:startBuild.sync` fails with): its record, else undefined.
 */
export const failedBuildOf = (parsed: unknown): BuildRecord | undefined => {
  const build = (parsed as { Build?: unknown } | null)?.Build;
  return build && typeof build === 'object' && 'BuildStatus' in build ? (build as BuildRecord) : undefined;
};

/**
 * User metadata of a region's copy of an artifact (S3 `x-amz-meta-*`): the SHA-256 the build
 * exported and the source version it was copied from. S3 computes the copy's own SHA-256;
 * before a deployment or a rollback the two must agree.
 */
export const CopyMetadata = {
  SHA256: 'handsoff-sha256',
  SOURCE_VERSION: 'handsoff-source-version',
} as const;
