import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CreateDeploymentCommand } from '@aws-sdk/client-codedeploy';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { handler as notifyHandler } from '../../lambdas/notify/index.ts';
import { handler as startDeploymentHandler } from '../../lambdas/start-deployment/index.ts';
import { handler as laneHandler } from '../../lambdas/lane/index.ts';
import { codeDeploy, ddb, events, useAwsMocks } from './support.ts';

useAwsMocks();

const context = { functionName: 'handsoff-test', awsRequestId: 'r-1' } as unknown as Context;

describe('the handler wrapper', () => {
  it('refuses input that does not match the contract, naming every field, before any side effect', async () => {
    // Act
    const run = startDeploymentHandler(
      { pipeline: 'storefront-api', change: 'c1', stage: 'wave-1', region: 'us-east-1', revision: 'r1', alarms: [] },
      context,
    );
    // Assess
    await expect(run).rejects.toMatchObject({ name: 'InvalidInput' });
    await expect(run).rejects.toThrow(/taskToken/);
    await expect(run).rejects.toThrow(/application/);
    await expect(run).rejects.toThrow(/deploymentGroup/);
    await expect(run).rejects.toThrow(/alarms: must not be empty/);
    expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('names the form of a union contract that was not matched', async () => {
    await expect(laneHandler({ action: 'steal', pipeline: 'p', change: 'c1' }, context)).rejects.toThrow(/lane input does not match its contract: action/);
  });

  it('hands a valid input to the business logic', async () => {
    await expect(notifyHandler({ type: 'stage.started', pipeline: 'storefront-api', change: 'c1', stage: 'beta' }, context)).resolves.toEqual({
      published: true,
    });
    expect(events).toHaveReceivedCommand(PutEventsCommand);
  });
});
