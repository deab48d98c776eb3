/**
 * The one shape of every handler: a plain async function over its parsed input (the
 * business logic, which never sees the wrapper), wrapped once with middy: the Powertools
 * logger (Lambda context in every line), Powertools metrics (one `Invocations` and, on
 * failure, one `Errors` data point per handler, flushed as EMF), and input parsing with the
 * handler's zod contract from core/contracts.ts. Input that does not match the contract
 * fails before any side effect, with every field named (InvalidInputError).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { InvalidInputError } from '../../core/errors.ts';
import { formatPath } from '../../core/problems.ts';
import { logger } from '../shared/logger.ts';
import { handlerMetrics } from './metrics.ts';

export interface HandlerOptions {
  /** Clear the logger's appended keys between invocations (handlers that append per-event keys). @default false */
  readonly resetKeys?: boolean;
}

/** The input, parsed with the contract; every mismatch named in one InvalidInputError. */
export const parseInput = <S extends z.ZodType>(handler: string, schema: S, input: unknown): z.infer<S> => {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.length > 0 ? formatPath(i.path) : '(input)'}: ${i.message}`);
  throw new InvalidInputError(`${handler} input does not match its contract: ${problems.join('; ')}`, { problems });
};

/** Wraps a handler's business function: `export const handler = lambdaHandler('notify', NotifyInput, notify)`. */
export const lambdaHandler = <S extends z.ZodType, O>(
  name: string,
  schema: S,
  fn: (input: z.infer<S>, context: Context) => Promise<O>,
  options: HandlerOptions = {},
) => {
  const metrics = handlerMetrics(name);
  return middy(async (event: unknown, context: Context): Promise<O> => {
    metrics.addMetric('Invocations', MetricUnit.Count, 1);
    try {
      return await fn(parseInput(name, schema, event), context);
    } catch (err) {
      metrics.addMetric('Errors', MetricUnit.Count, 1);
      throw err;
    }
  })
    .use(injectLambdaContext(logger, { resetKeys: options.resetKeys ?? false }))
    .use(logMetrics(metrics));
};
