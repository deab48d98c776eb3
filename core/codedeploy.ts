/**
 * CodeDeploy's deployment statuses and the state names its "Deployment State-change
 * Notification" events use, and what each means to handsoff: one map read by the handlers
 * (lambdas/shared) and by the simulated CodeDeploy (sim/world). Pure data, no AWS imports.
 */

/** Statuses of a CodeDeploy deployment (GetDeployment `status`), the ones handsoff meets. */
export type CodeDeployStatus = 'Created' | 'Queued' | 'InProgress' | 'Baking' | 'Ready' | 'Succeeded' | 'Failed' | 'Stopped';

/** Statuses of a deployment that still occupies its group (CodeDeploy runs one per group). */
export const RUNNING_STATUSES: readonly CodeDeployStatus[] = ['Created', 'Queued', 'InProgress', 'Baking', 'Ready'];

/** Statuses that end a deployment. */
export const FINAL_STATUSES: readonly CodeDeployStatus[] = ['Succeeded', 'Failed', 'Stopped'];

/** The `state` a state-change event carries for each status it is sent for. */
export const EVENT_STATE_OF_STATUS: Partial<Record<CodeDeployStatus, string>> = {
  InProgress: 'START',
  Succeeded: 'SUCCESS',
  Failed: 'FAILURE',
  Stopped: 'STOP',
};

/** Event states that end a deployment, and the status each stands for. */
export const FINAL_EVENT_STATES: Readonly<Record<string, CodeDeployStatus>> = {
  SUCCESS: 'Succeeded',
  FAILURE: 'Failed',
  STOP: 'Stopped',
};

/** The final event state of a status; undefined while the deployment runs (or for an unknown status). */
export const finalStateOf = (status: string | undefined): string | undefined =>
  status && (FINAL_STATUSES as readonly string[]).includes(status) ? EVENT_STATE_OF_STATUS[status as CodeDeployStatus] : undefined;

export const isRunningStatus = (status: string | undefined): boolean => (RUNNING_STATUSES as readonly string[]).includes(status ?? '');
