/**
 * Powertools metrics of a handler (one instance per handler and container), in the
 * `Handsoff` namespace with the handler's name as the `Handler` dimension.
 * POWERTOOLS_METRICS_DISABLED turns them off (the simulator and the tests do: EMF lines
 * would otherwise mix with their output).
 */
import { Metrics } from '@aws-lambda-powertools/metrics';

export const handlerMetrics = (handler: string): Metrics =>
  new Metrics({ namespace: 'Handsoff', serviceName: 'handsoff', defaultDimensions: { Handler: handler } });
