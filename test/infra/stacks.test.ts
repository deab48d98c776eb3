/**
 * The handsoff CDK app, synthesized once WITH cdk-nag (AwsSolutions): Template.fromStack
 * throws on any unacknowledged finding, so every test here also asserts the app is clean.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedPipeline } from '../../core/model.ts';
import * as naming from '../../core/naming.ts';
import { ENV } from '../../lambdas/shared/config.ts';
import { TaskHandlers, REGION_STATE_MACHINE_ARN_KEY, functionArnKey } from '../../statemachines/resources.ts';
import { eventBusArn, pipelineStateMachineName, productionRegions, regionStateMachineName, targetRegions } from '../../infra/stacks/arns.ts';
import { buildHandsoffApp, targetStackName } from '../../infra/stacks/handsoff-app.ts';
import type { TargetStack } from '../../infra/stacks/target-stack.ts';
import { cdkContext, handlerEntry, loadBuildStateMachines, loadPipelines } from './fixtures.ts';

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

let pipelines: ResolvedPipeline[];
let controlPlane: Template;
let targets: Map<string, Template>;
let targetStacks: TargetStack[];
const HOME = 'us-east-1';

beforeAll(async () => {
  // Prepare: the real pipelines / ASL / handlers where they exist (fixtures.ts otherwise).
  ({ pipelines } = await loadPipelines());
  const { build } = await loadBuildStateMachines();
  const app = new App({ context: cdkContext });
  // Act
  const built = buildHandsoffApp(app, { pipelines, buildStateMachines: build, handlerEntry, homeRegion: HOME });
  controlPlane = Template.fromStack(built.controlPlane);
  targetStacks = built.targets;
  targets = new Map(built.targets.map((s) => [s.region, Template.fromStack(s)]));
}, 240_000);

const resourcesOf = (t: Template, type: string): Resources => t.findResources(type) as Resources;
const allTemplates = (): Template[] => [controlPlane, ...targets.values()];

describe('app', () => {
  it('has one target stack per region any pipeline deploys to, with its region set', () => {
    const regions = targetRegions(pipelines);
    expect(targetStacks.map((s) => s.stackName).sort()).toEqual(regions.map(targetStackName).sort());
    for (const s of targetStacks) expect(Stack.of(s).region).toBe(s.stackName.replace('Handsoff-Target-', ''));
  });

  it('grants no wildcard action in any IAM policy', () => {
    const bad: string[] = [];
    for (const t of allTemplates()) {
      for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
        for (const [id, r] of Object.entries(resourcesOf(t, type))) {
          for (const st of r.Properties.PolicyDocument.Statement) {
            const actions: string[] = [st.Action].flat();
            for (const a of actions) if (a === '*' || a.endsWith(':*') || a.includes('*')) bad.push(`${id}: ${a}`);
          }
        }
      }
      for (const [id, r] of Object.entries(resourcesOf(t, 'AWS::IAM::Role'))) {
        expect(r.Properties.ManagedPolicyArns ?? [], `${id} uses a managed policy`).toEqual([]);
      }
    }
    expect(bad).toEqual([]);
  });
});

describe('control plane', () => {
  it('has a pipeline and a region state machine per pipeline, STANDARD, logged and traced', () => {
    const machines = Object.values(resourcesOf(controlPlane, 'AWS::StepFunctions::StateMachine'));
    expect(machines.map((m) => m.Properties.StateMachineName).sort()).toEqual(
      pipelines.flatMap((p) => [pipelineStateMachineName(p.name), regionStateMachineName(p.name)]).sort(),
    );
    for (const m of machines) {
      expect(m.Properties.StateMachineType).toBe('STANDARD');
      expect(m.Properties.TracingConfiguration).toEqual({ Enabled: true });
      expect(m.Properties.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
    }
  });

  it('fills every placeholder: handler ARNs in both machines, the region machine ARN in the pipeline machine', () => {
    const machines = resourcesOf(controlPlane, 'AWS::StepFunctions::StateMachine');
    for (const p of pipelines) {
      const [regionId, region] = Object.entries(machines).find(([, m]) => m.Properties.StateMachineName === regionStateMachineName(p.name))!;
      const pipeline = Object.values(machines).find((m) => m.Properties.StateMachineName === pipelineStateMachineName(p.name))!;
      for (const m of [region, pipeline]) {
        const definition: string = m.Properties.DefinitionString;
        const placeholders = [...definition.matchAll(/\$\{([A-Za-z]+)\}/g)].map((x) => x[1]);
        for (const key of placeholders) expect(m.Properties.DefinitionSubstitutions, key).toHaveProperty(key!);
        for (const h of TaskHandlers) {
          if (definition.includes(`\${${functionArnKey(h)}}`)) {
            expect(m.Properties.DefinitionSubstitutions[functionArnKey(h)]).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/Function/), 'Arn'] });
          }
        }
      }
      expect(region.Properties.DefinitionString).toContain('arn:aws:states:::lambda:invoke.waitForTaskToken');
      expect(region.Properties.DefinitionString).toContain(`\${${functionArnKey('start-deployment')}}`);
      expect(pipeline.Properties.DefinitionString).toContain('arn:aws:states:::states:startExecution.sync:2');
      expect(pipeline.Properties.DefinitionSubstitutions[REGION_STATE_MACHINE_ARN_KEY]).toEqual({ Ref: regionId });
    }
  });

  it('lets a pipeline machine run its region machine as a child (.sync:2 permissions)', () => {
    const policies = resourcesOf(controlPlane, 'AWS::IAM::Policy');
    for (const p of pipelines) {
      const statements = Object.entries(policies)
        .filter(([id]) => id.startsWith(`${p.name.split('-').map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')}PipelineRole`))
        .flatMap(([, r]) => r.Properties.PolicyDocument.Statement);
      const actions = statements.flatMap((st) => [st.Action].flat());
      expect(actions).toEqual(expect.arrayContaining(['states:StartExecution', 'states:DescribeExecution', 'states:StopExecution', 'events:PutTargets', 'events:PutRule', 'events:DescribeRule', 'lambda:InvokeFunction']));
      const json = JSON.stringify(statements);
      expect(json).toContain('rule/StepFunctionsGetEventsForStepFunctionsExecutionRule');
      expect(json).toContain(`:execution:${regionStateMachineName(p.name)}:*`);
    }
  });

  it('runs every handler on arm64 Node.js 22, with the tables and bus in its environment', () => {
    const functions = Object.values(resourcesOf(controlPlane, 'AWS::Lambda::Function')).filter((f) =>
      String(f.Properties.Description ?? '').startsWith('handsoff '),
    );
    expect(functions).toHaveLength(Object.keys(ACCESS_NAMES).length);
    for (const f of functions) {
      expect(f.Properties.Architectures).toEqual(['arm64']);
      expect(f.Properties.Runtime).toBe('nodejs22.x');
      const vars = Object.keys(f.Properties.Environment.Variables);
      for (const v of [ENV.DEPLOYMENTS_TABLE, ENV.WAITERS_TABLE, ENV.WATCHES_TABLE, ENV.WINDOWS_TABLE, ENV.HOLIDAYS_TABLE, ENV.LANES_TABLE, ENV.EVENT_BUS_NAME, ENV.SCHEDULE_GROUP, ENV.SCHEDULER_ROLE_ARN, ENV.ARTIFACT_BUCKET]) {
        expect(vars).toContain(v);
      }
    }
  });

  it('has on-demand tables with point-in-time recovery and pk/sk keys', () => {
    const tables = Object.values(resourcesOf(controlPlane, 'AWS::DynamoDB::Table'));
    expect(tables).toHaveLength(6);
    for (const t of tables) {
      expect(t.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(t.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(t.Properties.KeySchema[0]).toEqual({ AttributeName: 'pk', KeyType: 'HASH' });
    }
    expect(tables.filter((t) => t.Properties.KeySchema.length === 1)).toHaveLength(1); // waiters
  });

  it('routes forwarded CodeDeploy and alarm events on the handsoff bus to their handlers', () => {
    controlPlane.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.anyValue(),
      EventPattern: { source: ['aws.codedeploy'], 'detail-type': ['CodeDeploy Deployment State-change Notification'] },
    });
    controlPlane.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.cloudwatch'], 'detail-type': ['CloudWatch Alarm State Change'] },
    });
    controlPlane.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['handsoff'], 'detail-type': ['change.failed'] },
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('Notifications') } })],
    });
    controlPlane.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
  });

  it('starts a pipeline on a push to main with a ChangeExecutionInput', () => {
    for (const p of pipelines) {
      controlPlane.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: {
          source: ['aws.codecommit'],
          detail: { event: ['referenceUpdated'], referenceName: ['main'], referenceType: ['branch'] },
        },
        Targets: [
          Match.objectLike({
            InputTransformer: {
              InputPathsMap: Match.objectLike({ 'detail-commitId': '$.detail.commitId', time: '$.time' }),
              InputTemplate: Match.stringLikeRegexp(`"pipeline":"${p.name}","change":<detail-commitId>,"revision":<detail-commitId>,"author":<detail-callerUserArn>,"mergedAt":<time>`),
            },
          }),
        ],
      });
    }
  });

  it('lets the bake scheduler invoke bake-end only', () => {
    controlPlane.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'handsoff-bakes' });
    const policies = Object.values(resourcesOf(controlPlane, 'AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes('BakeSchedulerRole'),
    );
    expect(policies.flatMap((p) => p.Properties.PolicyDocument.Statement)).toEqual([
      { Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^BakeEndFunction/), 'Arn'] } },
    ]);
  });

  it('seeds a window item per (pipeline, production region) with its resolved time zone', () => {
    const seeds = JSON.stringify(resourcesOf(controlPlane, 'Custom::AWS'));
    for (const p of pipelines) {
      const r = p.waves[0]!.regions[0]!;
      expect(seeds).toContain(`\\"pk\\":{\\"S\\":\\"${p.name}\\"},\\"sk\\":{\\"S\\":\\"${r.region}\\"},\\"timeZone\\":{\\"S\\":\\"${r.windowTimeZone}\\"}`);
    }
  });
});

const ACCESS_NAMES = Object.fromEntries(
  ['notify', 'check-window', 'start-deployment', 'start-bake', 'bake-end', 'rollback', 'lane', 'on-deployment-event', 'on-alarm-event'].map((n) => [n, n]),
);

describe('target stacks', () => {
  it('guard every deployment group with alarms and automatic rollback', () => {
    let groups = 0;
    for (const t of targets.values()) {
      for (const g of Object.values(resourcesOf(t, 'AWS::CodeDeploy::DeploymentGroup'))) {
        groups++;
        expect(g.Properties.AlarmConfiguration.Enabled).toBe(true);
        expect(g.Properties.AlarmConfiguration.Alarms.length).toBeGreaterThan(0);
        expect(g.Properties.AlarmConfiguration.Alarms.length).toBeLessThanOrEqual(10);
        expect(g.Properties.AutoRollbackConfiguration).toEqual({
          Enabled: true,
          Events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST', 'DEPLOYMENT_STOP_ON_ALARM'],
        });
      }
    }
    expect(groups).toBeGreaterThan(0);
  });

  it('have a one-box group and a group per unit of each production region, pre-production groups in the pre-prod region', () => {
    for (const p of pipelines) {
      for (const region of productionRegions(p)) {
        const t = targets.get(region)!;
        const units = p.waves.flatMap((w) => w.regions).find((r) => r.region === region)!.units;
        t.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
          DeploymentGroupName: naming.oneBoxGroupName(p.name),
          Ec2TagSet: { Ec2TagSetList: [{ Ec2TagGroup: [{ Key: 'Service', Value: p.service, Type: 'KEY_AND_VALUE' }] }, { Ec2TagGroup: [{ Key: 'OneBox', Value: 'true', Type: 'KEY_AND_VALUE' }] }] },
        });
        for (const unit of units) {
          t.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
            DeploymentGroupName: naming.unitGroupName(p.name, unit),
            DeploymentConfigName: Match.anyValue(),
          });
        }
      }
      for (const stage of p.preProd) {
        targets.get(p.preProdRegion)!.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
          DeploymentGroupName: naming.preProdGroupName(p.name, stage),
        });
      }
    }
  });

  it('share the rolling (66% healthy) and fast-rollback deployment configs once per region', () => {
    for (const t of targets.values()) {
      t.resourceCountIs('AWS::CodeDeploy::DeploymentConfig', 2);
      t.hasResourceProperties('AWS::CodeDeploy::DeploymentConfig', {
        DeploymentConfigName: naming.DeploymentConfig.ROLLING,
        MinimumHealthyHosts: { Type: 'FLEET_PERCENT', Value: 66 },
      });
      t.hasResourceProperties('AWS::CodeDeploy::DeploymentConfig', {
        DeploymentConfigName: naming.DeploymentConfig.FAST_ROLLBACK,
        MinimumHealthyHosts: { Type: 'FLEET_PERCENT', Value: 67 },
      });
    }
  });

  it('alarm on the fleet fault rate above 1% in 2 of 3 minutes', () => {
    const p = pipelines[0]!;
    const region = productionRegions(p)[0]!;
    targets.get(region)!.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: naming.serviceAlarmName(p.name, region, naming.StandardAlarm.FAULTS),
      Threshold: 1,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: '100 * faults / requests' }),
        Match.objectLike({
          Id: 'faults',
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ Namespace: naming.METRICS_NAMESPACE, MetricName: 'Faults', Dimensions: Match.arrayWith([{ Name: 'Scope', Value: 'fleet' }]) }),
            Period: 60,
          }),
        }),
      ]),
    });
    targets.get(region)!.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: naming.oneBoxAlarmName(p.name, region, naming.StandardAlarm.LATENCY_P99),
      ExtendedStatistic: 'p99',
      Threshold: 1000,
      Dimensions: Match.arrayWith([{ Name: 'Scope', Value: 'onebox' }]),
    });
  });

  it('aggregate every fleet alarm of a team in a region into its composite alarm', () => {
    const p = pipelines[0]!;
    for (const region of productionRegions(p)) {
      const t = targets.get(region)!;
      const alarms = resourcesOf(t, 'AWS::CloudWatch::Alarm');
      const fleetIds = pipelines
        .filter((q) => q.team === p.team && productionRegions(q).includes(region))
        .flatMap((q) => Object.values(naming.StandardAlarm).map((kind) => naming.serviceAlarmName(q.name, region, kind)))
        .map((name) => Object.entries(alarms).find(([, a]) => a.Properties.AlarmName === name)![0]);
      const composite = Object.values(resourcesOf(t, 'AWS::CloudWatch::CompositeAlarm')).find(
        (c) => c.Properties.AlarmName === naming.teamAggregateAlarmName(p.team, region),
      )!;
      const rule = JSON.stringify(composite.Properties.AlarmRule);
      for (const id of fleetIds) expect(rule).toContain(`"${id}","Arn"`);
      expect(rule.match(/ALARM\(/g)).toHaveLength(fleetIds.length);
      expect(rule).toContain(' OR ');
      t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: naming.companyEventAlarmName(region) });
    }
  });

  it('forward deployment and alarm state changes to the handsoff bus of the home region', () => {
    for (const [region, t] of targets) {
      const rules = Object.values(resourcesOf(t, 'AWS::Events::Rule'));
      expect(rules.map((r) => r.Properties.EventPattern.source[0]).sort()).toEqual(['aws.cloudwatch', 'aws.codedeploy']);
      for (const r of rules) {
        expect(JSON.stringify(r.Properties.Targets[0].Arn)).toContain(`:events:${HOME}:`);
        expect(JSON.stringify(r.Properties.Targets[0].Arn)).toContain(':event-bus/handsoff');
        expect(r.Properties.Targets[0].RoleArn).toBeDefined();
      }
      const alarmRule = rules.find((r) => r.Properties.EventPattern.source[0] === 'aws.cloudwatch')!;
      expect(JSON.stringify(alarmRule.Properties.EventPattern.detail.alarmName)).toContain(naming.companyEventAlarmName(region));
    }
    expect(eventBusArn).toBeTypeOf('function');
  });
});
