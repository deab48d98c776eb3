/**
 * The EventBridge stand-in, both ways:
 * - PutEvents: handsoff's own events land in the simulation's event stream;
 * - rules: the world's AWS events (CodeDeploy state changes, CloudWatch alarm state
 *   changes) reach the handler targets about a second after they happen, as on AWS, where
 *   the target region's rule forwards them to the home bus; a push to main reaches the
 *   push rule's target, `start-change` (the input the CDK rule builds: sim/world/codecommit-api.ts).
 */
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { HandsoffEvent } from '../core/events.ts';
import type { StartChangeInput } from '../core/contracts.ts';
import { HandlerName } from '../statemachines/resources.ts';
import type { WorldEmission } from './world/index.ts';
import { localFunctionArn } from './lambda.ts';

/** Delivery latency of an AWS event (CodeDeploy, CloudWatch) to handsoff's handlers. */
export const EVENT_DELIVERY_MS = 1_000;

/** EventBridge: handsoff's own events land in the simulation's event stream. */
export const localEventBridge = (emit: (e: HandsoffEvent) => void) => ({
  send: async (command: unknown): Promise<unknown> => {
    if (!(command instanceof PutEventsCommand)) {
      throw new Error(`the local EventBridge does not implement ${(command as object).constructor.name}`);
    }
    const entries = command.input.Entries ?? [];
    for (const entry of entries) emit(JSON.parse(entry.Detail ?? '{}') as HandsoffEvent);
    return { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `local-${i}` })) };
  },
});

/** An AWS event on its way to a rule's target. */
export interface AwsEvent {
  source: 'deployment' | 'alarm';
  functionArn: string;
  payload: Record<string, unknown>;
}

/** The rule targets of the world's AWS events, as the CDK stack wires them. */
export const awsEventOf = (w: WorldEmission): AwsEvent | undefined => {
  if (w.kind === 'codedeploy') {
    return {
      source: 'deployment',
      functionArn: localFunctionArn(HandlerName.ON_DEPLOYMENT_EVENT),
      payload: {
        source: 'aws.codedeploy',
        'detail-type': 'CodeDeploy Deployment State-change Notification',
        region: w.detail.region,
        time: new Date(Date.now()).toISOString(),
        detail: w.detail,
      },
    };
  }
  if (w.kind === 'alarm') {
    return {
      source: 'alarm',
      functionArn: localFunctionArn(HandlerName.ON_ALARM_EVENT),
      payload: {
        source: 'aws.cloudwatch',
        'detail-type': 'CloudWatch Alarm State Change',
        region: w.region,
        time: new Date(Date.now()).toISOString(),
        detail: w.detail,
      },
    };
  }
  return undefined;
};

/**
 * Delivers an AWS event to its target EVENT_DELIVERY_MS later, so that reaction times the
 * simulator reports are not flattered.
 */
export const deliverLater = (event: AwsEvent, invokeAsync: (functionArn: string, payload: unknown) => void, extraMs = 0): void => {
  setTimeout(() => invokeAsync(event.functionArn, event.payload), EVENT_DELIVERY_MS + extraMs);
};

/**
 * The push rule (infra/constructs/control-plane/event-routing.ts, sourceRules): the push
 * reaches `start-change` as the change merges; a duplicated delivery (the `duplicate-events`
 * fault with source `source`) reaches it again `duplicateLagMs` later, with the same event id.
 */
export const deliverPush = (push: StartChangeInput, invokeAsync: (functionArn: string, payload: unknown) => void, duplicateLagMs?: number): void => {
  const target = localFunctionArn(HandlerName.START_CHANGE);
  invokeAsync(target, push);
  if (duplicateLagMs !== undefined) setTimeout(() => invokeAsync(target, push), duplicateLagMs);
};
