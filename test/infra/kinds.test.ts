/**
 * A pipeline per kind of change at synth: a service's app and config pipelines get their own
 * CodeDeploy applications, groups (over their own fleets) and alarms; two pipelines of one
 * kind for one service stop synth before any resource, naming both.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import type { ResolvedPipeline } from '../../core/model.ts';
import { formatProblem, validatePipeline } from '../../core/pipeline/resolve.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { StorefrontTeamPipeline } from '../../infra/pipelines/team-base.ts';
import { buildHandsoffApp } from '../../infra/stacks/handsoff-app.ts';
import { PipelineValidationError, resolvePipelines, type ValidatePipeline } from '../../infra/stacks/pipelines.ts';
import { InstanceTag, TargetStack } from '../../infra/stacks/target-stack.ts';
import { testApp } from './fixtures.ts';

const validate: ValidatePipeline = (input, source) => validatePipeline(input, source, { catalog: REGION_CATALOG });
const service = { name: 'storefront-api', service: 'StorefrontApi', regions: ['us-east-1', 'us-west-2'] };
const [appPipeline, configPipeline] = StorefrontTeamPipeline.forKinds(service, { app: {}, config: {} });
const twoApps = [appPipeline!, new StorefrontTeamPipeline({ ...service, name: 'storefront-web' })];

type Resources = Record<string, { Properties: Record<string, any> }>;

describe('synth of a service with an app and a config pipeline', () => {
  const pipelines: ResolvedPipeline[] = resolvePipelines([appPipeline, configPipeline], validate, formatProblem, 'test');
  const app = testApp();
  const template = Template.fromStack(new TargetStack(app, 'Handsoff-Target-us-east-1', { env: { region: 'us-east-1' }, region: 'us-east-1', homeRegion: 'us-east-1', pipelines }));

  it('gives each kind its own CodeDeploy application and groups, over its own fleet', () => {
    const applications = Object.values(template.findResources('AWS::CodeDeploy::Application') as Resources).map((r) => r.Properties.ApplicationName);
    expect(applications.sort()).toEqual(['storefront-api', 'storefront-api-config']);
    const groups = Object.values(template.findResources('AWS::CodeDeploy::DeploymentGroup') as Resources).map((r) => r.Properties);
    const tagOf = (g: Record<string, any>): string[] =>
      g.Ec2TagSet.Ec2TagSetList.flatMap((s: { Ec2TagGroup: Array<{ Key: string; Value: string }> }) => s.Ec2TagGroup)
        .filter((t: { Key: string }) => t.Key === InstanceTag.SERVICE)
        .map((t: { Value: string }) => t.Value);
    const byApp = (name: string) => groups.filter((g) => JSON.stringify(g.ApplicationName).includes(name === 'storefront-api' ? 'StorefrontApiApplication' : 'StorefrontApiConfigApplication'));
    const appGroups = byApp('storefront-api');
    const configGroups = byApp('storefront-api-config');
    expect(appGroups.length).toBeGreaterThan(1);
    expect(configGroups.length).toBe(appGroups.length);
    expect(new Set(appGroups.flatMap(tagOf))).toEqual(new Set(['StorefrontApi']));
    expect(new Set(configGroups.flatMap(tagOf))).toEqual(new Set(['StorefrontApi-config']));
    const names = groups.map((g) => g.DeploymentGroupName as string);
    expect(new Set(names).size).toBe(names.length);
    expect(configGroups.map((g) => g.DeploymentGroupName)).toContain('storefront-api-config-onebox');
  });

  it("gives each kind its own alarms on its fleet's metrics, and one team aggregate over both", () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm') as Resources).map((r) => r.Properties);
    const faults = (name: string) => alarms.find((a) => a.AlarmName === name)!;
    // The Service dimensions anywhere in an alarm (a metric, or the metrics of its math).
    const services = (a: Record<string, any>) => new Set([...JSON.stringify(a).matchAll(/"Name":"Service","Value":"([^"]+)"/g)].map((m) => m[1]));
    expect(services(faults('storefront-api-us-east-1-faults'))).toEqual(new Set(['StorefrontApi']));
    expect(services(faults('storefront-api-config-us-east-1-faults'))).toEqual(new Set(['StorefrontApi-config']));
    const names = alarms.map((a) => a.AlarmName as string);
    expect(new Set(names).size).toBe(names.length);
    const composite = Object.values(template.findResources('AWS::CloudWatch::CompositeAlarm') as Resources).map((r) => r.Properties);
    const aggregate = composite.find((a) => a.AlarmName === 'handsoff-storefront-us-east-1-aggregate')!;
    const rule = JSON.stringify(aggregate.AlarmRule);
    const logicalId = (name: string) => Object.entries(template.findResources('AWS::CloudWatch::Alarm') as Resources).find(([, r]) => r.Properties.AlarmName === name)![0];
    for (const name of ['storefront-api-us-east-1-faults', 'storefront-api-config-us-east-1-faults']) expect(rule).toContain(`"${logicalId(name)}"`);
    expect(composite.filter((a) => a.AlarmName === 'handsoff-storefront-us-east-1-aggregate')).toHaveLength(1);
  });
});

describe('synth of two pipelines of one kind for one service', () => {
  it("stops at the app's pipeline list, naming both pipelines, the service, the kind and the fix", () => {
    const run = () => resolvePipelines(twoApps, validate, formatProblem, 'infra/pipelines/index.ts');
    expect(run).toThrow(PipelineValidationError);
    expect(run).toThrow(
      "infra/pipelines/index.ts: pipelines 'storefront-api' and 'storefront-web' are both 'app' pipelines of service 'StorefrontApi'",
    );
    expect(run).toThrow(`set "kind" of 'storefront-web' to the kind of change it ships (infra, config, os, tools)`);
  });

  it('stops the app before any stack, whoever resolved the pipelines', () => {
    const pipelines = twoApps.map((p) => p.resolve());
    const app = testApp();
    expect(() => buildHandsoffApp(app, { pipelines, buildStateMachines: () => ({ pipeline: {}, region: {} }), nag: false })).toThrow(
      /pipelines 'storefront-api' and 'storefront-web' are both 'app' pipelines of service 'StorefrontApi'/,
    );
    expect(app.node.children).toHaveLength(0);
  });
});
