/**
 * Bake policy, pure: what a bake of a given length requires before it may pass. Read by the
 * state machine builders (task timeouts) and the start-bake handler (the waiter it stores),
 * so the two never disagree.
 */

/**
 * How long a bake may extend past its length while it lacks its minimum requests, before
 * the change fails with `insufficient-data`: the pipeline's `bake.maxExtension`, else twice
 * the bake (a bake that saw too little in its own time gets twice as long again).
 */
export const maxExtensionSeconds = (bakeSeconds: number, configured?: number): number => configured ?? 2 * bakeSeconds;

/**
 * Requests a bake must see in its scope before it may pass. A bake of zero is no bake: the
 * pipeline chose not to wait at that step, so there is no time in which to count requests
 * (and nothing to extend). It still checks its alarms once: a missing alarm or one in ALARM
 * fails it, as it fails any bake.
 */
export const requiredRequests = (bakeSeconds: number, minRequests: number): number => (bakeSeconds === 0 ? 0 : minRequests);

/** Extension step while traffic is too thin: a quarter of the bake, at least 15 minutes. */
export const extensionSeconds = (durationSeconds: number): number => Math.max(15 * 60, Math.ceil(durationSeconds / 4));
