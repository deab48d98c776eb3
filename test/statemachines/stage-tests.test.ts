/**
 * The stage-test states of the pipeline machine (statemachines/tests.ts): where the suite sits
 * in each pre-production stage, what each runner is told, and that the lambda runner passes a
 * suite only on `{"passed": true}` (the Choice run in the local interpreter).
 */
import { StateMachine } from '../../sim/asl-runtime.ts';
import { describe, expect, it } from 'vitest';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import type { ResolvedPipeline } from '../../core/model.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { buildStateMachines } from '../../statemachines/index.ts';

const resolve = (input: Record<string, unknown>): ResolvedPipeline => {
  const v = validatePipeline({ name: 'storefront-api', service: 'StorefrontApi', team: 'storefront', regions: ['us-east-1', 'eu-west-1'], ...input }, 'test', { catalog: REGION_CATALOG });
  if (!v.ok) throw new Error(v.problems.map((p) => p.message).join('\n'));
  return v.pipeline;
};
const statesOf = (p: ResolvedPipeline): Record<string, any> => (buildStateMachines(p).pipeline as any).States;

/** The main line from a state: Next / Default, in order. */
const mainLine = (states: Record<string, any>, from: string, steps: number): string[] => {
  const out = [from];
  let at = from;
  for (let i = 0; i < steps; i++) {
    at = states[at].Next ?? states[at].Default;
    out.push(at);
  }
  return out;
};

