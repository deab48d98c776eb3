#!/usr/bin/env node
// `npm run bench`: prints the monitors' figures (see sim/bench.ts), run from the build (bin/build.mjs).
import { ensureBuilt } from './build.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { bench } = await import(await ensureBuilt('bench'));
await bench();
