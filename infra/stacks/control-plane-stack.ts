/**
 * The handsoff control plane, in the home region: the handlers, their tables, the event
 * bus that AWS events of every target region are forwarded to, the bake-end schedules,
 * notifications, per pipeline a pipeline state machine and a region child state machine, and
 * the console (its HTTP API, Cognito user pool and function).
 * The parts are built by infra/constructs/control-plane/*, in this stack's own scope, so
 * every construct id is what it was when this was one file.
 */
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type * as codebuild from 'aws-cdk-lib/aws-codebuild';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { ResolvedPipeline } from '../../core/model.ts';
import { SourceKind, type SourceConfig } from '../../core/source.ts';
import { HandlerName } from '../../statemachines/resources.ts';
import type { MachineOptions } from '../../statemachines/index.ts';
import type { TableName } from '../constructs/control-plane/access.ts';
import { CONSOLE_BUNDLE, PROJECT_ROOT, bundleEntries, bundleHandlers } from '../constructs/control-plane/bundle.ts';
import { createConsole, type ConsoleResources } from '../constructs/control-plane/console.ts';
import { awsEventRules, sourceRules } from '../constructs/control-plane/event-routing.ts';
import { createFunctions, grantHandler } from '../constructs/control-plane/functions.ts';
import { githubConnection, githubSource, type GitHubSourceResources } from '../constructs/control-plane/github-source.ts';
import type { ProjectRepository } from '../constructs/control-plane/project-source.ts';
import { createStateMachines } from '../constructs/control-plane/machines.ts';
import { createStageTests } from '../constructs/control-plane/stage-tests.ts';
import { buildNetwork, buildProject, grantBuild } from '../constructs/control-plane/build-project.ts';
import { notifications } from '../constructs/control-plane/notifications.ts';
import { createTables, seedTables } from '../constructs/control-plane/tables.ts';
import { acknowledge } from '../nag.ts';
import { accessLogsBucket } from '../constructs/access-logs.ts';
import { BAKE_SCHEDULE_GROUP, HANDSOFF_BUS_NAME, repositoryArn } from './arns.ts';

export { RECONCILE_RATE } from '../constructs/control-plane/access.ts';

/** statemachines/index.ts `buildStateMachines`: one ASL source for AWS and the simulator. */
export type BuildStateMachines = (p: ResolvedPipeline, options?: MachineOptions) => {
  pipeline: Record<string, unknown>;
  region: Record<string, unknown>;
};

export interface ControlPlaneStackProps extends StackProps {
  readonly pipelines: readonly ResolvedPipeline[];
  readonly buildStateMachines: BuildStateMachines;
  /**
   * Entry file of a handler.
   * @default - `lambdas/<name>/index.ts`
   */
  readonly handlerEntry?: (name: HandlerName) => string;
  /**
   * Entry file of the console's function.
   * @default - `console/lambda.ts`
   */
  readonly consoleEntry?: string;
  /**
   * CodeCommit repository whose pushes to main start a pipeline.
   * @default - the repository named like the pipeline
   */
  readonly repositoryName?: (p: ResolvedPipeline) => string;
  /**
   * Where changes come from (core/source.ts; `-c source=github -c repository=OWNER/NAME`).
   * @default - CodeCommit
   */
  readonly source?: SourceConfig;
}

export class ControlPlaneStack extends Stack {
  readonly tables: Record<TableName, dynamodb.Table>;
  readonly functions: Record<HandlerName, lambda.Function>;
  readonly bus: events.EventBus;
  /** The console: its HTTP API, user pool and function. */
  readonly console: ConsoleResources;
  readonly pipelineMachines: Record<string, sfn.StateMachine> = {};
  readonly regionMachines: Record<string, sfn.StateMachine> = {};
  /** Each pipeline's build project (its unit tests and artifact). */
  readonly buildProjects: Record<string, codebuild.Project> = {};
  /** The definition file of each state machine (by state machine name), as uploaded. */
  readonly definitionFiles: Record<string, string> = {};
  /** The GitHub connection, token secret and source pipelines, with a GitHub source. */
  readonly github?: GitHubSourceResources;

