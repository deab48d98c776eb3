/**
 * The build stage's AWS resources, synthesized with cdk-nag (Template.fromStack throws on an
 * unacknowledged finding): a CodeBuild project per pipeline that reaches nothing but the
 * artifact store (and its source and log endpoints), the pipeline machine's exact rights to
 * run it, and the per-region artifact buckets with the handlers' exact rights on them. For two
 * small pipelines over three target regions (fixtures.ts): all of it holds per pipeline and per
 * region, and test/infra/stacks.test.ts synthesizes the example pipelines with cdk-nag.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedPipeline } from '../../core/model.ts';
import { buildProjectName } from '../../core/naming.ts';
import { ENV } from '../../lambdas/shared/config.ts';
import { ARTIFACT_BUCKET_NAME_KEY, HandlerName } from '../../statemachines/resources.ts';
import type { ControlPlaneStack } from '../../infra/stacks/control-plane-stack.ts';
import { buildHandsoffApp } from '../../infra/stacks/handsoff-app.ts';
import type { TargetStack } from '../../infra/stacks/target-stack.ts';
import { fixtureHandlerEntry, loadBuildStateMachines, smallPipelines, testApp } from './fixtures.ts';

type Resources = Record<string, { Type: string; Properties: Record<string, any>; DeletionPolicy?: string }>;
type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

let pipelines: ResolvedPipeline[];
let controlPlane: Template;
let stack: ControlPlaneStack;
let targets: Array<{ stack: TargetStack; template: Template }>;

beforeAll(async () => {
  pipelines = smallPipelines();
  const { build } = await loadBuildStateMachines();
  const app = testApp();
  const built = buildHandsoffApp(app, { pipelines, buildStateMachines: build, handlerEntry: fixtureHandlerEntry, homeRegion: 'us-east-1' });
  stack = built.controlPlane;
  controlPlane = Template.fromStack(built.controlPlane);
  targets = built.targets.map((s) => ({ stack: s, template: Template.fromStack(s) }));
});

const resourcesOf = (t: Template, type: string): Resources => t.findResources(type) as Resources;
const resolved = (value: unknown): string => JSON.stringify(stack.resolve(value));
/** Every statement of the IAM policies attached to the role whose logical id starts with `prefix` (inline, and CDK's overflow). */
const statementsOfRole = (t: Template, prefix: string): Statement[] =>
  [...Object.values(resourcesOf(t, 'AWS::IAM::Policy')), ...Object.values(resourcesOf(t, 'AWS::IAM::ManagedPolicy'))]
    .filter((p) => (p.Properties.Roles ?? []).some((r: { Ref: string }) => r.Ref.startsWith(prefix)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
const actionsOf = (s: Statement): string[] => [s.Action].flat();
const artifactsRef = (): string => Object.keys(resourcesOf(controlPlane, 'AWS::S3::Bucket')).find((id) => id.startsWith('Artifacts'))!;

describe('the build projects', () => {
  it('exist one per pipeline, named as the machine runs them, running the unit tests and the checksummed upload', () => {
    // The stage suites' test projects (docs/tests.md) are the other projects of the control plane.
    const all = Object.values(resourcesOf(controlPlane, 'AWS::CodeBuild::Project'));
    const projects = all.filter((p) => !String(p.Properties.Name).endsWith('-tests'));
    expect(projects.map((p) => p.Properties.Name).sort()).toEqual(pipelines.map((p) => buildProjectName(p.name)).sort());
    for (const p of projects) {
      const spec = String(p.Properties.Source.BuildSpec);
      expect(spec).toContain('./handsoff-build.sh');
      expect(spec).toContain('aws s3api put-object');
      expect(spec).toContain('--checksum-algorithm SHA256');
      expect(spec).toMatch(/exported-variables[\s\S]*ARTIFACT_SHA256[\s\S]*ARTIFACT_VERSION_ID/);
      expect(p.Properties.Environment.PrivilegedMode).toBe(false);
      expect(p.Properties.VpcConfig.Subnets.length).toBeGreaterThan(0);
    }
  });

  it('run in a VPC with isolated subnets only: no NAT, no internet gateway, no public subnet', () => {
    expect(resourcesOf(controlPlane, 'AWS::EC2::NatGateway')).toEqual({});
    expect(resourcesOf(controlPlane, 'AWS::EC2::InternetGateway')).toEqual({});
    for (const subnet of Object.values(resourcesOf(controlPlane, 'AWS::EC2::Subnet'))) expect(subnet.Properties.MapPublicIpOnLaunch).toBe(false);
    const routes = Object.values(resourcesOf(controlPlane, 'AWS::EC2::Route'));
    expect(routes).toEqual([]);
  });

  it('reach S3 only through a gateway endpoint whose policy allows the artifact bucket only, and nothing but the source and log endpoints besides', () => {
    const endpoints = Object.values(resourcesOf(controlPlane, 'AWS::EC2::VPCEndpoint'));
    const gateway = endpoints.filter((e) => e.Properties.VpcEndpointType === 'Gateway');
    expect(gateway).toHaveLength(1);
    const statements = gateway[0]!.Properties.PolicyDocument.Statement as Statement[];
    expect(statements.flatMap(actionsOf).sort()).toEqual(['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject']);
    for (const s of statements) expect(JSON.stringify(s.Resource)).toContain(artifactsRef());
    const services = endpoints.filter((e) => e.Properties.VpcEndpointType === 'Interface').map((e) => JSON.stringify(e.Properties.ServiceName));
    expect(services).toHaveLength(2);
    expect(services.some((s) => s.includes('git-codecommit'))).toBe(true);
    expect(services.some((s) => s.includes('.logs'))).toBe(true);
  });

  it("may upload under their own pipeline's prefix of the artifact bucket only", () => {
    for (const p of pipelines) {
      const puts = statementsOfRole(controlPlane, `${p.name.split('-').map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')}BuildProjectRole`).filter((s) => actionsOf(s).includes('s3:PutObject'));
      expect(puts).toHaveLength(1);
      expect(JSON.stringify(puts[0]!.Resource)).toContain(`/${p.name}/*`);
    }
  });
});

describe('the pipeline machine and its build', () => {
  it('may start, follow and stop builds of its own project only, and use the managed rule startBuild.sync needs', () => {
    for (const p of pipelines) {
      const role = `${p.name.split('-').map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')}PipelineRole`;
      const statements = statementsOfRole(controlPlane, role);
      // (The machine's rights on its stage suites' test project are test/infra/stage-tests.test.ts's.)
      const builds = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('codebuild:')) && !resolved(s.Resource).includes('TestsProject'));
      expect(builds).toHaveLength(1);
      expect(actionsOf(builds[0]!).sort()).toEqual(['codebuild:BatchGetBuilds', 'codebuild:StartBuild', 'codebuild:StopBuild']);
      expect(resolved(builds[0]!.Resource)).toContain(`${p.name.split('-').map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')}BuildProject`);
      const rule = statements.find((s) => JSON.stringify(s.Resource).includes('StepFunctionsGetEventForCodeBuildStartBuildRule'));
      expect(actionsOf(rule!).sort()).toEqual(['events:DescribeRule', 'events:PutRule', 'events:PutTargets']);
    }
  });

  it('hands each build the name of the artifact bucket', () => {
    for (const machine of Object.values(resourcesOf(controlPlane, 'AWS::StepFunctions::StateMachine')).filter((m) => JSON.stringify(m.Properties.StateMachineName).includes('handsoff-') && !JSON.stringify(m.Properties.StateMachineName).includes('region'))) {
      expect(machine.Properties.DefinitionSubstitutions[ARTIFACT_BUCKET_NAME_KEY]).toEqual({ Ref: artifactsRef() });
    }
  });
});

