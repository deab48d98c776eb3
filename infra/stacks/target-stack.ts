/**
 * One target region: the CodeDeploy application and deployment groups of every pipeline
 * deploying there, the standard alarms they are watched by, the team aggregate and company
 * event alarms (the blockers), and the forwarding of CodeDeploy and alarm state changes to
 * the handsoff bus of the home region.
 */
import { ArnFormat, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { ResolvedPipeline } from '../../core/model.ts';
import * as naming from '../../core/naming.ts';
import { FAST_ROLLBACK, rollingConfig, type DeploymentConfigSpec } from '../../core/rollout.ts';
import { Reason, allowWithWildcardResources } from '../nag.ts';
import * as alarmPlan from '../../core/alarms/index.ts';
import { pascal, planAlarm } from '../constructs/service-alarms.ts';
import { eventBusArn, productionRegions } from './arns.ts';
import { regionArtifacts, type RegionArtifacts } from '../constructs/region-artifacts.ts';

export interface TargetStackProps extends StackProps {
  /** The region this stack deploys to (also `env.region`). */
  readonly region: string;
  /** Region of the control plane, whose handsoff bus receives the forwarded events. */
  readonly homeRegion: string;
  /** Every pipeline of the app; the stack keeps those deploying to its region. */
  readonly pipelines: readonly ResolvedPipeline[];
}

/** Instance tags that select a deployment group's hosts. */
export const InstanceTag = { SERVICE: 'Service', UNIT: 'Unit', ONE_BOX: 'OneBox', STAGE: 'Stage' } as const;

/** Namespace of the company-wide event metric an operator raises to block every deployment. */
export const COMPANY_EVENTS_NAMESPACE = alarmPlan.COMPANY_EVENTS_NAMESPACE;

/** CodeDeploy's alarms per deployment group (the quota handsoff designs for). */
export const MAX_ALARMS_PER_GROUP = alarmPlan.MAX_ALARMS_PER_GROUP;

/** The one-box alarms CodeDeploy watches (see core/alarms/watches.ts). */
export const ONE_BOX_GROUP_ALARMS = alarmPlan.ONE_BOX_GROUP_ALARMS;

/** CloudWatch's limit on a composite alarm's rule. */
const MAX_ALARM_RULE_LENGTH = 10_240;

/**
 * Fails synth when a team's aggregate rule would exceed CloudWatch's limit once its ARNs are
 * resolved (`ALARM("arn:aws:cloudwatch:<region>:<account>:alarm:<name>") OR ...`).
 */
const checkAlarmRuleLength = (name: string, members: readonly string[], region: string): void => {
  const arnLength = (alarm: string) => `arn:aws-xx-xxxx:cloudwatch:${region}:123456789012:alarm:${alarm}`.length;
  const length = members.reduce((sum, a) => sum + 'ALARM("")'.length + arnLength(a), 0) + ' OR '.length * (members.length - 1);
  if (length > MAX_ALARM_RULE_LENGTH) {
    throw new Error(
      `aggregate alarm '${name}' would watch ${members.length} fleet alarms, a rule of about ${length} characters; CloudWatch takes at most ${MAX_ALARM_RULE_LENGTH}: split the team, or aggregate per service first`,
    );
  }
};

export class TargetStack extends Stack {
  private readonly alarmNames: string[] = [];
  /** Alarm names of each deployment group, by group name (what CodeDeploy watches). */
  readonly groupAlarms = new Map<string, string[]>();
  readonly deploymentGroups: codedeploy.ServerDeploymentGroup[] = [];
  /** The alarm plan of this region (core/alarms), which this stack creates exactly. */
  readonly alarmPlan: readonly alarmPlan.AlarmDef[];
  /** The region's artifact bucket (its copies of the changes' bundles) and the read policy of its hosts. */
  readonly artifacts?: RegionArtifacts;

  constructor(scope: Construct, id: string, props: TargetStackProps) {
    super(scope, id, { ...props, env: { ...props.env, region: props.region } });
    const region = props.region;
    const production = props.pipelines.filter((p) => productionRegions(p).includes(region));
    const preProd = props.pipelines.filter((p) => p.preProd.length > 0 && p.preProdRegion === region);
    const applications = [...new Set([...production, ...preProd])];

    // Shared by every pipeline of the region with the same policy: an account holds at most
    // 50 custom configs. The batches they make are core/rollout.ts.
    const configs = new Map<string, codedeploy.ServerDeploymentConfig>();
    const config = (spec: DeploymentConfigSpec, id: string): codedeploy.ServerDeploymentConfig => {
      let c = configs.get(spec.name);
      if (!c) {
        const { type, value } = spec.minimumHealthyHosts;
        c = new codedeploy.ServerDeploymentConfig(this, id, {
          deploymentConfigName: spec.name,
          minimumHealthyHosts:
            type === 'FLEET_PERCENT' ? codedeploy.MinimumHealthyHosts.percentage(value) : codedeploy.MinimumHealthyHosts.count(value),
        });
        configs.set(spec.name, c);
      }
      return c;
    };
    // The default rolling configuration keeps its construct id `Rolling`.
    const rollingOf = (p: ResolvedPipeline): codedeploy.ServerDeploymentConfig => {
      const spec = rollingConfig(p.rolling);
      return config(spec, spec.name === naming.DeploymentConfig.ROLLING ? 'Rolling' : `Rolling${p.rolling.minHealthyPercent}`);
    };
    config(FAST_ROLLBACK, 'FastRollback');

    // Every alarm of the region, as planned: metric alarms first, composites over them after.
    this.alarmPlan = alarmPlan.regionAlarmPlan(props.pipelines, region);
    const alarms = new Map<string, cloudwatch.Alarm | cloudwatch.CompositeAlarm>();
    for (const a of [...this.alarmPlan.filter((x) => x.kind !== 'composite'), ...this.alarmPlan.filter((x) => x.kind === 'composite')]) {
      if (a.kind === 'composite') checkAlarmRuleLength(a.name, a.members, region);
      alarms.set(a.name, planAlarm(this, a, alarms));
      this.alarmNames.push(a.name);
    }
    const aggregates = this.alarmPlan.filter((a) => a.kind === 'composite');
    const companyEvent = naming.companyEventAlarmName(region);

    const role = this.codeDeployRole();
    for (const p of applications) {
      const application = new codedeploy.ServerApplication(this, `${pascal(p.name)}Application`, {
        applicationName: naming.applicationName(p.name),
      });
      // A regression elsewhere in the team's region (a shared dependency, a sibling service)
      // stops this team's deployments too: the groups watch the team aggregate.
      const watched = alarmPlan.deploymentGroupAlarms(p, region, { aggregate: aggregates.find((a) => a.team === p.team)?.name });
      const group = (id: string, name: string, tags: codedeploy.InstanceTagSet, config: codedeploy.IServerDeploymentConfig) => {
        const names = watched.get(name);
        if (!names) throw new Error(`the alarm plan has no alarms for deployment group '${name}' in ${region}`);
        const g = new codedeploy.ServerDeploymentGroup(this, id, {
          application,
          deploymentGroupName: name,
          // Immutable view: the L2 would otherwise attach the managed AWSCodeDeployRole.
          role: role.withoutPolicyUpdates(),
          ec2InstanceTags: tags,
          deploymentConfig: config,
          alarms: names.map((n) => alarms.get(n)!),
          autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
          installAgent: false,
        });
        this.deploymentGroups.push(g);
        this.groupAlarms.set(name, [...names]);
        return g;
      };
      // Tag groups are ANDed (a tag set holds up to three), keys within one group ORed.
      const service = { [InstanceTag.SERVICE]: [naming.fleetService(p)] };

      if (production.includes(p)) {
        const units = alarmPlan.productionRegion(p, region)!.units;
        if (p.oneBox ?? true) {
          group(
            `${pascal(p.name)}OneBox`,
            naming.oneBoxGroupName(p.name),
            new codedeploy.InstanceTagSet(service, { [InstanceTag.ONE_BOX]: ['true'] }),
            codedeploy.ServerDeploymentConfig.ONE_AT_A_TIME,
          );
        }
        for (const unit of units) {
          group(
            `${pascal(p.name)}${pascal(unit)}`,
            naming.unitGroupName(p.name, unit),
            new codedeploy.InstanceTagSet(service, { [InstanceTag.UNIT]: [unit] }, { [InstanceTag.ONE_BOX]: ['false'] }),
            rollingOf(p),
          );
        }
      }
      if (preProd.includes(p)) {
        for (const stage of p.preProd) {
          group(
            `${pascal(p.name)}${pascal(stage)}`,
            naming.preProdGroupName(p.name, stage),
            new codedeploy.InstanceTagSet(service, { [InstanceTag.STAGE]: [stage] }),
            rollingOf(p),
          );
        }
        // Gamma deploys one-box first: one host tagged Stage=gamma-onebox, which neither the
        // gamma fleet's group (Stage=gamma) nor a production one-box group (OneBox=true) takes.
        if (naming.hasGammaOneBox(p)) {
          group(
            `${pascal(p.name)}GammaOneBox`,
            naming.gammaOneBoxGroupName(p.name),
            new codedeploy.InstanceTagSet(service, { [InstanceTag.STAGE]: [naming.GAMMA_ONE_BOX_SCOPE] }),
            codedeploy.ServerDeploymentConfig.ONE_AT_A_TIME,
          );
        }
      }
    }
    this.node.addValidation({ validate: () => this.alarmLimitProblems() });

    // CodeDeploy reads the state of each group's alarms: those of the region's pipelines (every
    // name starts with the pipeline's), the team aggregates and the company event, this region only.
    // By pipeline prefix rather than by name: 20-odd alarms per pipeline would overflow the
    // role's 10 KB inline policy limit at a handful of pipelines.
    const alarmArn = (name: string) =>
      this.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    allowWithWildcardResources(
      role,
      new iam.PolicyStatement({
        actions: ['cloudwatch:DescribeAlarms'],
        resources: [...applications.map((p) => alarmArn(`${p.name}-*`)), ...aggregates.map((a) => alarmArn(a.name)), alarmArn(companyEvent)],
      }),
      'The alarms of the pipelines deploying to this region, by pipeline name prefix (one-box, fleet, anomaly and pre-production alarms), in this region only; CodeDeploy only reads their state.',
    );

    this.forwardEvents(props.homeRegion, applications);
    if (applications.length > 0) this.artifacts = regionArtifacts(this, region);
  }

  /** Deployment groups over CodeDeploy's alarm limit, as synth errors (read from what is rendered). */
  private alarmLimitProblems(): string[] {
    return this.deploymentGroups.flatMap((g) => {
      const cfn = g.node.defaultChild as codedeploy.CfnDeploymentGroup;
      const config = this.resolve(cfn.alarmConfiguration) as { alarms?: unknown[] } | undefined;
      const count = config?.alarms?.length ?? 0;
      return count > MAX_ALARMS_PER_GROUP
        ? [
            `deployment group '${cfn.deploymentGroupName}' in ${this.region} has ${count} alarms; CodeDeploy takes at most ${MAX_ALARMS_PER_GROUP}: watch fewer, or fold some into a composite alarm`,
          ]
        : [];
    });
  }

  /**
   * The CodeDeploy service role of every deployment group of the region, instead of the
   * managed AWSCodeDeployRole (which grants autoscaling:*, elasticloadbalancing:* and more):
   * tag-selected EC2 deployments without load balancers need only these.
   */
  private codeDeployRole(): iam.Role {
    const role = new iam.Role(this, 'CodeDeployRole', {
      assumedBy: new iam.ServicePrincipal('codedeploy.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
      description: 'handsoff CodeDeploy deployment groups: find tagged hosts, read their alarms.',
    });
    allowWithWildcardResources(
      role,
      new iam.PolicyStatement({
        actions: ['ec2:DescribeInstances', 'ec2:DescribeInstanceStatus', 'tag:GetResources'],
        resources: ['*'],
      }),
      Reason.CODEDEPLOY_EC2_DESCRIBE,
    );
    return role;
  }

  /**
   * The handsoff alarms of the region by exact name; by name prefix (every alarm of a
   * pipeline starts with its name) when the list would approach EventBridge's pattern size limit.
   */
  private alarmNamePattern(applications: readonly ResolvedPipeline[]): Array<string | { prefix: string }> {
    const names = [...new Set(this.alarmNames)].sort();
    if (JSON.stringify(names).length <= 1500) return names;
    return [
      ...applications.map((p) => ({ prefix: `${p.name}-` })),
      ...names.filter((n) => !applications.some((p) => n.startsWith(`${p.name}-`))),
    ];
  }

  /** Forwards the region's deployment and alarm state changes of handsoff to the home bus. */
  private forwardEvents(homeRegion: string, applications: readonly ResolvedPipeline[]): void {
    const bus = events.EventBus.fromEventBusArn(this, 'HomeBus', eventBusArn(this, homeRegion));
    const role = new iam.Role(this, 'ForwardRole', {
      // Only this account's rules of this region may use it (the confused deputy).
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': this.account },
          ArnLike: { 'aws:SourceArn': this.formatArn({ service: 'events', resource: 'rule', resourceName: '*' }) },
        },
      }),
      description: `Forwards handsoff CodeDeploy and alarm events of ${this.region} to the handsoff bus in ${homeRegion}.`,
    });
    new events.Rule(this, 'ForwardDeploymentStateChanges', {
      description: 'CodeDeploy state changes of handsoff applications, to the handsoff bus of the home region.',
      eventPattern: {
        source: ['aws.codedeploy'],
        detailType: ['CodeDeploy Deployment State-change Notification'],
        detail: { application: applications.map((p) => naming.applicationName(p.name)) },
      },
      targets: [new targets.EventBus(bus, { role })],
    });
    new events.Rule(this, 'ForwardAlarmStateChanges', {
      description: 'State changes of the handsoff alarms of this region, to the handsoff bus of the home region.',
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: ['CloudWatch Alarm State Change'],
        detail: { alarmName: this.alarmNamePattern(applications) },
      },
      targets: [new targets.EventBus(bus, { role })],
    });
  }
}
