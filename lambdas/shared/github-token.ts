/**
 * The GitHub token of the review gate: a Secrets Manager secret (its ARN in the function's
 * environment), read at run time and kept in memory briefly, so that a rotated token is
 * picked up within minutes (and at once after GitHub refuses the old one: `forgetToken`).
 * The token is never logged, and never part of an error message.
 */
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { clients } from './clients.ts';
import { ConfigurationError } from './config.ts';

/** How long a token read from Secrets Manager is reused. */
export const TOKEN_CACHE_MS = 5 * 60 * 1000;


let cached: { secretId: string; token: string; until: number } | undefined;

/** The token in `secretId`: the secret's string (a bare token, or JSON with a `token` field). */
export const githubToken = async (secretId: string, now: () => number = Date.now): Promise<string> => {
  if (cached && cached.secretId === secretId && cached.until > now()) return cached.token;
  const { SecretString } = await clients().secretsManager().send(new GetSecretValueCommand({ SecretId: secretId }));
  const token = tokenOf(SecretString);
  if (!token) {
    throw new ConfigurationError(
      `the GitHub token secret ${secretId} holds no token: put a fine-grained token (Pull requests: read, Contents: read) in it as its plain value (docs/sources.md)`,
    );
  }
  cached = { secretId, token, until: now() + TOKEN_CACHE_MS };
  return token;
};

const tokenOf = (value: string | undefined): string | undefined => {
  const trimmed = value?.trim();
  if (!trimmed) return undefined;
  if (!trimmed.startsWith('{')) return trimmed;
  try {
    const parsed = JSON.parse(trimmed) as { token?: unknown };
    return typeof parsed.token === 'string' && parsed.token.trim() ? parsed.token.trim() : undefined;
  } catch {
    return undefined;
  }
};

/** Drops the cached token (GitHub refused it: it may have been rotated). */
export const forgetToken = (): void => {
  cached = undefined;
};
