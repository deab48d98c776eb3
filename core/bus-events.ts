/**
 * The AWS events handsoff's handlers consume, as zod schemas: CodeDeploy deployment state
 * changes, CloudWatch alarm state changes (both forwarded from every target region to the
 * home bus) and CodeCommit pushes to main, with the EventBridge envelope around them.
 */
import { z } from 'zod';
import { MAX_CHANGE_ID_LENGTH } from './naming.ts';

const nonEmpty = z.string().min(1);
const isoTime = z.string().refine((v) => !Number.isNaN(Date.parse(v)), { message: 'expected an ISO 8601 time' });

/** CodeDeploy "Deployment State-change Notification" detail, as forwarded to the home bus. */
export const CodeDeployStateChangeDetail = z.looseObject({
  region: nonEmpty,
  application: nonEmpty,
  deploymentGroup: nonEmpty,
  deploymentId: nonEmpty,
  /** START, SUCCESS, FAILURE, STOP, READY, ... */
  state: nonEmpty,
});
export type CodeDeployStateChangeDetail = z.infer<typeof CodeDeployStateChangeDetail>;

/** CloudWatch "Alarm State Change" detail (subset). */
export const AlarmStateChangeDetail = z.looseObject({
  alarmName: nonEmpty,
  state: z.looseObject({ value: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']), reason: z.string().optional(), timestamp: z.string().optional() }),
  previousState: z.looseObject({ value: z.string() }).optional(),
});
export type AlarmStateChangeDetail = z.infer<typeof AlarmStateChangeDetail>;

/** An EventBridge event envelope as handlers receive it. */
export interface BusEvent<T> {
  id?: string;
  source: string;
  'detail-type': string;
  region: string;
  time: string;
  resources?: string[];
  detail: T;
}
/** The envelope schema of an EventBridge event whose detail is `detail`. */
export const busEvent = <T extends z.ZodType>(detail: T) =>
  z.looseObject({
    id: z.string().optional(),
    source: nonEmpty,
    'detail-type': nonEmpty,
    region: nonEmpty,
    time: z.string(),
    resources: z.array(z.string()).optional(),
    detail,
  });

/**
 * A pushed commit id names the change and its executions (`<commit>`, `<commit>-2`, ... and
 * each region's child `<change>-<region>`): letters, digits, `-` and `_`, short enough to
 * leave room for a push counter.
 */
const commitId = z
  .string()
  .regex(new RegExp(`^[A-Za-z0-9_-]{1,${MAX_CHANGE_ID_LENGTH - 4}}$`), {
    message: `is not a commit id that can name an execution (letters, digits, '-', '_'; at most ${MAX_CHANGE_ID_LENGTH - 4})`,
  });

/** A CodeCommit "Repository State Change" event's detail, as EventBridge delivers it. */
export const CodeCommitPushDetail = z.looseObject({
  event: nonEmpty,
  referenceType: nonEmpty,
  referenceName: nonEmpty,
  repositoryName: nonEmpty,
  commitId,
  oldCommitId: z.string().optional(),
  callerUserArn: z.string().optional(),
});
export type CodeCommitPushDetail = z.infer<typeof CodeCommitPushDetail>;

/**
 * Handler `start-change`: the target of a pipeline's push rule (the rule's input
 * transformer builds exactly this). It turns one push event into one change and starts its
 * pipeline execution by name.
 */
export const StartChangeInput = z.object({
  pipeline: nonEmpty,
  /** The pipeline state machine to start. */
  stateMachineArn: nonEmpty,
  /** The push event, whole (its `id` tells a duplicated delivery from a new push). */
  event: busEvent(CodeCommitPushDetail).extend({ id: nonEmpty, time: isoTime }),
});
export type StartChangeInput = z.infer<typeof StartChangeInput>;
export interface StartChangeOutput {
  change: string;
  executionArn: string;
  /**
   * True when this delivery claimed the change (its first delivery); false for a duplicate,
   * which found the change's record and at most re-sent the same start (nothing new ran).
   */
  started: boolean;
}
