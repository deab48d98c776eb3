/** The alarm plan (see plan.ts). */
export * from './types.ts';
export * from './service.ts';
export * from './plan.ts';
export * from './watches.ts';
export * from './entry.ts';
