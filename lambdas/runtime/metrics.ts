/**
 * The Powertools metrics every handler shares (one per container), in the `Handsoff`
 * namespace. POWERTOOLS_METRICS_DISABLED turns them off (the simulator and the tests do:
 * EMF lines would otherwise mix with their output).
 */
import { Metrics } from '@aws-lambda-powertools/metrics';

export const metrics = new Metrics({ namespace: 'Handsoff', serviceName: 'handsoff' });
