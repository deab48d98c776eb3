import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import { FAST_ROLLBACK, hostsPerBatch, ONE_AT_A_TIME, rollingConfig } from '../../core/rollout.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { TargetStack } from '../../infra/stacks/target-stack.ts';
import { batchSize } from '../../sim/world/deployment-config.ts';
import { testApp } from '../infra/fixtures.ts';

const resolve = (input: Record<string, unknown>) => validatePipeline({ name: 'orders-api', service: 'OrdersApi', team: 'orders', regions: ['us-east-1'], ...input }, 'p.json', { catalog: REGION_CATALOG });

describe('rollout batches (CodeDeploy rounds the healthy hosts up)', () => {
  it('keeps two thirds of a unit healthy by default: 6 hosts go 2 at a time, 3 hosts one at a time', () => {
    const rolling = rollingConfig({ maxBatchPercent: 33, minHealthyPercent: 66 });
    expect(rolling.name).toBe('handsoff-rolling-66');
    expect(hostsPerBatch(rolling, 6)).toBe(2);
    expect(hostsPerBatch(rolling, 3)).toBe(1);
    expect(hostsPerBatch(rolling, 10)).toBe(3);
  });

  it('rolls back a third at once, whatever the fleet size, exactly as the deployed configuration does', () => {
    // 66% of 10 hosts healthy is 7: CodeDeploy rolls back 3 at once, not 4.
    expect(hostsPerBatch(FAST_ROLLBACK, 10)).toBe(3);
    expect(hostsPerBatch(FAST_ROLLBACK, 6)).toBe(2);
    expect(hostsPerBatch(ONE_AT_A_TIME, 6)).toBe(1);
  });

  it('gives the simulated world the same batches as the configurations the stacks create', () => {
    const v = resolve({ hostsPerUnit: 10, rolling: { maxBatchPercent: 20, minHealthyPercent: 80 } });
    if (!v.ok) throw new Error(JSON.stringify(v.problems));
    expect(batchSize('handsoff-rolling-80', 10, v.pipeline)).toBe(2);
    expect(batchSize(FAST_ROLLBACK.name, 10, v.pipeline)).toBe(3);
    expect(batchSize('handsoff-rolling-66', 10, v.pipeline)).toBeUndefined();
  });

  it('refuses a maximum batch that the minimum healthy share does not imply, naming both fields and the fix', () => {
    const v = resolve({ rolling: { maxBatchPercent: 20, minHealthyPercent: 66 } });
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.problems).toEqual([
      expect.objectContaining({
        path: 'rolling.maxBatchPercent',
        message: expect.stringMatching(/maxBatchPercent 20 cannot hold: with minHealthyPercent 66, CodeDeploy deploys to 2 of 6 hosts at once.*raise minHealthyPercent to 83/),
      }),
    ]);
  });

  it("creates each pipeline's rolling configuration once per region and sets it on its unit groups", () => {
    const a = resolve({ rolling: { maxBatchPercent: 20, minHealthyPercent: 80 }, hostsPerUnit: 10 });
    const b = resolve({ name: 'orders-web', service: 'OrdersWeb' });
    if (!a.ok || !b.ok) throw new Error('invalid test pipelines');
    const app = testApp();
    const t = Template.fromStack(new TargetStack(app, 'T', { region: 'us-east-1', homeRegion: 'us-east-1', pipelines: [a.pipeline, b.pipeline] }));
    t.resourceCountIs('AWS::CodeDeploy::DeploymentConfig', 3);
    t.hasResourceProperties('AWS::CodeDeploy::DeploymentConfig', { DeploymentConfigName: 'handsoff-rolling-80', MinimumHealthyHosts: { Type: 'FLEET_PERCENT', Value: 80 } });
    t.hasResourceProperties('AWS::CodeDeploy::DeploymentConfig', { DeploymentConfigName: 'handsoff-rolling-66', MinimumHealthyHosts: { Type: 'FLEET_PERCENT', Value: 66 } });
    t.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
      DeploymentGroupName: 'orders-api-use1-az1',
      DeploymentConfigName: Match.objectLike({ Ref: Match.stringLikeRegexp('Rolling80') }),
    });
    t.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
      DeploymentGroupName: 'orders-web-use1-az1',
      DeploymentConfigName: Match.objectLike({ Ref: Match.stringLikeRegexp('^Rolling') }),
    });
  });
});
