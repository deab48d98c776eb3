/**
 * Turning what the state machine knows about a failure (a task error's `Cause`, or the
 * outcomes of a wave's regions) into the reason a person reads in `change.failed`.
 */
import type { RegionOutcome, StepFailureCause } from '../../core/contracts.ts';
import { buildFailureReason, failedBuildOf } from '../../core/build.ts';

/** A Step Functions `Cause`: the JSON of StepFailureCause from handsoff, or any text (`build`: what a failed build is called). */
export const reasonFromCause = (cause: unknown, build = 'build'): string => {
  if (typeof cause !== 'string' || cause.trim() === '') return 'unknown failure (no cause recorded)';
  try {
    const parsed = JSON.parse(cause) as Partial<StepFailureCause> & { errorMessage?: string; errorType?: string };
    if (parsed && typeof parsed === 'object') {
      if (typeof parsed.reason === 'string') return parsed.detail ? `${parsed.reason}: ${parsed.detail}` : parsed.reason;
      // A failed build, as codebuild:startBuild.sync reports it: the phase that failed and why.
      const failed = failedBuildOf(parsed);
      if (failed) return buildFailureReason(failed, build);
      // A Lambda error as lambda:invoke reports it.
      if (typeof parsed.errorMessage === 'string') return `${parsed.errorType ?? 'Error'}: ${parsed.errorMessage}`;
    }
  } catch {
    // not JSON: the cause is already text (e.g. States.Timeout)
  }
  return cause;
};

/** The `region` a handsoff failure cause (JSON of StepFailureCause) names, if any. */
export const regionFromCause = (cause: unknown): string | undefined => {
  if (typeof cause !== 'string' || !cause.trim().startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(cause) as Partial<StepFailureCause> | null;
    return parsed && typeof parsed.region === 'string' && parsed.region.length > 0 ? parsed.region : undefined;
  } catch {
    return undefined;
  }
};

/** The first failed region of a wave, with its reason. */
export const firstFailedRegion = (outcomes: unknown): { region: string; reason: string } | undefined => {
  if (!Array.isArray(outcomes)) return undefined;
  const failed = (outcomes as RegionOutcome[]).find((o) => o && o.status === 'failed');
  return failed ? { region: failed.region, reason: reasonFromCause(failed.reason) } : undefined;
};

/**
 * What the rollbacks of the earlier stages of a failed change could not restore (the pipeline
 * machine's `$.earlierRollbacks`: one entry per stage, `failed` naming a stage whose rollback
 * failed, or the error of the whole step): a sentence for the change's reason, or undefined.
 */
export const unrestoredEarlier = (rollbacks: unknown): string | undefined => {
  if (rollbacks === undefined) return undefined;
  if (!Array.isArray(rollbacks)) {
    const cause = (rollbacks as { Cause?: unknown } | null)?.Cause ?? (rollbacks as { Error?: unknown } | null)?.Error;
    return `the earlier stages could not be rolled back (${reasonFromCause(cause)}); the change may still run there`;
  }
  const failed = rollbacks.filter((r): r is { stage: string; failed: unknown } => !!r && typeof r === 'object' && 'failed' in r);
  if (failed.length === 0) return undefined;
  return `could not roll back ${failed.map((r) => `${r.stage} (${reasonFromCause(r.failed)})`).join(', ')}; the change may still run there`;
};
