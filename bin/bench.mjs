#!/usr/bin/env node
// `npm run bench [-- --json] [-- --only demo,scaling,monitors] [-- --no-cli]` (cli/bench.ts), run from the build (bin/build.mjs).
import { ensureBuilt } from './build.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import(await ensureBuilt('bench'));
process.exitCode = await main(process.argv.slice(2));
