import { describe, expect, it } from 'vitest';
import { EVENT_STATE_OF_STATUS, FINAL_EVENT_STATES, FINAL_STATUSES, finalStateOf, isRunningStatus, RUNNING_STATUSES } from '../../core/codedeploy.ts';

describe('CodeDeploy statuses (one map for the handlers and the simulated CodeDeploy)', () => {
  it('ends a deployment only on Succeeded, Failed or Stopped, each with the state its event carries', () => {
    expect(FINAL_STATUSES.map(finalStateOf)).toEqual(['SUCCESS', 'FAILURE', 'STOP']);
    for (const status of RUNNING_STATUSES) expect(finalStateOf(status), status).toBeUndefined();
    expect(finalStateOf(undefined)).toBeUndefined();
    expect(finalStateOf('SomethingNew')).toBeUndefined();
  });

  it('reads the same both ways: event state to status and back', () => {
    for (const [state, status] of Object.entries(FINAL_EVENT_STATES)) expect(EVENT_STATE_OF_STATUS[status]).toBe(state);
    expect(RUNNING_STATUSES.filter((s) => FINAL_STATUSES.includes(s))).toEqual([]);
    expect(isRunningStatus('InProgress')).toBe(true);
    expect(isRunningStatus('Stopped')).toBe(false);
  });
});
