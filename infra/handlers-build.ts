/**
 * Imported by app.ts once the source context is read, before the rest of the app: starts the one
 * esbuild build of the handlers and the console, so that esbuild (a process of its own) works
 * while Node loads the CDK app. app.ts awaits it before it builds the stacks, and the control
 * plane's functions find the build done.
 */
import { PROJECT_ROOT, bundleEntries, prebundleHandlers } from './constructs/control-plane/bundle.ts';

export const handlersBuilt: Promise<void> = prebundleHandlers(PROJECT_ROOT, bundleEntries());
// A failed build is reported where app.ts awaits it, not as an unhandled rejection before that.
handlersBuilt.catch(() => undefined);
