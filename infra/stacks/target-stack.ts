/**
 * One target region: the CodeDeploy application and deployment groups of every pipeline
 * deploying there, the standard alarms they are watched by, the team aggregate and company
 * event alarms (the blockers), and the forwarding of CodeDeploy and alarm state changes to
 * the handsoff bus of the home region.
 */
import { ArnFormat, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { ResolvedPipeline } from '../../core/model.ts';
import * as naming from '../../core/naming.ts';
import { Reason, allowWithWildcardResources } from '../nag.ts';
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

const PERIOD = Duration.seconds(60);

const pascal = (s: string): string =>
  s
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');

export class TargetStack extends Stack {
  /** Fleet alarms of the region per team: what the team aggregate alarm watches. */
  private readonly fleetAlarmsByTeam = new Map<string, cloudwatch.IAlarm[]>();
  private readonly alarmNames: string[] = [];
  readonly deploymentGroups: codedeploy.ServerDeploymentGroup[] = [];

  constructor(scope: Construct, id: string, props: TargetStackProps) {
    super(scope, id, { ...props, env: { ...props.env, region: props.region } });
    const region = props.region;
    const production = props.pipelines.filter((p) => productionRegions(p).includes(region));
    const preProd = props.pipelines.filter((p) => p.preProd.length > 0 && p.preProdRegion === region);
    const applications = [...new Set([...production, ...preProd])];

    // Shared by every pipeline of the region: an account holds at most 50 custom configs.
    const rolling = new codedeploy.ServerDeploymentConfig(this, 'Rolling', {
      deploymentConfigName: naming.DeploymentConfig.ROLLING,
      minimumHealthyHosts: codedeploy.MinimumHealthyHosts.percentage(66),
    });
    new codedeploy.ServerDeploymentConfig(this, 'FastRollback', {
      deploymentConfigName: naming.DeploymentConfig.FAST_ROLLBACK,
      // 67% healthy: a third of the hosts roll back at once.
      minimumHealthyHosts: codedeploy.MinimumHealthyHosts.percentage(67),
    });

    const role = this.codeDeployRole();

    for (const p of applications) {
      const application = new codedeploy.ServerApplication(this, `${pascal(p.name)}Application`, {
        applicationName: naming.applicationName(p.name),
      });
      const group = (id: string, name: string, tags: codedeploy.InstanceTagSet, config: codedeploy.IServerDeploymentConfig, alarms: cloudwatch.IAlarm[]) => {
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
      };
      // Tag groups are ANDed (a tag set holds up to three), keys within one group ORed.
      const service = { [InstanceTag.SERVICE]: [p.service] };

      if (production.includes(p)) {
        const oneBox = this.standardAlarms(p, 'onebox', (kind) => naming.oneBoxAlarmName(p.name, region, kind), true);
        const fleet = this.standardAlarms(p, 'fleet', (kind) => naming.serviceAlarmName(p.name, region, kind), false);
        this.fleetAlarmsByTeam.set(p.team, [...(this.fleetAlarmsByTeam.get(p.team) ?? []), ...fleet]);
        group(
          `${pascal(p.name)}OneBox`,
          naming.oneBoxGroupName(p.name),
          new codedeploy.InstanceTagSet(service, { [InstanceTag.ONE_BOX]: ['true'] }),
          codedeploy.ServerDeploymentConfig.ONE_AT_A_TIME,
          oneBox,
        );
        const units = p.waves.flatMap((w) => w.regions).find((r) => r.region === region)!.units;
        for (const unit of units) {
          group(
            `${pascal(p.name)}${pascal(unit)}`,
            naming.unitGroupName(p.name, unit),
            new codedeploy.InstanceTagSet(service, { [InstanceTag.UNIT]: [unit] }, { [InstanceTag.ONE_BOX]: ['false'] }),
            rolling,
            fleet,
          );
        }
      }
      if (preProd.includes(p)) {
        for (const stage of p.preProd) {
          const alarms = this.standardAlarms(p, stage, (kind) => naming.serviceAlarmName(p.name, stage, kind), false);
          group(
            `${pascal(p.name)}${pascal(stage)}`,
            naming.preProdGroupName(p.name, stage),
            new codedeploy.InstanceTagSet(service, { [InstanceTag.STAGE]: [stage] }),
            rolling,
            alarms,
          );
        }
      }
    }

    for (const [team, alarms] of this.fleetAlarmsByTeam) {
      const name = naming.teamAggregateAlarmName(team, region);
      new cloudwatch.CompositeAlarm(this, `${pascal(team)}Aggregate`, {
        compositeAlarmName: name,
        alarmDescription: `Team ${team} in ${region}: any fleet alarm of its services. Blocks its deployments; when it fires, every in-flight deployment of the team here rolls back.`,
        alarmRule: cloudwatch.AlarmRule.anyOf(...alarms.map((a) => cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM))),
      });
      this.alarmNames.push(name);
    }

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
        period: PERIOD,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // No event declared is the normal state.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarmNames.push(companyEvent);

    // CodeDeploy reads the state of each group's alarms (named exactly, this region only).
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:DescribeAlarms'],
        resources: [...new Set(this.alarmNames)].sort().map((name) =>
          this.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
        ),
      }),
    );

    this.forwardEvents(props.homeRegion, applications);
  }

  /**
   * The standard alarms of one scope of a service (Scope dimension: `onebox`, `fleet` or a
   * pre-production stage): fault rate, p99 latency, unhealthy hosts.
   */
  private standardAlarms(
    p: ResolvedPipeline,
    scope: string,
    alarmName: (kind: naming.StandardAlarm) => string,
    oneBox: boolean,
  ): cloudwatch.IAlarm[] {
    const dimensionsMap = { Service: p.service, Scope: scope };
    const metric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({ namespace: naming.METRICS_NAMESPACE, metricName, dimensionsMap, statistic, period: PERIOD });
    const id = `${pascal(p.name)}${pascal(scope)}`;
    const where = oneBox ? 'the one-box host' : `scope ${scope}`;

    const faults = new cloudwatch.Alarm(this, `${id}Faults`, {
      alarmName: alarmName(naming.StandardAlarm.FAULTS),
      alarmDescription: `${p.service} ${where}: more than 1% of requests fault.`,
      metric: new cloudwatch.MathExpression({
        expression: '100 * faults / requests',
        usingMetrics: {
          faults: metric(naming.StandardMetric.FAULTS, cloudwatch.Stats.SUM),
          requests: metric(naming.StandardMetric.REQUESTS, cloudwatch.Stats.SUM),
        },
        label: 'Fault rate (%)',
        period: PERIOD,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      // No requests means no fault rate: safe, because a bake never passes on silence (it
      // requires its minimum requests), so silence cannot promote a change.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const latency = new cloudwatch.Alarm(this, `${id}LatencyP99`, {
      alarmName: alarmName(naming.StandardAlarm.LATENCY_P99),
      alarmDescription: `${p.service} ${where}: p99 latency above 1000 ms.`,
      metric: metric(naming.StandardMetric.LATENCY, cloudwatch.Stats.p(99)),
      threshold: 1000,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      // As above: no requests, no latency; the bake's minimum requests guard against silence.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const health = new cloudwatch.Alarm(this, `${id}Health`, {
      alarmName: alarmName(naming.StandardAlarm.HEALTH),
      alarmDescription: `${p.service} ${where}: at least one host fails its health check.`,
      metric: metric(naming.StandardMetric.UNHEALTHY_HOSTS, cloudwatch.Stats.MAXIMUM),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      // Not safe to ignore: hosts that stop reporting may be down. Missing data leaves the
      // alarm INSUFFICIENT_DATA, on which handsoff fails closed.
      treatMissingData: cloudwatch.TreatMissingData.MISSING,
    });
    this.alarmNames.push(...Object.values(naming.StandardAlarm).map(alarmName));
    return [faults, latency, health];
  }

  /**
   * The CodeDeploy service role of every deployment group of the region, instead of the
   * managed AWSCodeDeployRole (which grants autoscaling:*, elasticloadbalancing:* and more):
   * tag-selected EC2 deployments without load balancers need only these.
   */
  private codeDeployRole(): iam.Role {
    const role = new iam.Role(this, 'CodeDeployRole', {
      assumedBy: new iam.ServicePrincipal('codedeploy.amazonaws.com'),
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
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com'),
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
