/**
 * `npm run bench [-- --json] [-- --only demo,scaling,monitors] [-- --no-cli]`: the simulator's
 * figures (sim/bench/index.ts): the demo with its AWS cost per change, scaling, the monitors.
 * The demo is what `handsoff simulate` runs without arguments.
 */
import { validatePipeline } from '../core/pipeline/resolve.ts';
import { REGION_CATALOG } from '../infra/catalog/regions.ts';
import { defaultPipeline } from '../infra/pipelines/index.ts';
import { bench, PARTS, type Part } from '../sim/bench/index.ts';
import { toSimScenario } from '../sim/scenario-adapter.ts';
import { defaultScenario } from '../sim/scenario.ts';

const USAGE = 'usage: npm run bench -- [--json] [--only demo,scaling,monitors] [--no-cli]';

/** @returns the exit status: 0, or 2 for unknown arguments. */
export const main = async (args: string[]): Promise<number> => {
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? (args[onlyAt + 1] ?? '').split(',').filter(Boolean) : undefined;
  const known = new Set(['--json', '--only', '--no-cli', ...(onlyAt >= 0 ? [args[onlyAt + 1]] : [])]);
  if (args.some((a) => !known.has(a)) || (only && (only.length === 0 || only.some((p) => !(PARTS as readonly string[]).includes(p))))) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const v = validatePipeline(defaultPipeline, 'infra/pipelines/storefront-api.ts', { catalog: REGION_CATALOG });
  if (!v.ok) throw new Error('the demo pipeline is invalid');
  const scenario = toSimScenario(defaultScenario(v.pipeline), [v.pipeline]);
  await bench({ demo: { pipelines: [v.pipeline], scenario }, json: args.includes('--json'), only: only as Part[] | undefined, noCli: args.includes('--no-cli') });
  return 0;
};
