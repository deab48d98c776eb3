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
  const reason = reasonFromCause(f.Cause, 'test build');
  // States.TaskFailed says no more than a cause it comes with (a failed build's); another error name, or one without a cause, is news.
  const hasCause = typeof f.Cause === 'string' && f.Cause.trim() !== '';
  const named = typeof f.Error === 'string' && f.Error !== '' && (f.Error !== 'States.TaskFailed' || !hasCause);
  return named && !reason.startsWith(f.Error as string) ? `${f.Error as string}: ${reason}` : reason;
};
