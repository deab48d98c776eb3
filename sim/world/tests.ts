/**
 * The simulated world's test suites (docs/tests.md): each pipeline's CodeBuild test project
 * (its `codebuild` runner) or its team's test function (its `lambda` runner) runs the suite a
 * stage asks for for a few virtual minutes, against the endpoint it is told. A change whose
 * behaviour is `test-failure` fails the suites of the stages it names; every other suite passes.
 */
import type { ResolvedPipeline } from '../../core/model.ts';
import { testProjectName } from '../../core/naming.ts';
import { TestVariable, stageTestsOf } from '../../core/tests.ts';
import { TaskError } from '../lambda.ts';
import type { SimulatedCodeBuild } from './codebuild.ts';
import type { Behavior } from './model.ts';

/** Virtual time a suite takes: a CodeBuild build provisions its container first. */
const SUITE_MINUTES = { codebuild: 6, lambda: 3 } as const;
/** How many tests a simulated suite has, and how many of them a `test-failure` fails. */
const SUITE_SIZE = 40;
const FAILING = 3;

/** What the change's behaviour makes of the suite of `stage`: its failure message, or undefined when it passes. */
const failureOf = (behavior: Behavior | undefined, stage: string, suite: string, endpoint: string): string | undefined =>
  behavior?.kind === 'test-failure' && (behavior.stages as readonly string[]).includes(stage)
    ? `${FAILING} of ${SUITE_SIZE} ${suite} tests failed against ${endpoint}`
    : undefined;

/** The team test functions the pipeline machines invoke directly (`lambda:invoke`), outside handsoff's own handlers. */
export class SimulatedTestFunctions {
  private readonly functions = new Map<string, (payload: Record<string, unknown>) => Promise<unknown>>();

  register(name: string, fn: (payload: Record<string, unknown>) => Promise<unknown>): void {
    this.functions.set(name, fn);
  }

  has(name: string): boolean {
    return this.functions.has(name);
  }

  /** `lambda:invoke` of a test function: its answer as the task's `Payload`, as Step Functions gives it. */
  async invoke(name: string, payload: unknown): Promise<{ Payload: unknown; StatusCode: number; ExecutedVersion: string }> {
    const fn = this.functions.get(name);
    if (!fn) throw new TaskError('Lambda.ResourceNotFoundException', `Function not found: ${name}`);
    const answer = await fn(JSON.parse(JSON.stringify(payload ?? {})) as Record<string, unknown>);
    return { Payload: JSON.parse(JSON.stringify(answer ?? null)), StatusCode: 200, ExecutedVersion: '$LATEST' };
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Registers every pipeline's suites: its test project with the simulated CodeBuild, or its
 * test function. `behaviorOf` answers a change's scenario behaviour.
 */
export const registerStageTests = (
  pipelines: readonly ResolvedPipeline[],
  codebuild: SimulatedCodeBuild,
  functions: SimulatedTestFunctions,
  behaviorOf: (pipeline: string, change: string) => Behavior | undefined,
): void => {
  for (const p of pipelines) {
    const tests = stageTestsOf(p);
    if (tests.runner === 'lambda' && tests.function !== undefined) {
      const name = tests.function;
      functions.register(name, async (payload) => {
        const stage = String(payload.stage);
        const failure = failureOf(behaviorOf(String(payload.pipeline), String(payload.change)), stage, String(payload.suite), String(payload.endpoint));
        await sleep(SUITE_MINUTES.lambda * 60_000);
        return failure ? { passed: false, summary: failure } : { passed: true, summary: `${SUITE_SIZE} ${String(payload.suite)} tests passed` };
      });
    } else {
      codebuild.register(testProjectName(p.name), (_request, env) => {
        const stage = env[TestVariable.STAGE] ?? '';
        const failure = failureOf(behaviorOf(env[TestVariable.PIPELINE] ?? p.name, env[TestVariable.CHANGE] ?? ''), stage, env[TestVariable.SUITE] ?? '', env[TestVariable.ENDPOINT] ?? '');
        return failure
          ? { status: 'FAILED', durationMs: SUITE_MINUTES.codebuild * 60_000, message: `Error while executing command: npm run test:${env[TestVariable.SUITE]}. Reason: exit status 1 (${failure})` }
          : { status: 'SUCCEEDED', durationMs: SUITE_MINUTES.codebuild * 60_000 };
      });
    }
  }
};
