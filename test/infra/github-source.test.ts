/**
 * The control plane synthesized with a GitHub source and with the default (CodeCommit), both
 * WITH cdk-nag (Template.fromStack throws on any unacknowledged finding): the connection, the
 * source pipelines and their trigger, the token secret and its one grant, and nothing of the
 * other source in either.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { GitHubTriggerParameters, sourceFromContext } from '../../core/source.ts';
import { ENV } from '../../lambdas/shared/config.ts';
import { GITHUB_TOKEN_SECRET_NAME, sourcePipelineName } from '../../infra/constructs/control-plane/github-source.ts';
import { buildHandsoffApp } from '../../infra/stacks/handsoff-app.ts';
import { pipelineStateMachineName } from '../../infra/stacks/arns.ts';
import { buildStateMachines } from '../../statemachines/index.ts';
import { fixtureHandlerEntry, fixturePipelines, testApp, validationFindings } from './fixtures.ts';

type Resource = { Type: string; Properties: Record<string, any> };
type Statement = { Effect: string; Action: string | string[]; Resource?: unknown; Principal?: any; Condition?: Record<string, Record<string, unknown>> };

/** The control plane's resources; with `validate`, CDK's CloudFormation validation runs and must find nothing. */
const synth = (context: { source?: string; repository?: string }, { validate = false } = {}): Record<string, Resource> => {
  const app = testApp({}, { validate });
  const built = buildHandsoffApp(app, {
    pipelines: fixturePipelines,
    buildStateMachines,
    handlerEntry: fixtureHandlerEntry,
    homeRegion: 'us-east-1',
    source: sourceFromContext(context),
  });
  const resources = Template.fromStack(built.controlPlane).toJSON().Resources;
  if (validate) expect(validationFindings(app)).toEqual([]);
  return resources;
};

let github: Record<string, Resource>;
let codecommit: Record<string, Resource>;
beforeAll(() => {
  github = synth({ source: 'github', repository: 'acme/storefront' }, { validate: true });
  codecommit = synth({});
});

const ofType = (resources: Record<string, Resource>, type: string): Array<[string, Resource]> => Object.entries(resources).filter(([, r]) => r.Type === type);
const statements = (resources: Record<string, Resource>, rolePrefix?: string): Statement[] =>
  ofType(resources, 'AWS::IAM::Policy')
    .filter(([, p]) => !rolePrefix || p.Properties.Roles.some((r: { Ref: string }) => r.Ref.startsWith(rolePrefix)))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
const actions = (s: Statement): string[] => [s.Action].flat();
const fn = (resources: Record<string, Resource>, prefix: string): [string, Resource] => ofType(resources, 'AWS::Lambda::Function').find(([id]) => id.startsWith(prefix))!;

