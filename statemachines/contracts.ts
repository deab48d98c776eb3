/**
 * The builders' side of the payload contracts: every Lambda task's `Payload` is checked,
 * when the definition is built (at synth, and when the simulator builds it), against the zod
 * contract its handler parses its input with (core/contracts.ts). A field the handler does
 * not know, or a required one the state machine does not send, fails the build with both
 * named, instead of failing a change in production.
 */
import type { z } from 'zod';
import { CheckWindowInput, LaneInput, NotifyInput, ResolveArtifactInput, ReviewGateInput, RollbackInput, StartBakeInput, StartDeploymentInput } from '../core/contracts.ts';
import { HandlerName } from './resources.ts';

type TaskHandler = (typeof HandlerName)[keyof typeof HandlerName];

/** The contract of each handler a state machine invokes. */
export const TASK_CONTRACTS: Partial<Record<TaskHandler, z.ZodType>> = {
  [HandlerName.NOTIFY]: NotifyInput,
  [HandlerName.CHECK_WINDOW]: CheckWindowInput,
  [HandlerName.START_DEPLOYMENT]: StartDeploymentInput,
  [HandlerName.START_BAKE]: StartBakeInput,
  [HandlerName.ROLLBACK]: RollbackInput,
  [HandlerName.LANE]: LaneInput,
  [HandlerName.RESOLVE_ARTIFACT]: ResolveArtifactInput,
  [HandlerName.REVIEW_GATE]: ReviewGateInput,
};

type Shape = Record<string, z.ZodType>;

/** The object shape a payload must fit: the union member its literal discriminator picks. */
const shapeFor = (schema: z.ZodType, payload: Record<string, unknown>): Shape | undefined => {
  const s = schema as unknown as { shape?: Shape; options?: z.ZodType[] };
  if (s.shape) return s.shape;
  for (const option of s.options ?? []) {
    const shape = (option as unknown as { shape?: Shape }).shape;
    if (!shape) continue;
    const literals = Object.entries(shape).filter(([k, v]) => k in payload && (v as unknown as { def?: { type?: string } }).def?.type === 'literal');
    if (literals.length > 0 && literals.every(([k, v]) => v.safeParse(payload[k]).success)) return shape;
  }
  return undefined;
};

/** What is wrong with a task payload for `handler`: unknown fields, missing required ones. */
export const payloadProblems = (handler: TaskHandler, payload: unknown): string[] => {
  const schema = TASK_CONTRACTS[handler];
  if (!schema) return [`no payload contract for handler '${handler}'`];
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return ['the payload must be an object'];
  // `field.$` is a JSONPath that Step Functions resolves to `field`.
  const fields = Object.fromEntries(Object.entries(payload).map(([k, v]) => [k.endsWith('.$') ? k.slice(0, -2) : k, v]));
  const shape = shapeFor(schema, fields);
  if (!shape) return [`the payload matches none of the forms of the ${handler} contract`];
  const problems: string[] = [];
  for (const key of Object.keys(fields)) {
    if (!(key in shape)) problems.push(`'${key}' is not a field of the ${handler} contract (known: ${Object.keys(shape).join(', ')})`);
  }
  for (const [key, field] of Object.entries(shape)) {
    if (!(key in fields) && !field.safeParse(undefined).success) problems.push(`required field '${key}' of the ${handler} contract is not sent`);
  }
  return problems;
};

/** Throws when a task payload does not fit its handler's contract. */
export const assertPayload = (handler: TaskHandler, payload: unknown): void => {
  const problems = payloadProblems(handler, payload);
  if (problems.length > 0) throw new Error(`state machine payload for ${handler}: ${problems.join('; ')}`);
};
