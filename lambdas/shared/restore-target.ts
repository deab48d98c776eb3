/**
 * What a rollback restores in a deployment group (lambdas/rollback): the revision the change
 * replaced there, never a failed change's.
 */
import { EventType } from '../../core/events.ts';
import { changeIdFor, MAX_PUSHES_PER_COMMIT } from '../../core/naming.ts';
import { FINAL_STATUS_OF_EVENT } from '../../core/operators.ts';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { conditionalWrite, getItem } from './dynamo.ts';
import { nowIso } from './duration.ts';
import { changeKey, deploymentKey, table, type ArtifactLocation, type ChangeStartedItem, type DeploymentItem } from './tables.ts';

/**
 * What a rollback restores in a group: the revision the change replaced there, passed over
 * while that revision's changes all failed (a later change deployed over a change that failed
 * afterwards, elsewhere: restoring it would put a failed change back on the boxes). Passing
 * over one is restoring what that failed change replaced in the same group, read from its own
 * deployment record. `location` is undefined when nothing exact can be restored: the chain
 * reaches the group's first deployment, a failed revision whose record in the group is gone,
 * or a previous revision not pinned by an S3 version.
 */
export interface RestoreTarget {
  revision?: string;
  location?: ArtifactLocation;
  /** The failed changes' revisions passed over, newest first. */
  passedOver: string[];
}

/** At most this many failed revisions are passed over in one group (beyond it: nothing restored). */
const MAX_PASSED_OVER = 10;

/** The changes of `pipeline` that carry `revision` (its pushes, in order; the first id missing ends them). */
const changesOf = async (pipeline: string, revision: string): Promise<ChangeStartedItem[]> => {
  const found: ChangeStartedItem[] = [];
  for (let push = 1; push <= MAX_PUSHES_PER_COMMIT; push++) {
    const item = await getItem<ChangeStartedItem>(table.changes(), changeKey(pipeline, changeIdFor(revision, push)));
    if (!item) break;
    if (item.commit === revision) found.push(item);
  }
  return found;
};

/**
 * A change that failed, or is failing: its first rollback marked it (rollingBackAt), and its
 * status is set only after its earlier stages are rolled back, minutes later. A revision only
 * such changes carry is never restored.
 */
const failedOrFailing = (c: ChangeStartedItem): boolean =>
  c.status === FINAL_STATUS_OF_EVENT[EventType.CHANGE_FAILED] || c.rollingBackAt !== undefined;

/**
 * Marks the change failing (rollingBackAt, set once) before its rollback restores anything.
 * Nothing for a change without a record (started before handsoff kept one).
 */
export const markFailing = async (pipeline: string, change: string): Promise<void> => {
  await conditionalWrite(
    new UpdateCommand({
      TableName: table.changes(),
      Key: changeKey(pipeline, change),
      UpdateExpression: 'SET #at = if_not_exists(#at, :now)',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#at': 'rollingBackAt' },
      ExpressionAttributeValues: { ':now': nowIso() },
    }),
  );
};

export const restoreTargetOf = async (item: DeploymentItem): Promise<RestoreTarget> => {
  const passedOver: string[] = [];
  let revision = item.previousRevision;
  let location = item.previousLocation;
  while (revision !== undefined) {
    const carriers = await changesOf(item.pipeline, revision);
    // A revision no change of the pipeline carries (deployed before handsoff), or one that a
    // change still carries without failing (in flight, succeeded): restored.
    if (carriers.length === 0 || carriers.some((c) => !failedOrFailing(c))) break;
    passedOver.push(revision);
    let replaced: DeploymentItem | undefined;
    for (const c of carriers) {
      replaced = await getItem<DeploymentItem>(table.deployments(), deploymentKey(item.pipeline, c.change, item.stage, item.region, item.deploymentGroup));
      if (replaced) break;
    }
    if (!replaced || passedOver.length > MAX_PASSED_OVER) return { passedOver };
    revision = replaced.previousRevision;
    location = replaced.previousLocation;
  }
  return { revision, location: location?.version ? location : undefined, passedOver };
};