describe('-c source=github -c repository=OWNER/NAME', () => {
  it('creates the CodeConnections connection to GitHub (PENDING until a person completes the handshake)', () => {
    const connections = ofType(github, 'AWS::CodeConnections::Connection');
    expect(connections).toHaveLength(1);
    expect(connections[0]![1].Properties).toEqual({ ConnectionName: 'handsoff-github', ProviderType: 'GitHub' });
  });

  it('runs one V2 source pipeline per pipeline on pushes to main of the repository, handing start-change the commit and the execution', () => {
    const [connectionId] = ofType(github, 'AWS::CodeConnections::Connection')[0]!;
    const [startChangeId] = fn(github, 'StartChangeFunction');
    const pipelines = ofType(github, 'AWS::CodePipeline::Pipeline');
    expect(pipelines.map(([, r]) => r.Properties.Name).sort()).toEqual(fixturePipelines.map((p) => sourcePipelineName(p.name)).sort());
    for (const p of fixturePipelines) {
      const [, r] = pipelines.find(([, x]) => x.Properties.Name === sourcePipelineName(p.name))!;
      expect(r.Properties).toMatchObject({ PipelineType: 'V2', ExecutionMode: 'PARALLEL' });
      expect(r.Properties.Triggers).toEqual([
        { ProviderType: 'CodeStarSourceConnection', GitConfiguration: { SourceActionName: 'GitHub', Push: [{ Branches: { Includes: ['main'] } }] } },
      ]);
      const [source, start] = r.Properties.Stages.map((s: { Actions: any[] }) => s.Actions[0]);
      expect(source.ActionTypeId).toMatchObject({ Category: 'Source', Provider: 'CodeStarSourceConnection' });
      expect(source.Configuration).toEqual({
        ConnectionArn: { 'Fn::GetAtt': [connectionId, 'ConnectionArn'] },
        FullRepositoryId: 'acme/storefront',
        BranchName: 'main',
        OutputArtifactFormat: 'CODE_ZIP',
      });
      expect(start.ActionTypeId).toMatchObject({ Category: 'Invoke', Provider: 'Lambda' });
      expect(start.Configuration.FunctionName).toEqual({ Ref: startChangeId });
      // The UserParameters are start-change's contract, with the pipeline's own machine.
      const [, parts] = start.Configuration.UserParameters['Fn::Join'] as [string, unknown[]];
      const machine = ofType(github, 'AWS::StepFunctions::StateMachine').find(([, m]) => m.Properties.StateMachineName === pipelineStateMachineName(p.name))!;
      const json = parts.map((x) => (typeof x === 'string' ? x : JSON.stringify(x) === JSON.stringify({ Ref: machine[0] }) ? 'MACHINE' : '?')).join('');
      const params = JSON.parse(json);
      expect(params).toEqual({
        pipeline: p.name,
        stateMachineArn: 'MACHINE',
        repository: 'acme/storefront',
        commit: '#{Source.CommitId}',
        branch: '#{Source.BranchName}',
        authorDate: '#{Source.AuthorDate}',
        execution: '#{codepipeline.PipelineExecutionId}',
      });
      expect(GitHubTriggerParameters.safeParse({ ...params, commit: 'a'.repeat(40) }).success).toBe(true);
    }
  });

  it('lets only this account\'s CodePipeline assume the source role, which may use the connection, keep its artifacts and invoke start-change, nothing more', () => {
    const roles = ofType(github, 'AWS::IAM::Role').filter(([id]) => id.startsWith('SourcePipelineRole'));
    expect(roles).toHaveLength(1);
    const trust = roles[0]![1].Properties.AssumeRolePolicyDocument.Statement as Statement[];
    expect(trust).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'codepipeline.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } },
    ]);
    expect(statements(github, 'SourcePipelineRole').flatMap(actions).sort()).toEqual(
      [
        'codeconnections:UseConnection',
        'codestar-connections:UseConnection',
        'lambda:InvokeFunction',
        's3:GetBucketVersioning',
        's3:GetObject',
        's3:GetObjectVersion',
        's3:PutObject',
        's3:PutObjectAcl',
      ].sort(),
    );
  });

  it('keeps the token in Secrets Manager: the review gate is told its ARN and may GetSecretValue on it alone; no other role may read a secret', () => {
    const secrets = ofType(github, 'AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(1);
    const [secretId, secret] = secrets[0]!;
    expect(secret.Properties.Name).toBe(GITHUB_TOKEN_SECRET_NAME);
    const [, gate] = fn(github, 'ReviewGateFunction');
    expect(gate.Properties.Environment.Variables).toMatchObject({ [ENV.SOURCE]: 'github', [ENV.GITHUB_TOKEN_SECRET]: { Ref: secretId } });
    const gateStatements = statements(github, 'ReviewGateRole');
    expect(gateStatements.filter((s) => actions(s).some((a) => a.startsWith('secretsmanager:')))).toEqual([
      { Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: { Ref: secretId } },
    ]);
    const readers = ofType(github, 'AWS::IAM::Policy').filter(([, p]) =>
      (p.Properties.PolicyDocument.Statement as Statement[]).some((s) => actions(s).some((a) => a.startsWith('secretsmanager:'))),
    );
    expect(readers.map(([id]) => id)).toEqual([expect.stringMatching(/^ReviewGateRole/)]);
  });

  it('reads nothing of CodeCommit: no push rules, no CodeCommit action in any policy', () => {
    expect(ofType(github, 'AWS::Events::Rule').filter(([, r]) => JSON.stringify(r.Properties.EventPattern ?? {}).includes('aws.codecommit'))).toEqual([]);
    expect(statements(github).flatMap(actions).filter((a) => a.startsWith('codecommit:'))).toEqual([]);
    // start-change is invoked by the source pipelines' role, not by EventBridge.
    expect(ofType(github, 'AWS::Lambda::Permission').filter(([, r]) => r.Properties.Principal === 'events.amazonaws.com' && JSON.stringify(r.Properties.FunctionName).includes('StartChange'))).toEqual([]);
  });

  it('lets start-change report its job to CodePipeline (PutJob* have no resource-level permissions)', () => {
    expect(statements(github, 'StartChangeRole').filter((s) => actions(s).some((a) => a.startsWith('codepipeline:')))).toEqual([
      { Action: ['codepipeline:PutJobFailureResult', 'codepipeline:PutJobSuccessResult'], Effect: 'Allow', Resource: '*' },
    ]);
  });
});

