/**
 * DefinitionSubstitutions placeholders used in the generated ASL. The CDK stack fills them
 * with real ARNs; the simulator substitutes local ARNs of the same shape and routes each
 * resource to the same handler code.
 */
export const HandlerName = {
  NOTIFY: 'notify',
  CHECK_WINDOW: 'check-window',
  START_DEPLOYMENT: 'start-deployment',
  START_BAKE: 'start-bake',
  BAKE_END: 'bake-end',
  ROLLBACK: 'rollback',
  LANE: 'lane',
  ON_DEPLOYMENT_EVENT: 'on-deployment-event',
  ON_ALARM_EVENT: 'on-alarm-event',
  /** The sweep that re-checks every open waiter (lost events), on a schedule. */
  RECONCILE: 'reconcile',
  /** The source stage: did the commit reach main through an approved review? */
  REVIEW_GATE: 'review-gate',
  /** Target of the push rule: one push event, one change, one named pipeline execution. */
  START_CHANGE: 'start-change',
  /** The build stage: pins the change's artifact (S3 version and SHA-256). */
  RESOLVE_ARTIFACT: 'resolve-artifact',
  /** What people do: overrides, emergency requests and decisions (the console and the scenario's operator events). */
  OPERATOR: 'operator',
} as const;
export type HandlerName = (typeof HandlerName)[keyof typeof HandlerName];

/** Handlers invoked from state machines (the others are invoked by EventBridge / Scheduler). */
export const TaskHandlers = [
  HandlerName.NOTIFY,
  HandlerName.CHECK_WINDOW,
  HandlerName.START_DEPLOYMENT,
  HandlerName.START_BAKE,
  HandlerName.ROLLBACK,
  HandlerName.LANE,
  HandlerName.REVIEW_GATE,
  HandlerName.RESOLVE_ARTIFACT,
] as const;

/** `notify` -> `NotifyFunctionArn`, `check-window` -> `CheckWindowFunctionArn`. */
export const functionArnKey = (handler: HandlerName): string =>
  `${handler
    .split('-')
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('')}FunctionArn`;

/** Placeholder of the region child state machine's ARN, in the pipeline state machine. */
export const REGION_STATE_MACHINE_ARN_KEY = 'RegionStateMachineArn';
/**
 * Placeholder of the region machine's execution ARN prefix (`arn:aws:states:<r>:<a>:execution:<name>`),
 * in the pipeline state machine: a region execution that already ended is described by name.
 */
export const REGION_EXECUTIONS_ARN_PREFIX_KEY = 'RegionExecutionArnPrefix';

export const placeholder = (key: string): string => `\${${key}}`;

/** Placeholder of the artifact bucket's name (the control plane's), handed to the build. */
export const ARTIFACT_BUCKET_NAME_KEY = 'ArtifactBucketName';
