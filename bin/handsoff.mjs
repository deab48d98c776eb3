#!/usr/bin/env node
// The handsoff CLI. TypeScript sources run through tsx, so no build step is needed.
import { register } from 'tsx/esm/api';

// The SDK warns on Node 20 about its 2027 releases; the simulator pins its SDK, so say it once in the README instead.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
// `handsoff simulate --json | head`: a reader that stops early is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
