/** Waiter records as the handlers write them, for the tests of the reconciler and of delivery. */
import { NOW } from './support.ts';

export const scope = { pipeline: 'storefront-api', change: 'c1', stage: 'wave-1', region: 'sa-east-1' };
export const agg = 'handsoff-storefront-sa-east-1-aggregate';

/** An open deployment waiter of the one-box of sa-east-1, watching the team aggregate. */
export const deploymentWaiter = (id: string, extra: Record<string, unknown> = {}) => ({
  pk: `deployment#${id}`,
  kind: 'deployment',
  status: 'OPEN',
  openShard: 'OPEN',
  token: `token-${id}`,
  ...scope,
  target: 'onebox',
  alarms: [{ region: 'sa-east-1', name: agg }],
  deploymentId: id,
  revision: 'r1',
  deploymentGroup: 'storefront-api-onebox',
  deploymentsPk: 'storefront-api#c1',
  deploymentsSk: 'wave-1#sa-east-1#storefront-api-onebox',
  ...extra,
});

/** An open one-hour bake of unit sae1-az1 that ends `endsAgoMs` before NOW. */
export const bakeWaiter = (bakeId: string, extra: Record<string, unknown> = {}, endsAgoMs = 0) => ({
  pk: `bake#${bakeId}`,
  kind: 'bake',
  status: 'OPEN',
  openShard: 'OPEN',
  token: `token-${bakeId}`,
  ...scope,
  unit: 'sae1-az1',
  target: 'fleet',
  alarms: [{ region: 'sa-east-1', name: agg }],
  bakeId,
  startedAt: NOW.getTime() - 3_600_000 - endsAgoMs,
  endsAt: NOW.getTime() - endsAgoMs,
  durationSeconds: 3600,
  minRequests: 100,
  metricScopes: [{ region: 'sa-east-1', scope: 'sae1-az1' }],
  service: 'StorefrontApi',
  extensions: 0,
  extendedSeconds: 0,
  maxExtensionSeconds: 7200,
  ...extra,
});
