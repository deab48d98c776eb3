/**
 * The suites the pre-production stages run (docs/tests.md): which suite a stage runs, the
 * endpoints it runs against, what it is told, how long it may take, and what makes a `tests`
 * block of a pipeline wrong. One place for the state machine, the CDK app, the simulator and
 * the validator. Pure.
 */
import type { PreProdStage, ResolvedPipeline, TestRunner } from './model.ts';

/** What a stage's suite checks: alpha, beta and gamma the stage itself; zeta the new revision against production. */
export const TestSuite = {
  INTEGRATION: 'integration',
  BACKWARD_COMPATIBILITY: 'backward-compatibility',
} as const;
export type TestSuite = (typeof TestSuite)[keyof typeof TestSuite];

export const suiteOf = (stage: PreProdStage | string): TestSuite =>
  stage === 'zeta' ? TestSuite.BACKWARD_COMPATIBILITY : TestSuite.INTEGRATION;

/** Placeholders of an endpoint template. */
export const ENDPOINT_PLACEHOLDERS = ['pipeline', 'service', 'stage', 'region'] as const;
/** Each stage's own endpoint unless the pipeline names another form. */
export const DEFAULT_ENDPOINT_TEMPLATE = 'https://{stage}.{region}.{pipeline}.internal';
/** The `stage` production's endpoints are named with, in a template (zeta's suite calls them). */
export const PRODUCTION_STAGE = 'prod';

export const DEFAULT_TEST_TIMEOUT_MINUTES = 30;
/** CodeBuild runs a build for at most 8 hours; Lambda a function for at most 15 minutes. */
export const MAX_TEST_TIMEOUT_MINUTES: Readonly<Record<TestRunner, number>> = { codebuild: 480, lambda: 15 };

/** The `tests` block of a resolved pipeline, with its defaults. */
export interface StageTests {
  readonly runner: TestRunner;
  /** The team's test function (name or ARN), with the `lambda` runner. */
  readonly function?: string;
  readonly endpoint: string;
  readonly timeoutMinutes: number;
}

export const stageTestsOf = (p: Pick<ResolvedPipeline, 'tests'>): StageTests => ({
  runner: p.tests.runner,
  ...(p.tests.function !== undefined ? { function: p.tests.function } : {}),
  endpoint: p.tests.endpoint ?? DEFAULT_ENDPOINT_TEMPLATE,
  timeoutMinutes: p.tests.timeoutMinutes ?? DEFAULT_TEST_TIMEOUT_MINUTES,
});

const expand = (template: string, values: Record<(typeof ENDPOINT_PLACEHOLDERS)[number], string>): string =>
  template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? values[name as keyof typeof values] : whole));

/** The endpoint of a pre-production stage (in the pipeline's pre-production region). */
export const stageEndpoint = (p: Pick<ResolvedPipeline, 'name' | 'service' | 'tests' | 'preProdRegion'>, stage: string): string =>
  expand(stageTestsOf(p).endpoint, { pipeline: p.name, service: p.service, stage, region: p.preProdRegion });

/** Production's endpoints, one per region in wave order: what the backward-compatibility suite checks against. */
export const productionEndpoints = (p: Pick<ResolvedPipeline, 'name' | 'service' | 'tests' | 'waves'>): string[] =>
  p.waves.flatMap((w) => w.regions.map((r) => expand(stageTestsOf(p).endpoint, { pipeline: p.name, service: p.service, stage: PRODUCTION_STAGE, region: r.region })));

/**
 * What a suite is told (environment variables of the CodeBuild build, the payload's fields of
 * the Lambda function): the pipeline, change, revision, stage, suite, the stage's endpoint and,
 * for zeta, production's endpoints.
 */
export const TestVariable = {
  PIPELINE: 'HANDSOFF_PIPELINE',
  CHANGE: 'HANDSOFF_CHANGE',
  REVISION: 'HANDSOFF_REVISION',
  STAGE: 'HANDSOFF_STAGE',
  SUITE: 'HANDSOFF_SUITE',
  ENDPOINT: 'HANDSOFF_ENDPOINT',
  /** Comma-separated, zeta only. */
  PRODUCTION_ENDPOINTS: 'HANDSOFF_PRODUCTION_ENDPOINTS',
} as const;

export interface TestsProblem {
  readonly path: string[];
  readonly message: string;
}

const FUNCTION_PATTERN = /^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$/;

/** Every problem of a `tests` block at once (paths relative to it), each naming the fix. */
export const testsProblems = (t: { runner: TestRunner; function?: string; endpoint?: string; timeoutMinutes?: number }): TestsProblem[] => {
  const problems: TestsProblem[] = [];
  if (t.runner === 'lambda' && t.function === undefined) {
    problems.push({ path: ['function'], message: "the lambda runner needs the test function: set tests.function to its name or ARN (e.g. 'storefront-integration-tests')" });
  }
  if (t.runner === 'codebuild' && t.function !== undefined) {
    problems.push({ path: ['function'], message: "tests.function is only for the lambda runner: set tests.runner to 'lambda', or remove tests.function (the codebuild runner runs buildspec-tests.yml)" });
  }
  if (t.function !== undefined && !FUNCTION_PATTERN.test(t.function)) {
    problems.push({ path: ['function'], message: `tests.function must be a Lambda function name (1-64 letters, digits, '-', '_') or its ARN, optionally with a version or alias; received '${t.function}'` });
  }
  if (t.endpoint !== undefined) {
    const used = [...t.endpoint.matchAll(/\{(\w*)\}/g)].map((m) => m[1]!);
    const unknown = used.filter((u) => !(ENDPOINT_PLACEHOLDERS as readonly string[]).includes(u));
    if (!/^https?:\/\/\S+$/.test(t.endpoint)) {
      problems.push({ path: ['endpoint'], message: `tests.endpoint must be an http(s) URL template such as '${DEFAULT_ENDPOINT_TEMPLATE}'; received '${t.endpoint}'` });
    }
    if (unknown.length > 0) {
      problems.push({ path: ['endpoint'], message: `tests.endpoint names unknown placeholders ${unknown.map((u) => `{${u}}`).join(', ')}; known: ${ENDPOINT_PLACEHOLDERS.map((u) => `{${u}}`).join(', ')}` });
    }
    if (!used.includes('stage') || !used.includes('region')) {
      problems.push({ path: ['endpoint'], message: "tests.endpoint must name {stage} and {region}: each stage's suite runs against its own stage, and zeta's against each production region" });
    }
  }
  if (t.timeoutMinutes !== undefined) {
    const max = MAX_TEST_TIMEOUT_MINUTES[t.runner];
    if (!Number.isInteger(t.timeoutMinutes) || t.timeoutMinutes < 1 || t.timeoutMinutes > max) {
      problems.push({ path: ['timeoutMinutes'], message: `tests.timeoutMinutes must be a whole number of minutes from 1 to ${max} with the ${t.runner} runner; received ${t.timeoutMinutes}` });
    }
  }
  return problems;
};
