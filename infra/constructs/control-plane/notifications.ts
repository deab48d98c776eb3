/** The notifications of the control plane: failed changes, to an encrypted SNS topic. */
import type { Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EventType } from '../../../core/events.ts';
import { HANDSOFF_BUS_NAME } from '../../stacks/arns.ts';

/**
 * Failed changes go to an encrypted SNS topic, for the humans. EventBridge may publish to
 * the topic, and use its key, only for the handsoff rule of this account (aws:SourceArn,
 * aws:SourceAccount): no other rule, and no other account's EventBridge, can use the grant
 * (the confused deputy).
 */
const TOPIC_NAME = 'handsoff-notifications';
const RULE_NAME = 'handsoff-change-failed';

export const notifications = (stack: Stack, bus: events.EventBus): sns.Topic => {
  // The key's policy names the topic and the rule by formatted ARN: by reference it would
  // be a cycle (the topic uses the key, the rule targets the topic).
  const topicArn = stack.formatArn({ service: 'sns', resource: TOPIC_NAME });
  const ruleArn = stack.formatArn({ service: 'events', resource: 'rule', resourceName: `${HANDSOFF_BUS_NAME}/${RULE_NAME}` });
  const key = new kms.Key(stack, 'NotificationsKey', {
    enableKeyRotation: true,
    description: 'handsoff notifications topic',
  });
  const topic = new sns.Topic(stack, 'Notifications', {
    topicName: TOPIC_NAME,
    masterKey: key,
    enforceSSL: true,
  });
  const rule = new events.Rule(stack, 'ChangeFailed', {
    ruleName: RULE_NAME,
    eventBus: bus,
    description: 'A change failed: tell the humans, with the reason.',
    eventPattern: { source: ['handsoff'], detailType: [EventType.CHANGE_FAILED] },
  });
  // The target without the SnsTopic helper's grant, which carries no condition.
  rule.addTarget({ bind: () => ({ arn: topic.topicArn }) });

  const eventBridge = new iam.ServicePrincipal('events.amazonaws.com');
  const fromThisRule = {
    ArnEquals: { 'aws:SourceArn': ruleArn },
    StringEquals: { 'aws:SourceAccount': stack.account },
  };
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'HandsoffRulePublishes',
      principals: [eventBridge],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: fromThisRule,
    }),
  );
  // EventBridge publishes to the encrypted topic, so it must use the key: for this topic only.
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'HandsoffRuleEncryptsForTopic',
      principals: [eventBridge],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: ['*'],
      conditions: {
        ...fromThisRule,
        StringEquals: { ...fromThisRule.StringEquals, 'kms:EncryptionContext:aws:sns:topicArn': topicArn },
      },
    }),
  );
  return topic;
};
