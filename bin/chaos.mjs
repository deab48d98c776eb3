#!/usr/bin/env node
// `npm run chaos -- --runs N [--seed S]`: random fault mixes against the invariants (see sim/chaos.ts).
import { parseArgs } from 'node:util';
import { ensureBuilt } from './build.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const usage = 'usage: npm run chaos -- --runs N [--seed S]';
let values;
try {
  ({ values } = parseArgs({ options: { runs: { type: 'string', default: '10' }, seed: { type: 'string', default: '1' } } }));
} catch (e) {
  process.stderr.write(`chaos: ${e.message}\n${usage}\n`);
  process.exit(2);
}
const runs = Number(values.runs);
const seed = Number(values.seed);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(seed)) {
  process.stderr.write(`chaos: --runs must be a positive integer and --seed an integer\n${usage}\n`);
  process.exit(2);
}
const { runChaos } = await import(await ensureBuilt('chaos'));
const { failed } = await runChaos({ runs, seed, write: (line) => process.stdout.write(`${line}\n`) });
process.exit(failed > 0 ? 1 : 0);
