/**
 * The `tests` block of a pipeline (docs/tests.md): the runner, the lambda runner's function,
 * the endpoint template and the timeout; every problem at once, each naming the field and the fix.
 */
import { describe, expect, it } from 'vitest';
import { formatProblem, validatePipeline, type Problem } from '../../core/pipeline/resolve.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { productionEndpoints, stageEndpoint, stageTestsOf } from '../../core/tests.ts';
import { Pipeline } from '../../infra/pipeline/definition.ts';

const minimal = { name: 'storefront-api', service: 'StorefrontApi', team: 'storefront', regions: ['us-east-1', 'eu-west-1'] };
const validate = (tests: unknown) => validatePipeline({ ...minimal, tests }, 'p.json', { catalog: REGION_CATALOG });
const problemsOf = (tests: unknown): Problem[] => {
  const r = validate(tests);
  if (r.ok) throw new Error('expected problems, the pipeline validated');
  return r.problems;
};

describe('tests defaults', () => {
  it('runs a CodeBuild suite for 30 minutes at most against each stage named after the pipeline', () => {
    const r = validatePipeline(minimal, 'p.json', { catalog: REGION_CATALOG });
    if (!r.ok) throw new Error(r.problems.map(formatProblem).join('\n'));
    expect(stageTestsOf(r.pipeline)).toEqual({ runner: 'codebuild', endpoint: 'https://{stage}.{region}.{pipeline}.internal', timeoutMinutes: 30 });
    expect(stageEndpoint(r.pipeline, 'gamma')).toBe('https://gamma.us-west-2.storefront-api.internal');
    expect(productionEndpoints(r.pipeline).sort()).toEqual(['https://prod.eu-west-1.storefront-api.internal', 'https://prod.us-east-1.storefront-api.internal']);
  });

  it('keeps the lambda runner, its function (name or ARN with alias) and timeout', () => {
    for (const fn of ['storefront-tests', 'arn:aws:lambda:us-west-2:123456789012:function:storefront-tests:live']) {
      const r = validate({ runner: 'lambda', function: fn, timeoutMinutes: 15 });
      if (!r.ok) throw new Error(r.problems.map(formatProblem).join('\n'));
      expect(r.pipeline.tests).toEqual({ runner: 'lambda', function: fn, timeoutMinutes: 15 });
    }
  });
});

describe('tests problems', () => {
  it('asks for the function of a lambda runner', () => {
    const [problem, ...more] = problemsOf({ runner: 'lambda' });
    expect(more).toEqual([]);
    expect(problem!.path).toBe('tests.function');
    expect(problem!.message).toMatch(/the lambda runner needs the test function: set tests\.function/);
  });

  it('refuses a function with the codebuild runner instead of ignoring it', () => {
    expect(problemsOf({ function: 'storefront-tests' }).map((p) => [p.path, p.message])).toEqual([
      ['tests.function', expect.stringMatching(/only for the lambda runner: set tests\.runner to 'lambda', or remove tests\.function/)],
    ]);
  });

  it('refuses a function name Lambda would not take', () => {
    expect(problemsOf({ runner: 'lambda', function: 'my tests!' })[0]!.message).toMatch(/must be a Lambda function name .* received 'my tests!'/);
  });

  it('reports every endpoint problem at once', () => {
    const messages = problemsOf({ endpoint: 'ftp://{stage}.{zone}.example.com' }).map((p) => p.message);
    expect(messages).toEqual([
      expect.stringMatching(/must be an http\(s\) URL template/),
      expect.stringMatching(/unknown placeholders \{zone\}; known: \{pipeline\}, \{service\}, \{stage\}, \{region\}/),
      expect.stringMatching(/must name \{stage\} and \{region\}/),
    ]);
  });

  it('bounds the timeout by what the runner allows', () => {
    expect(problemsOf({ runner: 'lambda', function: 'f', timeoutMinutes: 20 })[0]!.message).toMatch(/from 1 to 15 with the lambda runner; received 20/);
    expect(problemsOf({ timeoutMinutes: 481 })[0]!.message).toMatch(/from 1 to 480 with the codebuild runner/);
    expect(problemsOf({ timeoutMinutes: 2.5 })[0]!.path).toBe('tests.timeoutMinutes');
  });

  it('refuses an unknown field of tests', () => {
    expect(problemsOf({ runner: 'codebuild', suite: 'smoke' })[0]!.path).toBe('tests.suite');
  });
});

describe('pipelines as code', () => {
  it('carries the tests block into the JSON form', () => {
    const p = new Pipeline({ ...minimal, tests: { runner: 'lambda', function: 'storefront-tests', endpoint: 'https://{stage}.{region}.example.com', timeoutMinutes: 10 } });
    expect(p.toJSON().tests).toEqual({ runner: 'lambda', function: 'storefront-tests', endpoint: 'https://{stage}.{region}.example.com', timeoutMinutes: 10 });
  });
});
