/** `storefront-api` -> `StorefrontApi`: construct ids derived from names (a public contract; core/naming.ts). */
export { constructIdOf as pascal } from '../../../core/naming.ts';
