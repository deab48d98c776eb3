/**
 * Checkout: cell-based (each region's fleet is split into cells, so a bad deployment meets a
 * fraction of a region's customers), and a longer bake after the highest-traffic wave,
 * because a checkout regression costs orders, not page views.
 */
import { Bake, type ServicePipelineProps } from '../pipeline/definition.ts';
import { StorefrontTeamPipeline } from './team-base.ts';

export class CheckoutServicePipeline extends StorefrontTeamPipeline {
  constructor(overrides: Partial<ServicePipelineProps> = {}) {
    super({
      name: 'checkout-service',
      service: 'CheckoutService',
      unit: 'cell',
      cellsPerRegion: 3,
      bake: { waves: { 2: Bake.hours(4) } },
      ...overrides,
    });
  }
}

export default new CheckoutServicePipeline();
