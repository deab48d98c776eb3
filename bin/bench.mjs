#!/usr/bin/env node
// `npm run bench [-- --json] [-- --only demo,scaling,monitors] [-- --no-cli]`: the simulator's
// figures (sim/bench/index.ts): the demo with its AWS cost per change, scaling, the monitors.
import { register } from 'tsx/esm/api';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();

const args = process.argv.slice(2);
const usage = 'usage: npm run bench -- [--json] [--only demo,scaling,monitors] [--no-cli]';
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? (args[onlyAt + 1] ?? '').split(',').filter(Boolean) : undefined;
const known = new Set(['--json', '--only', '--no-cli', ...(onlyAt >= 0 ? [args[onlyAt + 1]] : [])]);
const { bench, PARTS } = await import('../sim/bench/index.ts');
if (args.some((a) => !known.has(a)) || (only && (only.length === 0 || only.some((p) => !PARTS.includes(p))))) {
  process.stderr.write(`${usage}\n`);
  process.exit(2);
}

// The demo is what `handsoff simulate` runs without arguments.
const { validatePipeline } = await import('../core/pipeline/resolve.ts');
const { REGION_CATALOG } = await import('../infra/catalog/regions.ts');
const { defaultPipeline } = await import('../infra/pipelines/index.ts');
const { defaultScenario } = await import('../sim/scenario.ts');
const { toSimScenario } = await import('../sim/scenario-adapter.ts');
const v = validatePipeline(defaultPipeline, 'infra/pipelines/storefront-api.ts', { catalog: REGION_CATALOG });
if (!v.ok) throw new Error('the demo pipeline is invalid');
const scenario = toSimScenario(defaultScenario(v.pipeline), [v.pipeline]);

await bench({ demo: { pipelines: [v.pipeline], scenario }, json: args.includes('--json'), only, noCli: args.includes('--no-cli') });
