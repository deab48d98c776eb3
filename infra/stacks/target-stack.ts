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
import { ALARM_PERIOD, fleetRequestsAnomalyAlarm, nameOf, oneBoxAnomalyAlarms, pascal, standardAlarms, unitRequestsAnomalyAlarm } from '../constructs/service-alarms.ts';
import { eventBusArn, productionRegions } from './arns.ts';

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
export const COMPANY_EVENTS_NAMESPACE = 'Handsoff/Company';

/** CodeDeploy's alarms per deployment group (the quota handsoff designs for). */
export const MAX_ALARMS_PER_GROUP = 10;

/**
 * The one-box alarms CodeDeploy watches (with the one-box latency and faults anomaly alarms and the team
 * aggregate): the ones that tell a bad change on one host. Its CPU, memory, disk and p50/p90
 * alarms exist (handsoff's bakes watch them all) but would overflow the group's limit.
 */
export const ONE_BOX_GROUP_ALARMS: readonly naming.StandardAlarm[] = [
  naming.StandardAlarm.FAULTS,
  naming.StandardAlarm.LATENCY_P99,
  naming.StandardAlarm.HEALTH,
  naming.StandardAlarm.LOG_ERRORS,
];

/** CloudWatch's limit on a composite alarm's rule. */
const MAX_ALARM_RULE_LENGTH = 10_240;

/**
 * Fails synth when a team's aggregate rule would exceed CloudWatch's limit once its ARNs are
 * resolved (`ALARM("arn:aws:cloudwatch:<region>:<account>:alarm:<name>") OR ...`).
 */
const checkAlarmRuleLength = (name: string, alarms: readonly cloudwatch.Alarm[], region: string): void => {
  const arnLength = (alarm: string) => `arn:aws-xx-xxxx:cloudwatch:${region}:123456789012:alarm:${alarm}`.length;
  const length = alarms.reduce((sum, a) => sum + 'ALARM("")'.length + arnLength(nameOf(a)), 0) + ' OR '.length * (alarms.length - 1);
  if (length > MAX_ALARM_RULE_LENGTH) {
    throw new Error(
      `aggregate alarm '${name}' would watch ${alarms.length} fleet alarms, a rule of about ${length} characters; CloudWatch takes at most ${MAX_ALARM_RULE_LENGTH}: split the team, or aggregate per service first`,
    );
  }
};

export class TargetStack extends Stack {
  /** Fleet alarms of the region per team: what the team aggregate alarm watches. */
  private readonly fleetAlarmsByTeam = new Map<string, cloudwatch.Alarm[]>();
  private readonly alarmNames: string[] = [];
  /** Alarm names of each deployment group, by group name (what CodeDeploy watches). */
  readonly groupAlarms = new Map<string, string[]>();
  readonly deploymentGroups: codedeploy.ServerDeploymentGroup[] = [];

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

    const role = this.codeDeployRole();
    /** Groups that also watch their team's aggregate alarm, once it exists. */
    const watchAggregate: Array<{ team: string; group: codedeploy.ServerDeploymentGroup; name: string }> = [];

