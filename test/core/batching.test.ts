/**
 * The order release batching keeps (core/batching.ts): by merge time, then by id, the same at
 * every stage, so two changes merged in one second never swap places between stages.
 */
import { describe, expect, it } from 'vitest';
import { batchOrder, mergedBefore, supersededByFloor } from '../../core/batching.ts';

const at = (change: string, mergedAt: string | undefined, enqueuedAt = '2026-12-01T10:00:00.000Z') => ({ change, mergedAt, enqueuedAt, batching: true });

describe('mergedBefore', () => {
  it('orders by merge time, then by id within one second', () => {
    expect(mergedBefore(at('c9', '2026-12-01T09:00:00.000Z'), at('c1', '2026-12-01T09:00:01.000Z'))).toBe(true);
    expect(mergedBefore(at('c5', '2026-12-01T10:00:00.000Z'), at('c6', '2026-12-01T10:00:00.000Z'))).toBe(true);
    expect(mergedBefore(at('c6', '2026-12-01T10:00:00.000Z'), at('c5', '2026-12-01T10:00:00.000Z'))).toBe(false);
  });

  it('is false for the same change and on doubt (an unknown merge time): nothing is superseded then', () => {
    expect(mergedBefore(at('c5', '2026-12-01T10:00:00.000Z'), at('c5', '2026-12-01T10:00:00.000Z'))).toBe(false);
    expect(mergedBefore(at('c5', undefined), at('c6', '2026-12-01T10:00:00.000Z'))).toBe(false);
    expect(mergedBefore(at('c5', '2026-12-01T10:00:00.000Z'), at('c6', undefined))).toBe(false);
  });
});

describe('batchOrder and the floor', () => {
  it('give the same order whichever change enqueued first (the order at every stage)', () => {
    const same = '2026-12-01T10:00:00.000Z';
    const a = batchOrder([at('c6', same, '2026-12-01T11:00:00.000Z'), at('c5', same, '2026-12-01T11:00:05.000Z')]).map((w) => w.change);
    const b = batchOrder([at('c5', same, '2026-12-01T12:00:00.000Z'), at('c6', same, '2026-12-01T12:00:05.000Z')]).map((w) => w.change);
    expect(a).toEqual(['c5', 'c6']);
    expect(b).toEqual(['c5', 'c6']);
  });

  it("supersede a waiter merged in the floor's second with a smaller id, and never the floor's own entry", () => {
    const same = '2026-12-01T10:00:00.000Z';
    const waits = [at('c5', same), at('c6', same), at('c7', '2026-12-01T10:00:01.000Z')];
    expect(supersededByFloor(waits, { change: 'c6', mergedAt: same }).map((w) => w.change)).toEqual(['c5']);
  });
});
