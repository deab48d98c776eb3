/**
 * The stage suites' runners as the control plane's template says (synthesized once, cdk-nag
 * on: Template.fromStack throws on any finding not acknowledged with a reason): a CodeBuild
 * test project per codebuild-runner pipeline, its own logs and least-privilege role, the
 * pipeline machine allowed to run exactly that project; the team's function for a lambda runner.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedPipeline } from '../../core/model.ts';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { buildHandsoffApp } from '../../infra/stacks/handsoff-app.ts';
import { buildStateMachines } from '../../statemachines/index.ts';
import { fixtureHandlerEntry, testApp } from './fixtures.ts';

type Resource = { Type: string; Properties: Record<string, any> };
type Statement = { Effect: string; Action: string | string[]; Resource?: unknown };

const resolve = (json: unknown): ResolvedPipeline => {
  const v = validatePipeline(json, 'test', { catalog: REGION_CATALOG });
  if (!v.ok) throw new Error(v.problems.map((p) => p.message).join('\n'));
  return v.pipeline;
};
const pipelines = [
  resolve({ name: 'storefront-api', service: 'StorefrontApi', team: 'storefront', regions: ['us-east-1'], tests: { timeoutMinutes: 45 } }),
  resolve({ name: 'checkout-svc', service: 'CheckoutService', team: 'storefront', regions: ['us-east-1'], tests: { runner: 'lambda', function: 'checkout-tests:live' } }),
];

let resources: Record<string, Resource>;
let app: App;
beforeAll(() => {
  app = testApp();
  const built = buildHandsoffApp(app, { pipelines, buildStateMachines, handlerEntry: fixtureHandlerEntry, homeRegion: 'us-east-1' });
  resources = Template.fromStack(built.controlPlane).toJSON().Resources;
});

const ofType = (type: string): Array<[string, Resource]> => Object.entries(resources).filter(([, r]) => r.Type === type);
const roleStatements = (prefix: string): Statement[] =>
  ofType('AWS::IAM::Policy')
    .filter(([, p]) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref.startsWith(prefix)))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
const actions = (s: Statement): string[] => [s.Action].flat();
const text = (v: unknown): string => JSON.stringify(v);

describe('the codebuild runner', () => {
  const project = (): [string, Resource] => {
    // The build projects (test/infra/build.test.ts) are the other projects of the control plane.
    const projects = ofType('AWS::CodeBuild::Project').filter(([, p]) => String(p.Properties.Name).endsWith('-tests'));
    expect(projects.map(([, p]) => p.Properties.Name)).toEqual(['storefront-api-tests']);
    return projects[0]!;
  };

  it("builds the change's commit of the pipeline's repository with its buildspec-tests.yml, for the suite's timeout", () => {
    const [, p] = project();
    expect(p.Properties.Source).toMatchObject({ Type: 'CODECOMMIT', BuildSpec: 'buildspec-tests.yml' });
    expect(text(p.Properties.Source.Location)).toContain('storefront-api');
    expect(p.Properties.TimeoutInMinutes).toBe(45);
    expect(p.Properties.Environment).toMatchObject({ PrivilegedMode: false, ComputeType: 'BUILD_GENERAL1_SMALL' });
    expect(p.Properties.Artifacts).toEqual({ Type: 'NO_ARTIFACTS' });
    // Its own log group, kept a year.
    expect(p.Properties.LogsConfig.CloudWatchLogs).toMatchObject({ Status: 'ENABLED' });
    const logs = ofType('AWS::Logs::LogGroup').find(([, l]) => l.Properties.LogGroupName === '/aws/codebuild/storefront-api-tests');
    expect(logs?.[1].Properties.RetentionInDays).toBe(365);
  });

  it("gives the project's role its repository and logs, and nothing of handsoff's, no wildcard action", () => {
    const [, p] = project();
    const roleId = p.Properties.ServiceRole['Fn::GetAtt'][0] as string;
    const statements = roleStatements(roleId);
    const all = statements.flatMap(actions);
    expect(all).toContain('codecommit:GitPull');
    for (const a of all) expect(a, a).toMatch(/^(codecommit:GitPull|logs:(CreateLogGroup|CreateLogStream|PutLogEvents)|codebuild:(CreateReportGroup|CreateReport|UpdateReport|BatchPutTestCases|BatchPutCodeCoverages))$/);
    for (const s of statements) expect(text(s.Resource), text(s)).not.toBe('"*"');
  });

  it('lets the pipeline machine start, follow and stop builds of that project only', () => {
    const statements = roleStatements('StorefrontApiPipelineRole');
    const codebuild = statements.filter((s) => actions(s).some((a) => a.startsWith('codebuild:')) && text(s.Resource).includes('TestsProject'));
    expect(codebuild).toHaveLength(1);
    expect(actions(codebuild[0]!).sort()).toEqual(['codebuild:BatchGetBuilds', 'codebuild:StartBuild', 'codebuild:StopBuild']);
    expect(text(codebuild[0]!.Resource)).toContain(project()[0]);
    const rule = statements.find((s) => text(s.Resource).includes('StepFunctionsGetEventForCodeBuildStartBuildRule'));
    expect(actions(rule!).sort()).toEqual(['events:DescribeRule', 'events:PutRule', 'events:PutTargets']);
    // Nothing of the other pipeline's runner.
    expect(statements.filter((s) => text(s.Resource).includes('checkout-tests'))).toEqual([]);
  });
});

describe('the lambda runner', () => {
  it("lets the pipeline machine invoke the team's function (its alias) and no test project", () => {
    const statements = roleStatements('CheckoutSvcPipelineRole');
    const invokes = statements.filter((s) => actions(s).includes('lambda:InvokeFunction'));
    expect(invokes.map((s) => text(s.Resource)).filter((r) => r.includes('checkout-tests'))).toEqual([expect.stringContaining(':function:checkout-tests:live')]);
    // Its build project only (test/infra/build.test.ts): no test project to run.
    expect(statements.filter((s) => actions(s).some((a) => a.startsWith('codebuild:')) && !text(s.Resource).includes('BuildProject'))).toEqual([]);
    expect(ofType('AWS::CodeBuild::Project').map(([, p]) => p.Properties.Name)).not.toContain('checkout-svc-tests');
  });
});

describe('synth', () => {
  it('needs no lookup and is cdk-nag clean', () => {
    expect(app.synth().manifest.missing ?? []).toEqual([]);
    expect(resources).toBeDefined();
  });
});
