/**
 * Event routing of the control plane: AWS events of every target region to the handlers,
 * the reconciler's schedule, and the source trigger of each pipeline. Created in the stack's
 * own scope, so the construct ids (`DeploymentStateChanges`, `<Pipeline>Source`, ...) stay.
 */
import { Duration, type Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { ResolvedPipeline } from '../../../core/model.ts';
import { HandlerName } from '../../../statemachines/resources.ts';
import { repositoryArn } from '../../stacks/arns.ts';
import { RECONCILE_RATE } from './access.ts';
import { pascal } from './names.ts';

/** AWS events of every target region (forwarded to the handsoff bus) and the reconciler's schedule. */
export const awsEventRules = (stack: Stack, bus: events.EventBus, functions: Record<HandlerName, lambda.IFunction>, deadLetters: sqs.IQueue): void => {
  // AWS events of every target region arrive on the handsoff bus (the target stacks forward them).
  new events.Rule(stack, 'DeploymentStateChanges', {
    eventBus: bus,
    description: 'CodeDeploy deployment state changes of every target region: complete the waiting step.',
    eventPattern: { source: ['aws.codedeploy'], detailType: ['CodeDeploy Deployment State-change Notification'] },
    targets: [new targets.LambdaFunction(functions[HandlerName.ON_DEPLOYMENT_EVENT], { retryAttempts: 8, deadLetterQueue: deadLetters })],
  });
  new events.Rule(stack, 'AlarmStateChanges', {
    eventBus: bus,
    description: 'CloudWatch alarm state changes of every target region: fail steps and roll back in seconds.',
    eventPattern: { source: ['aws.cloudwatch'], detailType: ['CloudWatch Alarm State Change'] },
    targets: [new targets.LambdaFunction(functions[HandlerName.ON_ALARM_EVENT], { retryAttempts: 8, deadLetterQueue: deadLetters })],
  });

  // An EventBridge rule rather than a Scheduler schedule: it needs no role to pass (Lambda's
  // resource policy lets events.amazonaws.com invoke this function only), and a recurring
  // schedule in the bake group would be in reach of the handlers' DeleteSchedule there.
  new events.Rule(stack, 'ReconcileSchedule', {
    description: `Every ${RECONCILE_RATE.toMinutes()} minutes: re-check the open waiters, in case an event was lost.`,
    schedule: events.Schedule.rate(RECONCILE_RATE),
    targets: [
      new targets.LambdaFunction(functions[HandlerName.RECONCILE], {
        // The next sweep does the same work: no point retrying a stale one.
        retryAttempts: 0,
        maxEventAge: Duration.minutes(5),
      }),
    ],
  });
};

/**
/**
 * A push to main of each pipeline's repository starts a change, through handler
 * `start-change`: it names the change and its execution (a rule starting the state machine
 * itself could not name it, and a duplicated event would run the change twice). The review
 * gate is the first state of the pipeline. A Lambda target needs no role: the function's
 * resource policy lets only this rule (aws:SourceArn) invoke it.
 */
export const sourceRules = (
  stack: Stack,
  pipelines: readonly ResolvedPipeline[],
  machines: Record<string, sfn.StateMachine>,
  startChange: lambda.IFunction,
  repositoryName: ((p: ResolvedPipeline) => string) | undefined,
  deadLetters: sqs.IQueue,
): void => {
  for (const p of pipelines) {
    const repository = repositoryName?.(p) ?? p.name;
    new events.Rule(stack, `${pascal(p.name)}Source`, {
      description: `Push to main of ${repository}: start a change of pipeline ${p.name}.`,
      eventPattern: {
        source: ['aws.codecommit'],
        detailType: ['CodeCommit Repository State Change'],
        resources: [repositoryArn(stack, repository)],
        // referenceCreated: the first push, which creates main.
        detail: { event: ['referenceCreated', 'referenceUpdated'], referenceType: ['branch'], referenceName: ['main'] },
      },
      targets: [
        // StartChangeInput: the pipeline, its machine and the whole push event (its id tells
        // a duplicated delivery, which start-change maps to the same change, from a new push).
        new targets.LambdaFunction(startChange, {
          retryAttempts: 8,
          deadLetterQueue: deadLetters,
          maxEventAge: Duration.hours(24),
          event: events.RuleTargetInput.fromObject({
            pipeline: p.name,
            stateMachineArn: machines[p.name]!.stateMachineArn,
            // The fields start-change reads, each by its own path (an input transformer's paths
            // are plain dot paths; the predefined whole-event variable would drop `detail`).
            event: {
              id: events.EventField.eventId,
              time: events.EventField.time,
              source: events.EventField.source,
              'detail-type': events.EventField.detailType,
              region: events.EventField.region,
              detail: events.EventField.fromPath('$.detail'),
            },
          }),
        }),
      ],
    });
  }
};
