/** How many hosts a CodeDeploy deployment configuration takes out of service at a time: core/rollout.ts. */
import type { ResolvedPipeline } from '../../core/model.ts';
import { hostsPerBatch, knownConfig } from '../../core/rollout.ts';

/** Hosts per batch of a deployment configuration; undefined for a configuration CodeDeploy would not know. */
export const batchSize = (config: string, hosts: number, pipeline: ResolvedPipeline): number | undefined => {
  const spec = knownConfig(config, pipeline.rolling);
  return spec ? hostsPerBatch(spec, hosts) : undefined;
};
