/**
 * Handler `start-change`: the target of a pipeline's "push to main" rule. One push event is
 * one change, and one change runs once:
 * - the change id is the pushed commit, or `<commit>-2`, `<commit>-3`... when that commit was
 *   pushed before (main reset and pushed again: a new change, not a replay of the old one);
 * - the id is claimed by a conditional "change started" record carrying the push event's id,
 *   so a duplicated delivery of the same event (EventBridge delivers at least once, and retries
 *   a failed invocation) finds its own record and the same change;
 * - the pipeline execution is started under the change's name with an input built from the
 *   record alone: a repeated start of the open execution is the same execution, and one that
 *   already ended (ExecutionAlreadyExists) is adopted, never run again.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { StartChangeInput, type ChangeExecutionInput, type StartChangeOutput } from '../../core/contracts.ts';
import { hasName, InvalidInputError } from '../../core/errors.ts';
import { principalName } from '../../core/review.ts';
import { clients } from '../shared/clients.ts';
import { conflictingItem, isConditionalCheckFailed } from '../shared/dynamo.ts';
import { nowIso } from '../shared/duration.ts';
import { logger } from '../shared/logger.ts';
import { changeKey, table, type ChangeStartedItem } from '../shared/tables.ts';
import { lambdaHandler } from '../runtime/handler.ts';

/** Pushes of one commit to one pipeline's main, at most (a reset loop is not a workflow). */
export const MAX_PUSHES_PER_COMMIT = 50;

/** The id of the n-th push (1-based) of a commit. */
export const changeIdFor = (commit: string, push: number): string => (push === 1 ? commit : `${commit}-${push}`);

/** The change this push event is: its own record, claimed now or by an earlier delivery. */
const claimChange = async (input: StartChangeInput): Promise<{ item: ChangeStartedItem; claimed: boolean }> => {
  const { pipeline, event } = input;
  const { commitId, repositoryName, callerUserArn } = event.detail;
  for (let push = 1; push <= MAX_PUSHES_PER_COMMIT; push++) {
    const change = changeIdFor(commitId, push);
    const item: ChangeStartedItem = {
      ...changeKey(pipeline, change),
      pipeline,
      change,
      commit: commitId,
      repository: repositoryName,
      pushEvent: event.id,
      author: callerUserArn ? principalName(callerUserArn) : 'unknown',
      mergedAt: event.time,
      executionName: change,
      startedAt: nowIso(),
    };
    try {
      await clients()
        .dynamo()
        .send(
          new PutCommand({
            TableName: table.changes(),
            Item: item,
            ConditionExpression: 'attribute_not_exists(pk)',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
      return { item, claimed: true };
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      const existing = await conflictingItem<ChangeStartedItem>(err, table.changes(), changeKey(pipeline, change));
      // This very push, delivered again (or retried after a crash): the same change.
      if (existing?.pushEvent === event.id) return { item: existing, claimed: false };
      // Another push of the same commit holds this id: this push is a new change.
    }
  }
  throw new InvalidInputError(`commit ${commitId} was pushed to main of ${repositoryName} more than ${MAX_PUSHES_PER_COMMIT} times; not starting another change`);
};

const executionInput = (item: ChangeStartedItem): ChangeExecutionInput => ({
  pipeline: item.pipeline,
  change: item.change,
  revision: item.commit,
  author: item.author,
  mergedAt: item.mergedAt,
  repository: item.repository,
  commit: item.commit,
});

/** The input is parsed with StartChangeInput (core/contracts.ts) by the wrapper, before this runs. */
export const startChange = async (input: StartChangeInput): Promise<StartChangeOutput> => {
  const { item, claimed } = await claimChange(input);
  const executionArn = `${input.stateMachineArn.replace(':stateMachine:', ':execution:')}:${item.executionName}`;
  try {
    const started = await clients()
      .sfn()
      .send(
        new StartExecutionCommand({
          stateMachineArn: input.stateMachineArn,
          name: item.executionName,
          input: JSON.stringify(executionInput(item)),
        }),
      );
    return { change: item.change, executionArn: started.executionArn ?? executionArn, started: claimed };
  } catch (err) {
    // The change's execution already ran (or runs): adopt it, never start it twice.
    if (hasName(err, 'ExecutionAlreadyExists')) {
      logger.info('the change is already started; adopted', { change: item.change, executionArn });
      return { change: item.change, executionArn, started: false };
    }
    throw err;
  }
};

export const handler = lambdaHandler('start-change', StartChangeInput, startChange);
