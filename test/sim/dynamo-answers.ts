/**
 * What a local DynamoDB answers to a session of commands, in order: each answer without its
 * `$metadata` (request ids differ run to run), or the error's name and message. Two ways of
 * answering the same session compare equal exactly when they answer alike.
 */
import type { LocalDynamo } from '../../sim/local-dynamo.ts';

export const answersOf = async (dynamo: LocalDynamo, commands: ReadonlyArray<{ input: object }>): Promise<unknown[]> => {
  const out: unknown[] = [];
  for (const command of commands) {
    try {
      const { $metadata: _, ...answer } = (await dynamo.client.send(command as never)) as Record<string, unknown>;
      out.push(answer);
    } catch (e) {
      out.push({ error: (e as Error).name, message: (e as Error).message });
    }
  }
  return out;
};
