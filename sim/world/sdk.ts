/**
 * What the simulated APIs (codedeploy-api.ts, cloudwatch-api.ts) share: the SDK v3 response
 * and exception metadata, timestamp inputs, and a `send()` that dispatches on the command's
 * class name.
 */

/** `$metadata` of a successful response. */
const $metadata = { httpStatusCode: 200, attempts: 1, totalRetryDelay: 0 };
/** Spread into the options of an SDK exception the simulated API throws. */
export const meta = { $metadata: { httpStatusCode: 400 } };

export type Input = Record<string, unknown>;
export type Handler = (input: Input) => unknown;

/** A timestamp input (Date, epoch seconds or a parseable string) in epoch ms; undefined when absent or invalid. */
export const toMs = (value: unknown): number | undefined => {
  if (value === undefined || value === null) return undefined;
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value * 1000 : Date.parse(String(value));
  return Number.isNaN(ms) ? undefined : ms;
};

/**
 * A drop-in for an SDK v3 client's `send`: calls the handler named like the command's class
 * and answers with its result plus `$metadata`; what a handler throws becomes the rejection.
 */
export const dispatcher = (service: string, handlers: Record<string, Handler>): { send(command: unknown): Promise<unknown> } => ({
  send(command: unknown): Promise<unknown> {
    const name = (command as { constructor?: { name?: string } } | null)?.constructor?.name ?? String(command);
    const handler = handlers[name];
    if (!handler) {
      return Promise.reject(
        new Error(`the simulated ${service} does not implement ${name}; it implements ${Object.keys(handlers).join(', ')}`),
      );
    }
    try {
      const input = ((command as { input?: Input }).input ?? {}) as Input;
      return Promise.resolve({ $metadata, ...(handler(input) as object) });
    } catch (error) {
      return Promise.reject(error);
    }
  },
});