describe('the per-region artifact buckets', () => {
  it("exist in every target region: versioned, SSE, TLS only, no public access, retained, a replaced copy kept for rollbacks", () => {
    expect(targets.length).toBeGreaterThan(0);
    for (const { stack: target, template } of targets) {
      const buckets = Object.entries(resourcesOf(template, 'AWS::S3::Bucket')).filter(([id]) => id.startsWith('Artifacts') && !id.startsWith('ArtifactAccessLogs'));
      expect(buckets, target.region).toHaveLength(1);
      const [id, bucket] = buckets[0]!;
      expect(JSON.stringify(target.resolve(bucket.Properties.BucketName))).toContain(`handsoff-artifacts-`);
      expect(JSON.stringify(target.resolve(bucket.Properties.BucketName))).toContain(`-${target.region}`);
      expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
      expect(bucket.DeletionPolicy).toBe('Retain');
      expect(bucket.Properties.LifecycleConfiguration.Rules[0].NoncurrentVersionExpiration.NoncurrentDays).toBeGreaterThanOrEqual(90);
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
    }
  });

  it('may be written by start-deployment (the copy) and only read by rollback (the check), in the target regions only', () => {
    const regions = new Set(targets.map((t) => t.stack.region));
    const onRegionBuckets = (name: string) =>
      statementsOfRole(controlPlane, `${name.split('-').map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')}Role`).filter((s) => resolved(s.Resource).includes('handsoff-artifacts-'));
    const copy = onRegionBuckets(HandlerName.START_DEPLOYMENT);
    expect(copy.flatMap(actionsOf).sort()).toEqual(['s3:GetObject', 's3:GetObjectVersion', 's3:ListBucket', 's3:PutObject']);
    const check = onRegionBuckets(HandlerName.ROLLBACK);
    expect(check.flatMap(actionsOf).sort()).toEqual(['s3:GetObject', 's3:GetObjectVersion', 's3:ListBucket']);
    // The region buckets of this account by their name's pattern (naming.regionArtifactBucketName), nothing else.
    for (const s of [...copy, ...check]) {
      const arns = [s.Resource].flat().map((r) => resolved(r));
      // (CDK merges the home bucket's reads of the same actions into one statement.)
      for (const arn of arns.filter((r) => !r.includes(`"${artifactsRef()}"`))) expect(arn).toMatch(/^\{"Fn::Join":\["",\["arn:aws:s3:::handsoff-artifacts-",\{"Ref":"AWS::AccountId"\},"-\*(\/\*)?"\]\]\}$/);
    }
    expect(regions.size).toBeGreaterThan(1);
    for (const other of [HandlerName.NOTIFY, HandlerName.RESOLVE_ARTIFACT, HandlerName.START_BAKE]) expect(onRegionBuckets(other)).toEqual([]);
  });

  it("are reached only in this account: the name pattern carries no account, so every grant on it asks S3 for the bucket's owner", () => {
    const onPattern = [HandlerName.START_DEPLOYMENT, HandlerName.ROLLBACK].flatMap((name) =>
      statementsOfRole(controlPlane, `${name.split('-').map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')}Role`).filter((s) => resolved(s.Resource).includes('handsoff-artifacts-')),
    );
    expect(onPattern.length).toBeGreaterThanOrEqual(4);
    for (const s of onPattern) expect((s as Statement & { Condition?: unknown }).Condition).toEqual({ StringEquals: { 's3:ResourceAccount': { Ref: 'AWS::AccountId' } } });
  });

  it('are named for the handlers by the account they run in', () => {
    const fn = Object.values(resourcesOf(controlPlane, 'AWS::Lambda::Function')).find((f) => f.Properties.Environment?.Variables?.[ENV.ARTIFACT_BUCKET])!;
    expect(fn.Properties.Environment.Variables[ENV.ACCOUNT_ID]).toEqual({ Ref: 'AWS::AccountId' });
  });
});
