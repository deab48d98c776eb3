/**
 * Why a stage's suite failed, for `tests.failed` (statemachines/tests.ts hands over what the
 * runner said: the task error of a failed CodeBuild build or Lambda invocation, or the test
 * function's answer that was not `{"passed": true}`). A person reads this sentence.
 */
import { reasonFromCause } from './failure.ts';

const MAX_SHOWN = 300;

const shown = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}...` : text;
};

interface BuildPhase {
  PhaseType?: string;
  PhaseStatus?: string;
  Contexts?: { StatusCode?: string; Message?: string }[];
}

/** A failed build as `codebuild:startBuild.sync` reports it (the Build JSON in the Cause). */
const buildReason = (build: Record<string, unknown>): string => {
  const phases = Array.isArray(build.Phases) ? (build.Phases as BuildPhase[]) : [];
  const failed = phases.find((ph) => ph && ph.PhaseStatus !== undefined && ph.PhaseStatus !== 'SUCCEEDED');
  const message = failed?.Contexts?.map((c) => c.Message).find((m) => typeof m === 'string' && m !== '');
  const status = typeof build.BuildStatus === 'string' ? build.BuildStatus : 'FAILED';
  const where = failed?.PhaseType ? ` in its ${failed.PhaseType} phase` : '';
  return `test build ${String(build.Id ?? 'unknown')} ${status}${where}${message ? `: ${message}` : ''}`;
};

export const testsFailureReason = (failure: unknown): string => {
  if (!failure || typeof failure !== 'object') return 'the suite failed (no cause recorded)';
  const f = failure as { Error?: unknown; Cause?: unknown; answer?: unknown };
  if ('answer' in f) {
    const answer = f.answer as { passed?: unknown; summary?: unknown } | null;
    if (answer && typeof answer === 'object' && answer.passed === false) {
      return `the test function answered passed: false${typeof answer.summary === 'string' && answer.summary !== '' ? `: ${answer.summary}` : ''}`;
    }
    return `the test function's answer has no boolean 'passed' (received ${shown(answer)}); a suite passes only on {"passed": true}`;
  }
  if (f.Error === 'States.Timeout') return 'the suite ran past its timeout (tests.timeoutMinutes) and was stopped';
  if (typeof f.Cause === 'string' && f.Cause.trim().startsWith('{')) {
    try {
      const parsed = JSON.parse(f.Cause) as { Build?: unknown };
      if (parsed && typeof parsed.Build === 'object' && parsed.Build !== null) return buildReason(parsed.Build as Record<string, unknown>);
    } catch {
      // not JSON: read as text below
    }
  }
  const reason = reasonFromCause(f.Cause);
  return typeof f.Error === 'string' && f.Error !== '' && !reason.startsWith(f.Error) ? `${f.Error}: ${reason}` : reason;
};
