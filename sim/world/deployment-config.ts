/** How many hosts a CodeDeploy deployment configuration takes out of service at a time. */
import type { ResolvedPipeline } from '../../core/model.ts';
import { DeploymentConfig } from '../../core/naming.ts';

/** Hosts per batch of a deployment configuration; undefined for a configuration CodeDeploy would not know. */
export const batchSize = (config: string, hosts: number, pipeline: ResolvedPipeline): number | undefined => {
  switch (config) {
    case DeploymentConfig.ONE_AT_A_TIME:
      return 1;
    case 'CodeDeployDefault.HalfAtATime':
      return Math.max(1, Math.floor(hosts / 2));
    case 'CodeDeployDefault.AllAtOnce':
      return Math.max(1, hosts);
    case DeploymentConfig.ROLLING: {
      // Keep at least minHealthy% in service (rounded up, as CodeDeploy does), and never more than maxBatch% out.
      const mustStay = Math.ceil((hosts * pipeline.rolling.minHealthyPercent) / 100 - 1e-9);
      const maxBatch = Math.round((hosts * pipeline.rolling.maxBatchPercent) / 100);
      return Math.max(1, Math.min(hosts - mustStay, maxBatch));
    }
    case DeploymentConfig.FAST_ROLLBACK:
      return Math.max(1, Math.ceil((hosts * 33) / 100 - 1e-9));
    default:
      return undefined;
  }
};