  constructor(scope: Construct, id: string, props: ControlPlaneStackProps) {
    super(scope, id, { suppressTemplateIndentation: true, ...props });
    const { pipelines } = props;

    this.tables = createTables(this);

    this.bus = new events.EventBus(this, 'Bus', { eventBusName: HANDSOFF_BUS_NAME });
    this.bus.archive('Archive', {
      archiveName: 'handsoff-events',
      description: 'Every event on the handsoff bus, for replay after a handler fix.',
      eventPattern: { account: [this.account] },
      retention: Duration.days(90),
    });

    const artifacts = this.artifactBucket();

    const scheduleGroup = new scheduler.ScheduleGroup(this, 'BakeSchedules', {
      scheduleGroupName: BAKE_SCHEDULE_GROUP,
    });
    // Bake ends, override expiries and sweeps are one-time schedules; the role they run as may invoke bake-end, operator and reconcile, nothing else.
    const schedulerRole = new iam.Role(this, 'BakeSchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
      description: 'EventBridge Scheduler: invokes the handsoff bake-end function when a bake time has passed, the operator function when an override expires, and the reconciler at a sweep it was woken for.',
    });

    const source = props.source ?? { kind: SourceKind.CODECOMMIT };
    // The CodeCommit repositories the review gate reads: none with a GitHub source.
    const repositoryArns = source.kind === SourceKind.CODECOMMIT ? pipelines.map((p) => repositoryArn(this, props.repositoryName?.(p) ?? p.name)) : [];
    // Events no handler could take after every retry (EventBridge's and Lambda's): kept two
    // weeks for a person to read and replay, never dropped.
    const deadLetters = new sqs.Queue(this, 'DeadLetters', {
      queueName: 'handsoff-dead-letters',
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(deadLetters, 'AwsSolutions-SQS3', 'This queue is the dead-letter queue of the handsoff event handlers and rules; it has none of its own.');
    const deps = { tables: this.tables, bus: this.bus, artifacts, scheduleGroup, schedulerRole, repositoryArns, deadLetters };
    const code = bundleHandlers(PROJECT_ROOT, bundleEntries(props.handlerEntry, props.consoleEntry));
    this.functions = createFunctions(this, deps, code);
    schedulerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [this.functions[HandlerName.BAKE_END].functionArn, this.functions[HandlerName.OPERATOR].functionArn, this.functions[HandlerName.RECONCILE].functionArn],
      }),
    );

    // With a GitHub source, the connection its source pipelines read the repository through.
    const connection = source.kind === SourceKind.GITHUB ? githubConnection(this) : undefined;
    const repositoryOf = (p: ResolvedPipeline): ProjectRepository =>
      source.kind === SourceKind.GITHUB ? { kind: SourceKind.GITHUB, pipeline: p.name, artifacts } : { kind: SourceKind.CODECOMMIT, repositoryName: props.repositoryName?.(p) ?? p.name };
    // The isolated network of the builds (CodeCommit: a VPC endpoint serves the checkout).
    const buildNet = pipelines.length > 0 ? buildNetwork(this, artifacts, source.kind === SourceKind.CODECOMMIT) : undefined;
    for (const p of pipelines) {
      const machines = createStateMachines(this, p, props.buildStateMachines(p, { source: source.kind }), this.functions, this.definitionFiles);
      createStageTests(this, p, machines.pipeline.role, repositoryOf(p));
      this.regionMachines[p.name] = machines.region;
      this.pipelineMachines[p.name] = machines.pipeline;
      // The build stage: the pipeline's CodeBuild project, which its machine runs.
      this.buildProjects[p.name] = buildProject(this, p, repositoryOf(p), artifacts, buildNet!);
      grantBuild(this, machines.pipeline, this.buildProjects[p.name]!, artifacts);
    }

    for (const name of Object.values(HandlerName)) {
      grantHandler(this, this.functions[name], name, pipelines, deps);
    }

    awsEventRules(this, this.bus, this.functions, deadLetters);
    notifications(this, this.bus);
    if (source.kind === SourceKind.GITHUB) {
      this.github = githubSource(this, {
        source,
        pipelines,
        machines: this.pipelineMachines,
        startChange: this.functions[HandlerName.START_CHANGE],
        reviewGate: this.functions[HandlerName.REVIEW_GATE],
        artifacts,
        connection: connection!,
      });
    } else {
      sourceRules(this, pipelines, this.pipelineMachines, this.functions[HandlerName.START_CHANGE], props.repositoryName, deadLetters);
    }
    seedTables(this, this.tables, pipelines);
    this.console = createConsole(this, { pipelines, deps, codeDir: code[CONSOLE_BUNDLE]!, bakeEnd: this.functions[HandlerName.BAKE_END] });
  }

  private artifactBucket(): s3.Bucket {
    const accessLogs = accessLogsBucket(this, 'AccessLogs', 'the artifact bucket');
    return new s3.Bucket(this, 'Artifacts', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // Rollback restores the exact previous artifact: objects are immutable and versioned.
      versioned: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'artifacts/',
    });
  }
}
