/** The notifications of the control plane: failed changes, to an encrypted SNS topic. */
import type { Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EventType } from '../../../core/events.ts';

/** Failed changes go to an encrypted SNS topic, for the humans. */
export const notifications = (stack: Stack, bus: events.EventBus): sns.Topic => {
  const key = new kms.Key(stack, 'NotificationsKey', {
    enableKeyRotation: true,
    description: 'handsoff notifications topic',
  });
  // EventBridge publishes to the encrypted topic, so it must use the key.
  key.grant(new iam.ServicePrincipal('events.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey');
  const topic = new sns.Topic(stack, 'Notifications', {
    topicName: 'handsoff-notifications',
    masterKey: key,
    enforceSSL: true,
  });
  new events.Rule(stack, 'ChangeFailed', {
    eventBus: bus,
    description: 'A change failed: tell the humans, with the reason.',
    eventPattern: { source: ['handsoff'], detailType: [EventType.CHANGE_FAILED] },
    targets: [new targets.SnsTopic(topic)],
  });

  return topic;
};