describe('the codebuild runner', () => {
  const p = resolve({ preProd: ['alpha', 'beta', 'gamma', 'zeta'], tests: { timeoutMinutes: 45 } });
  const states = statesOf(p);

  it('runs each stage suite between its deployment and its bake', () => {
    for (const id of ['Alpha', 'Beta', 'Gamma', 'Zeta']) {
      expect(mainLine(states, `${id}.Deploy`, 3)).toEqual([`${id}.Deploy`, `${id}.Tests`, `${id}.TestsPassed`, `${id}.Bake`]);
    }
  });

  it("starts the pipeline's test project on the change's commit, telling the suite what it checks", () => {
    const task = states['Beta.Tests'];
    expect(task.Resource).toBe('arn:aws:states:::codebuild:startBuild.sync');
    expect(task.Parameters).toMatchObject({ ProjectName: 'storefront-api-tests', 'SourceVersion.$': '$.revision', TimeoutInMinutesOverride: 45 });
    const env = Object.fromEntries(task.Parameters.EnvironmentVariablesOverride.map((v: any) => [v.Name, v.Value ?? v['Value.$']]));
    expect(env).toEqual({
      HANDSOFF_STAGE: 'beta',
      HANDSOFF_SUITE: 'integration',
      HANDSOFF_ENDPOINT: 'https://beta.us-west-2.storefront-api.internal',
      HANDSOFF_PIPELINE: '$.pipeline',
      HANDSOFF_CHANGE: '$.change',
      HANDSOFF_REVISION: '$.revision',
    });
    // The task outlasts the build's own timeout, never the other way round.
    expect(task.TimeoutSeconds).toBeGreaterThan(45 * 60);
  });

  it("gives zeta's backward-compatibility suite production's endpoints, in wave order", () => {
    const env = Object.fromEntries(states['Zeta.Tests'].Parameters.EnvironmentVariablesOverride.map((v: any) => [v.Name, v.Value ?? v['Value.$']]));
    expect(env.HANDSOFF_SUITE).toBe('backward-compatibility');
    expect(env.HANDSOFF_ENDPOINT).toBe('https://zeta.us-west-2.storefront-api.internal');
    expect(env.HANDSOFF_PRODUCTION_ENDPOINTS.split(',').sort()).toEqual(['https://prod.eu-west-1.storefront-api.internal', 'https://prod.us-east-1.storefront-api.internal']);
  });

  it('does not retry a failed build: it reports tests.failed, then rolls the stage back', () => {
    const retried = states['Beta.Tests'].Retry.flatMap((r: any) => r.ErrorEquals);
    expect(retried).not.toContain('States.TaskFailed');
    expect(retried).not.toContain('States.ALL');
    expect(states['Beta.Tests'].Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.testsError', Next: 'Beta.TestsFailed' }]);
    expect(states['Beta.TestsFailed'].Parameters.Payload).toMatchObject({ type: 'tests.failed', stage: 'beta', fields: { suite: 'integration', 'failure.$': '$.testsError' } });
    // EventBridge down must not stop the rollback.
    expect(states['Beta.TestsFailed'].Catch[0].Next).toBe('Beta.TestsFailure');
    expect(states['Beta.TestsFailure'].Next).toBe('Beta.Rollback');
    expect(JSON.parse(states['Beta.TestsFailure'].Parameters.Cause)).toEqual({ reason: 'the integration suite failed in beta', stage: 'beta', region: 'us-west-2' });
  });

  it('names the endpoints after the pipeline template', () => {
    const custom = statesOf(resolve({ tests: { endpoint: 'https://{service}-{stage}.{region}.example.com/health' } }));
    const env = Object.fromEntries(custom['Gamma.Tests'].Parameters.EnvironmentVariablesOverride.map((v: any) => [v.Name, v.Value ?? v['Value.$']]));
    expect(env.HANDSOFF_ENDPOINT).toBe('https://StorefrontApi-gamma.us-west-2.example.com/health');
  });
});

describe('the lambda runner', () => {
  const p = resolve({ tests: { runner: 'lambda', function: 'storefront-tests', timeoutMinutes: 10 } });
  const states = statesOf(p);

  it("invokes the team's function with the suite's inputs", () => {
    const task = states['Alpha.Tests'];
    expect(task.Resource).toBe('arn:aws:states:::lambda:invoke');
    expect(task.Parameters).toEqual({
      FunctionName: 'storefront-tests',
      Payload: {
        stage: 'alpha',
        suite: 'integration',
        endpoint: 'https://alpha.us-west-2.storefront-api.internal',
        'pipeline.$': '$.pipeline',
        'change.$': '$.change',
        'revision.$': '$.revision',
      },
    });
    expect(task.TimeoutSeconds).toBeGreaterThan(10 * 60);
    // A crash or timeout of the team's function is a failed suite, not run again.
    const retried = task.Retry.flatMap((r: any) => r.ErrorEquals);
    for (const e of ['Lambda.Unknown', 'Sandbox.Timedout', 'States.TaskFailed', 'States.ALL']) expect(retried).not.toContain(e);
  });

  it('passes the suite only on {"passed": true}; any other answer fails it', async () => {
    const answer = states['Alpha.TestsAnswer'];
    const decide = async (payload: unknown): Promise<string> => {
      const def = {
        StartAt: 'Answer',
        States: {
          Answer: { ...answer, Choices: answer.Choices.map((c: any) => ({ ...c, Next: 'Passed' })), Default: 'Refused' },
          Passed: { Type: 'Pass', Result: 'passed', End: true },
          Refused: { Type: 'Pass', Result: 'refused', End: true },
        },
      };
      return (await new StateMachine(def as any, { validationOptions: { noValidate: true } }).run({ tests: { answer: payload } } as any).result) as string;
    };
    expect(await decide({ passed: true, summary: '40 passed' })).toBe('passed');
    for (const bad of [{ passed: false }, { passed: 'true' }, { passed: 1 }, {}, null, 'passed', [true]]) {
      expect(await decide(bad), JSON.stringify(bad)).toBe('refused');
    }
    expect(answer.Default).toBe('Alpha.TestsRefused');
    expect(states['Alpha.TestsRefused']).toMatchObject({ Parameters: { Error: 'TestsFailed', 'answer.$': '$.tests.answer' }, Next: 'Alpha.TestsFailed' });
  });

  it('refuses to build a lambda runner without its function', () => {
    expect(() => buildStateMachines({ ...p, tests: { runner: 'lambda' } })).toThrow(/tests\.function/);
  });
});
