/**
 * One service, two kinds of change: the storefront API's code (`storefront-api`) and its
 * configuration (`storefront-api-config`), each through its own pipeline, CodeDeploy
 * application, deployment groups, alarms and lanes, with the team's safety for both.
 *
 *   node bin/handsoff.mjs simulate --pipeline examples/kinds-pipelines.ts --scenario examples/kinds-scenario.json
 */
import { Bake } from '../infra/pipeline/definition.ts';
import { StorefrontTeamPipeline } from '../infra/pipelines/team-base.ts';

export default StorefrontTeamPipeline.forKinds(
  { name: 'storefront-api', service: 'StorefrontApi', regions: ['sa-east-1', 'us-east-1', 'eu-west-1'] },
  {
    app: {},
    // A configuration change is small and quick to revert: a shorter first-wave bake, same steps.
    config: { bake: { firstWave: Bake.hours(4) } },
  },
);
