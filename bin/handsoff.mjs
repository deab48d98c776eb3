#!/usr/bin/env node
// The handsoff CLI, run from its build (dist/, see bin/build.mjs): made by `npm ci`, and made
// again first whenever a source is newer, so an edited source is what runs.
import { ensureBuilt } from './build.mjs';

// The SDK warns on Node 20 about its 2027 releases; the simulator pins its SDK, so say it once in the README instead.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// `handsoff simulate --json | head`: a reader that stops early is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
let entry;
try {
  entry = await ensureBuilt('handsoff');
} catch (e) {
  process.stderr.write(`handsoff: the build failed: ${e.message}\n`);
  process.exit(1);
}
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
