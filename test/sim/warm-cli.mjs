// One warm `handsoff` process for the test suite (test/sim/shared-runs.ts): the CLI's own
// `main` from its build, the entry bin/handsoff.mjs calls, run once per request it is sent
// over IPC, one at a time. Each run's stdout and stderr are what a process of its own would
// have printed; the reply carries them with main's exit code. A process that has run
// simulations before gives the same output as a fresh one (test/sim/rollout.test.ts,
// "the same scenario"), and keeps its JIT-compiled code between runs.
import { ensureBuilt } from '../../bin/build.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import(await ensureBuilt('handsoff'));

const write = { stdout: process.stdout.write, stderr: process.stderr.write };
/** Runs main with the process's stdout and stderr written into strings instead of the pipes. */
const run = async (args) => {
  const out = { stdout: '', stderr: '' };
  for (const name of ['stdout', 'stderr']) {
    process[name].write = (chunk, encoding, cb) => {
      out[name] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      (typeof encoding === 'function' ? encoding : cb)?.();
      return true;
    };
  }
  let code;
  try {
    code = await main(args);
  } catch (e) {
    // What a process of its own would do with the rejection: print it and exit 1.
    out.stderr += `${e?.stack ?? e}\n`;
    code = 1;
  } finally {
    process.stdout.write = write.stdout;
    process.stderr.write = write.stderr;
  }
  return { code, ...out };
};

let queue = Promise.resolve();
process.on('message', ({ args }) => {
  queue = queue.then(async () => process.send(await run(args)));
});
process.send({ ready: true });