    for (const p of applications) {
      const application = new codedeploy.ServerApplication(this, `${pascal(p.name)}Application`, {
        applicationName: naming.applicationName(p.name),
      });
      const group = (id: string, name: string, tags: codedeploy.InstanceTagSet, config: codedeploy.IServerDeploymentConfig, alarms: Array<cloudwatch.Alarm | cloudwatch.CompositeAlarm>) => {
        const g = new codedeploy.ServerDeploymentGroup(this, id, {
          application,
          deploymentGroupName: name,
          // Immutable view: the L2 would otherwise attach the managed AWSCodeDeployRole.
          role: role.withoutPolicyUpdates(),
          ec2InstanceTags: tags,
          deploymentConfig: config,
          alarms,
          autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
          installAgent: false,
        });
        this.deploymentGroups.push(g);
        this.groupAlarms.set(name, alarms.map(nameOf));
        return g;
      };
      // Tag groups are ANDed (a tag set holds up to three), keys within one group ORed.
      const service = { [InstanceTag.SERVICE]: [p.service] };

      if (production.includes(p)) {
        const units = p.waves.flatMap((w) => w.regions).find((r) => r.region === region)!.units;
        const fleet = standardAlarms(this, {
          service: p.service,
          scope: 'fleet',
          idPrefix: `${pascal(p.name)}Fleet`,
          alarmName: (kind) => naming.serviceAlarmName(p.name, region, kind),
          where: `fleet of ${region}`,
        });
        this.fleetAlarmsByTeam.set(p.team, [...(this.fleetAlarmsByTeam.get(p.team) ?? []), ...Object.values(fleet)]);
        this.alarmNames.push(...Object.values(fleet).map(nameOf));
        // Watched by handsoff's bakes, not by CodeDeploy nor the team aggregate: a seasonal
        // band is noisier than a threshold, and the aggregate blocks every service of the team.
        this.alarmNames.push(nameOf(fleetRequestsAnomalyAlarm(this, { pipeline: p.name, service: p.service, region, idPrefix: pascal(p.name) })));

        if (p.oneBox ?? true) {
          const oneBox = standardAlarms(this, {
            service: p.service,
            scope: 'onebox',
            idPrefix: `${pascal(p.name)}Onebox`,
            alarmName: (kind) => naming.oneBoxAlarmName(p.name, region, kind),
            where: `one-box host of ${region}`,
          });
          const anomalies = oneBoxAnomalyAlarms(this, {
            pipeline: p.name,
            service: p.service,
            region,
            idPrefix: pascal(p.name),
            fleetHosts: units.length * p.hostsPerUnit,
          });
          this.alarmNames.push(...[...Object.values(oneBox), ...Object.values(anomalies)].map(nameOf));
          const name = naming.oneBoxGroupName(p.name);
          const g = group(
            `${pascal(p.name)}OneBox`,
            name,
            new codedeploy.InstanceTagSet(service, { [InstanceTag.ONE_BOX]: ['true'] }),
            codedeploy.ServerDeploymentConfig.ONE_AT_A_TIME,
            // Not the requests anomaly: while CodeDeploy installs the one host it serves
            // nothing, and that alarm would stop the deployment itself (handsoff's steps and
            // bakes watch it).
            [...ONE_BOX_GROUP_ALARMS.map((kind) => oneBox[kind]), anomalies[naming.AnomalyMetric.LATENCY], anomalies[naming.AnomalyMetric.FAULTS]],
          );
          watchAggregate.push({ team: p.team, group: g, name });
        }
        for (const unit of units) {
          // The unit against its region: watched by the region steps, like the fleet band;
          // neither in the unit's group (10 alarms already) nor in the team aggregate.
          this.alarmNames.push(
            nameOf(
              unitRequestsAnomalyAlarm(this, {
                pipeline: p.name,
                service: p.service,
                region,
                unit,
                idPrefix: `${pascal(p.name)}${pascal(unit)}`,
                unitHosts: p.hostsPerUnit,
                fleetHosts: units.length * p.hostsPerUnit,
              }),
            ),
          );
          const name = naming.unitGroupName(p.name, unit);
          const g = group(
            `${pascal(p.name)}${pascal(unit)}`,
            name,
            new codedeploy.InstanceTagSet(service, { [InstanceTag.UNIT]: [unit] }, { [InstanceTag.ONE_BOX]: ['false'] }),
            rollingOf(p),
            Object.values(fleet),
          );
          watchAggregate.push({ team: p.team, group: g, name });
        }
      }
      if (preProd.includes(p)) {
        for (const stage of p.preProd) {
          const alarms = standardAlarms(this, {
            service: p.service,
            scope: stage,
            idPrefix: `${pascal(p.name)}${pascal(stage)}`,
            alarmName: (kind) => naming.serviceAlarmName(p.name, stage, kind),
            where: `stage ${stage}`,
          });
          this.alarmNames.push(...Object.values(alarms).map(nameOf));
          group(
            `${pascal(p.name)}${pascal(stage)}`,
            naming.preProdGroupName(p.name, stage),
            new codedeploy.InstanceTagSet(service, { [InstanceTag.STAGE]: [stage] }),
            rollingOf(p),
            Object.values(alarms),
          );
        }
      }
    }

    const aggregates = new Map<string, cloudwatch.CompositeAlarm>();
    for (const [team, alarms] of this.fleetAlarmsByTeam) {
      const name = naming.teamAggregateAlarmName(team, region);
      checkAlarmRuleLength(name, alarms, region);
      aggregates.set(
        team,
        new cloudwatch.CompositeAlarm(this, `${pascal(team)}Aggregate`, {
          compositeAlarmName: name,
          alarmDescription: `Team ${team} in ${region}: any fleet alarm of its services. Blocks its deployments; when it fires, every in-flight deployment of the team here rolls back.`,
          alarmRule: cloudwatch.AlarmRule.anyOf(...alarms.map((a) => cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM))),
        }),
      );
      this.alarmNames.push(name);
    }
    // A regression elsewhere in the team's region (a shared dependency, a sibling service)
    // stops this team's deployments too.
    for (const { team, group, name } of watchAggregate) {
      const aggregate = aggregates.get(team)!;
      group.addAlarm(aggregate);
      this.groupAlarms.get(name)!.push(nameOf(aggregate));
    }
    this.node.addValidation({ validate: () => this.alarmLimitProblems() });

    // A company-wide event (a peak sales day, an incident elsewhere) blocks every team: an
    // operator raises it with `put-metric-data` (or `set-alarm-state`) on this metric.
    const companyEvent = naming.companyEventAlarmName(region);
    new cloudwatch.Alarm(this, 'CompanyEvent', {
      alarmName: companyEvent,
      alarmDescription: `Company-wide event in ${region}: no production deployment may start while it is in ALARM.`,
      metric: new cloudwatch.Metric({
        namespace: COMPANY_EVENTS_NAMESPACE,
        metricName: 'CompanyEvent',
        dimensionsMap: { Region: region },
        statistic: cloudwatch.Stats.MAXIMUM,
        period: ALARM_PERIOD,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // No event declared is the normal state.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarmNames.push(companyEvent);

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
        resources: [
          ...applications.map((p) => alarmArn(`${p.name}-*`)),
          ...[...aggregates.values()].map((a) => alarmArn(nameOf(a))),
          alarmArn(companyEvent),
        ],
      }),
      'The alarms of the pipelines deploying to this region, by pipeline name prefix (one-box, fleet, anomaly and pre-production alarms), in this region only; CodeDeploy only reads their state.',
    );

    this.forwardEvents(props.homeRegion, applications);
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
