/** The example pipelines shipped with handsoff (pipelines as code). */
import type { Pipeline } from '../pipeline/definition.ts';
import checkoutService from './checkout-service.ts';
import storefrontApi from './storefront-api.ts';

export { CheckoutServicePipeline } from './checkout-service.ts';
export { StorefrontApiPipeline } from './storefront-api.ts';
export { STOREFRONT_TEAM_DEFAULTS, StorefrontTeamPipeline } from './team-base.ts';

export const examplePipelines: readonly Pipeline[] = [storefrontApi, checkoutService];

/** The pipeline `simulate` and `plan` use when no `--pipeline` is given. */
export const defaultPipeline: Pipeline = storefrontApi;
export default defaultPipeline;
