/** The storefront's public API: the team's policy as is, in every region of the catalog. */
import type { ServicePipelineProps } from '../pipeline/definition.ts';
import { StorefrontTeamPipeline } from './team-base.ts';

export class StorefrontApiPipeline extends StorefrontTeamPipeline {
  constructor(overrides: Partial<ServicePipelineProps> = {}) {
    super({ name: 'storefront-api', service: 'StorefrontApi', ...overrides });
  }
}

export default new StorefrontApiPipeline();