describe('the build and test projects with a GitHub source', () => {
  const projects = (resources: Record<string, Resource>) => ofType(resources, 'AWS::CodeBuild::Project');
  const artifactsId = (resources: Record<string, Resource>) => ofType(resources, 'AWS::S3::Bucket').find(([id]) => id.startsWith('Artifacts'))![0];

  it("read the commit's archive from the artifact bucket (an S3 source), never GitHub itself", () => {
    expect(projects(github).length).toBeGreaterThan(0);
    for (const [id, project] of projects(github)) {
      expect(project.Properties.Source.Type, id).toBe('S3');
      expect(JSON.stringify(project.Properties.Source.Location), id).toContain(artifactsId(github));
      expect(JSON.stringify(project.Properties.Source.Location), id).toContain('/sources/');
      expect(project.Properties.Triggers?.Webhook ?? false, id).toBe(false);
    }
    expect(ofType(github, 'AWS::CodeBuild::SourceCredential')).toEqual([]);
  });

  it("give each project's role its own pipeline's archives only", () => {
    for (const [id, project] of projects(github)) {
      const roleId = project.Properties.ServiceRole['Fn::GetAtt'][0] as string;
      const pipeline = String(project.Properties.Name).replace(/^handsoff-/, '').replace(/-(build|tests)$/, '');
      const reads = statements(github, roleId).filter((s) => actions(s).includes('s3:GetObject'));
      expect(reads.length, id).toBeGreaterThan(0);
      for (const r of reads) expect(JSON.stringify(r.Resource), id).toMatch(new RegExp(`/sources/${pipeline}/`));
      expect(statements(github, roleId).flatMap(actions), id).not.toContain('codecommit:GitPull');
    }
  });

  it('run the builds in the isolated network, which serves S3 and the logs but no Git endpoint', () => {
    for (const [id, project] of projects(github).filter(([, p]) => String(p.Properties.Name).endsWith('-build'))) {
      expect(project.Properties.VpcConfig.Subnets.length, id).toBeGreaterThan(0);
    }
    expect(ofType(github, 'AWS::EC2::InternetGateway')).toEqual([]);
    expect(ofType(github, 'AWS::EC2::NatGateway')).toEqual([]);
    const services = ofType(github, 'AWS::EC2::VPCEndpoint').map(([, e]) => JSON.stringify(e.Properties.ServiceName));
    expect(services.some((s) => s.includes('git-codecommit'))).toBe(false);
    expect(services.some((s) => s.includes('.s3'))).toBe(true);
  });

  it("hand start-change the source's checkout, which it may copy to the pipelines' archives only", () => {
    for (const [, pipeline] of ofType(github, 'AWS::CodePipeline::Pipeline')) {
      const invoke = pipeline.Properties.Stages[1].Actions[0];
      expect(invoke.InputArtifacts).toEqual([{ Name: 'Commit' }]);
    }
    const [startChangeId] = fn(github, 'StartChange');
    const role = (github[startChangeId]!.Properties.Role['Fn::GetAtt'] as string[])[0]!;
    const puts = statements(github, role).filter((s) => actions(s).includes('s3:PutObject'));
    expect(puts).toHaveLength(1);
    for (const r of [puts[0]!.Resource].flat()) expect(JSON.stringify(r)).toMatch(/\/sources\/[a-z0-9-]+\/\*/);
  });

  it('keep the CodeCommit checkout, and its Git endpoint, with the default source', () => {
    for (const [id, project] of projects(codecommit)) expect(project.Properties.Source.Type, id).toBe('CODECOMMIT');
    const services = ofType(codecommit, 'AWS::EC2::VPCEndpoint').map(([, e]) => JSON.stringify(e.Properties.ServiceName));
    expect(services.some((s) => s.includes('git-codecommit'))).toBe(true);
  });
});

