/**
 * Gamma's one-box in the synthesized target stacks: the pre-production region's stack (here
 * also a production region's) has gamma's one-box group, over a host tagged
 * `Stage=gamma-onebox` that neither gamma's fleet group nor the production one-box group
 * takes, guarded by its own alarms; those alarms watch the gamma one-box's scope and compare it
 * with gamma's fleet. A pipeline with `oneBox: false` has neither; no other region has them.
 */
import { readFileSync } from 'node:fs';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import type { ResolvedPipeline } from '../../core/model.ts';
import * as naming from '../../core/naming.ts';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { TargetStack } from '../../infra/stacks/target-stack.ts';
import { testApp } from './fixtures.ts';

type Resources = Record<string, { Properties: Record<string, any> }>;

const resolve = (json: unknown): ResolvedPipeline => {
  const r = validatePipeline(json, 'test', { catalog: REGION_CATALOG });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.pipeline;
};
const example = JSON.parse(readFileSync(new URL('../../examples/pipeline.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const withOneBox = resolve(example);
const withoutOneBox = resolve({ ...example, name: 'ledger-api', service: 'LedgerApi', oneBox: false });
const pipelines = [withOneBox, withoutOneBox];

const synth = (region: string): Template =>
  Template.fromStack(new TargetStack(testApp(), `Handsoff-Target-${region}`, { env: { region }, region, homeRegion: 'us-east-1', pipelines }));

const preProd = synth(withOneBox.preProdRegion);
const groups = Object.values(preProd.findResources('AWS::CodeDeploy::DeploymentGroup') as Resources).map((r) => r.Properties);
const groupNamed = (name: string) => groups.find((g) => g.DeploymentGroupName === name);
const tagsOf = (g: Record<string, any>): Array<Record<string, string>> =>
  g.Ec2TagSet.Ec2TagSetList.map((s: { Ec2TagGroup: Array<{ Key: string; Value: string }> }) => Object.fromEntries(s.Ec2TagGroup.map((t) => [t.Key, t.Value])));
const alarmResources = preProd.findResources('AWS::CloudWatch::Alarm') as Resources;
const alarms = Object.values(alarmResources).map((r) => r.Properties);
/** The names of a group's alarms (each a `Ref` to an alarm of the stack). */
const alarmsOf = (g: Record<string, any>): string[] =>
  g.AlarmConfiguration.Alarms.map((a: { Name: { Ref: string } }) => String(alarmResources[a.Name.Ref]!.Properties.AlarmName));
/** A tag set matches a host when every tag group names one of the host's tags (groups ANDed). */
const takes = (g: Record<string, any>, host: Record<string, string>): boolean => tagsOf(g).every((set) => Object.entries(set).some(([k, v]) => host[k] === v));

describe("the pre-production region's target stack", () => {
  it('has the one-box group of gamma, one host at a time, tagged Stage=gamma-onebox', () => {
    expect(withOneBox.preProdRegion).toBe('us-west-2');
    const g = groupNamed('storefront-api-gamma-onebox')!;
    expect(g).toBeDefined();
    expect(tagsOf(g)).toEqual([{ Service: 'StorefrontApi' }, { Stage: 'gamma-onebox' }]);
    expect(g.DeploymentConfigName).toBe('CodeDeployDefault.OneAtATime');
    expect(g.AutoRollbackConfiguration.Enabled).toBe(true);
  });

  it("gives its host to no other group: not gamma's fleet, not the production one-box of the same region", () => {
    const host = { Service: 'StorefrontApi', Stage: 'gamma-onebox' };
    const taking = groups.filter((g) => takes(g, host)).map((g) => g.DeploymentGroupName);
    expect(taking).toEqual(['storefront-api-gamma-onebox']);
    expect(groupNamed('storefront-api-onebox')).toBeDefined();
  });

  it("guards it with the gamma one-box's own alarms, and gamma's fleet group without them", () => {
    expect(alarmsOf(groupNamed('storefront-api-gamma-onebox')!)).toEqual([
      'storefront-api-gamma-onebox-faults',
      'storefront-api-gamma-onebox-latency-p99',
      'storefront-api-gamma-onebox-health',
      'storefront-api-gamma-onebox-log-errors',
      'storefront-api-gamma-onebox-anomaly-latency',
      'storefront-api-gamma-onebox-anomaly-faults',
    ]);
    const fleet = alarmsOf(groupNamed('storefront-api-gamma')!);
    expect(fleet).toContain('storefront-api-gamma-faults');
    expect(fleet.some((a) => a.includes('onebox'))).toBe(false);
  });

  it("creates the production one-box's alarm set for the gamma one-box scope, its anomaly checks against gamma's fleet", () => {
    const gammaOneBox = alarms.filter((a) => String(a.AlarmName).startsWith('storefront-api-gamma-onebox-'));
    const production = alarms.filter((a) => String(a.AlarmName).startsWith('storefront-api-us-west-2-onebox-'));
    expect(gammaOneBox.length).toBe(production.length);
    expect(gammaOneBox.map((a) => a.AlarmName.replace('gamma-onebox', 'X')).sort()).toEqual(production.map((a) => a.AlarmName.replace('us-west-2-onebox', 'X')).sort());
    const scopes = (a: Record<string, any>) => new Set([...JSON.stringify(a).matchAll(/"Name":"Scope","Value":"([^"]+)"/g)].map((m) => m[1]));
    expect(scopes(gammaOneBox.find((a) => a.AlarmName === 'storefront-api-gamma-onebox-faults')!)).toEqual(new Set(['gamma-onebox']));
    expect(scopes(gammaOneBox.find((a) => a.AlarmName === 'storefront-api-gamma-onebox-anomaly-faults')!)).toEqual(new Set(['gamma-onebox', 'gamma']));
    const names = alarms.map((a) => a.AlarmName);
    expect(new Set(names).size).toBe(names.length);
  });

  it('has no gamma one-box for a pipeline with oneBox: false, which keeps its gamma group', () => {
    expect(naming.hasGammaOneBox(withoutOneBox)).toBe(false);
    expect(groupNamed('ledger-api-gamma-onebox')).toBeUndefined();
    expect(groupNamed('ledger-api-gamma')).toBeDefined();
    expect(alarms.some((a) => String(a.AlarmName).startsWith('ledger-api-gamma-onebox'))).toBe(false);
  });
});

describe('another region', () => {
  it('has no gamma one-box group or alarm', () => {
    const t = synth('eu-west-1');
    const names = Object.values(t.findResources('AWS::CodeDeploy::DeploymentGroup') as Resources).map((r) => String(r.Properties.DeploymentGroupName));
    expect(names.some((n) => n.includes('gamma'))).toBe(false);
    const alarmNames = Object.values(t.findResources('AWS::CloudWatch::Alarm') as Resources).map((r) => String(r.Properties.AlarmName));
    expect(alarmNames.some((n) => n.includes('gamma'))).toBe(false);
  });
});
