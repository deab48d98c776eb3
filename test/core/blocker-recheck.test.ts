/**
 * How often a blocker wait takes its gate's decision again while the gate stays closed
 * (core/contracts.ts, blockerRecheckSeconds): the period doubles from an hour up to a day for a
 * wait blocked by an alarm (the reconciler's hourly heartbeat reads that alarm too), and stays
 * hourly for a wait held by an approved emergency, which no heartbeat reads.
 */
import { describe, expect, it } from 'vitest';
import { BLOCKER_RECHECK_MAX_SECONDS, blockerRecheckSeconds } from '../../core/contracts.ts';
import { emergencyHoldKey } from '../../core/operator-items.ts';
import { recheckTimes } from './rechecks.ts';

const HOUR = 3600;
const ALARM = 'handsoff-company-event-sa-east-1';

describe('a blocker wait re-check', () => {
  it('doubles its period from an hour to a day while an alarm blocks', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => blockerRecheckSeconds(n, ALARM) / HOUR)).toEqual([2, 4, 8, 16, 24, 24, 24]);
    expect(BLOCKER_RECHECK_MAX_SECONDS).toBe(24 * HOUR);
    expect(recheckTimes(24, ALARM)).toEqual([1, 3, 7, 15]);
  });

  it('costs a month-long freeze 33 re-checks instead of 720', () => {
    expect(recheckTimes(30 * 24, ALARM)).toHaveLength(33);
    expect(recheckTimes(30 * 24, emergencyHoldKey('storefront-api'))).toHaveLength(720);
  });

  it('stays hourly for a wait held by an emergency, or by a blocker it does not name', () => {
    for (const n of [1, 5, 40]) {
      expect(blockerRecheckSeconds(n, emergencyHoldKey('storefront-api'))).toBe(HOUR);
      expect(blockerRecheckSeconds(n, undefined)).toBe(HOUR);
    }
  });
});