describe('both sources', () => {
  it('grant no wildcard action', () => {
    for (const resources of [github, codecommit]) {
      expect(statements(resources).flatMap(actions).filter((a) => a.includes('*'))).toEqual([]);
    }
  });
});

describe('the default source (no context): CodeCommit, as before', () => {
  it('has its push rules and CodeCommit reads, and nothing of GitHub', () => {
    expect(ofType(codecommit, 'AWS::Events::Rule').filter(([, r]) => JSON.stringify(r.Properties.EventPattern ?? {}).includes('aws.codecommit'))).toHaveLength(fixturePipelines.length);
    expect(statements(codecommit, 'ReviewGateRole').flatMap(actions)).toContain('codecommit:GetPullRequest');
    for (const type of ['AWS::CodeConnections::Connection', 'AWS::CodePipeline::Pipeline', 'AWS::SecretsManager::Secret']) expect(ofType(codecommit, type)).toEqual([]);
    const [, gate] = fn(codecommit, 'ReviewGateFunction');
    expect(Object.keys(gate.Properties.Environment.Variables)).not.toContain(ENV.SOURCE);
    expect(statements(codecommit).flatMap(actions).filter((a) => a.startsWith('codepipeline:') || a.startsWith('secretsmanager:'))).toEqual([]);
  });
});

describe('cdk synth with bad source context', () => {
  const ROOT = path.resolve(import.meta.dirname, '../..');
  /** infra/app.ts as `cdk synth -c ...` runs it (the CLI hands the context over in CDK_CONTEXT_JSON). */
  const synthApp = (context: Record<string, string>) =>
    spawnSync(process.execPath, ['--import', 'tsx/esm', 'infra/app.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: mkdtempSync(path.join(tmpdir(), 'handsoff-src-')) },
    });

  it.each([
    [{ source: 'gitlab' }, "handsoff: context 'source' is 'gitlab'"],
    [{ source: 'github', repository: 'acme' }, "handsoff: context 'repository': 'acme' is not OWNER/NAME"],
  ])('%j fails before anything is built, naming the key and the fix', (context, message) => {
    const run = synthApp(context);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('-c repository=OWNER/NAME');
  });

  it('an unknown homeRegion fails before anything is built, naming the key and the regions it may be', () => {
    const run = synthApp({ homeRegion: 'mars-north-1' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("handsoff: context homeRegion (-c homeRegion=... or cdk.json) is 'mars-north-1', which is not a region of the catalog");
    expect(run.stderr).toMatch(/use one of: us-east-1, .*eu-west-1/);
  });
});
