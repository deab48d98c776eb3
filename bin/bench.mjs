#!/usr/bin/env node
// `npm run bench`: prints the monitors' figures (see sim/bench.ts).
import { register } from 'tsx/esm/api';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { bench } = await import('../sim/bench.ts');
await bench();
