/**
 * Who calls the console's API: one small function per place it runs. Locally a person
 * signs in by name (header `X-Handsoff-User` or cookie `handsoff-user`) and is an approver
 * when the scenario's `approvers` name them; on AWS API Gateway's JWT authorizer has checked
 * the Cognito ID token and hands its claims over (`cognito:username`, `cognito:groups`).
 */
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { APPROVERS_GROUP } from '../core/console.ts';
import { samePerson } from '../core/operators.ts';
import type { Caller } from './api.ts';

/** The caller of a request, or undefined when it carries no identity (the app answers 401). */
export type Identify = (c: Context) => Caller | undefined;

export const USER_HEADER = 'X-Handsoff-User';
export const USER_COOKIE = 'handsoff-user';
/** The Cognito group whose members decide emergency requests (the stack creates it; the page is told its name). */
export { APPROVERS_GROUP };

/** A name as people type it: trimmed, 1 to 64 printable characters; anything else is no name. */
export const cleanName = (raw: string | undefined | null): string | undefined => {
  if (typeof raw !== 'string') return undefined;
  let name = raw.trim();
  try {
    name = decodeURIComponent(name);
  } catch {
    // not URI-encoded: taken as it is
  }
  name = name.trim();
  if (name === '' || name.length > 64 || /[\u0000-\u001f\u007f]/.test(name)) return undefined;
  return name;
};

/** Local identity: the name from the header (first) or the cookie; an approver when `approvers` names them (case-insensitively). */
export const localIdentity =
  (approvers: readonly string[]): Identify =>
  (c) => {
    const name = cleanName(c.req.header(USER_HEADER)) ?? cleanName(getCookie(c, USER_COOKIE));
    if (!name) return undefined;
    return { name, approver: approvers.some((a) => samePerson(a, name)) };
  };

/**
 * The groups claim as API Gateway passes it: a JSON array, or (HTTP APIs flatten arrays)
 * a string such as `[approvers dev]`, or a comma-separated string.
 */
export const groupsOf = (claim: unknown): string[] => {
  if (Array.isArray(claim)) return claim.map(String);
  if (typeof claim !== 'string') return [];
  const s = claim.trim();
  if (s.startsWith('[')) {
    try {
      const parsed = JSON.parse(s) as unknown;
      if (Array.isArray(parsed)) return parsed.map(String);
    } catch {
      // `[a b]`: not JSON
    }
  }
  return s
    .replace(/^\[|\]$/g, '')
    .split(/[\s,]+/)
    .filter(Boolean);
};

/** The JWT claims API Gateway's authorizer put in the event (HTTP API, payload 2.0). */
export const claimsOf = (event: unknown): Record<string, unknown> | undefined => {
  const claims = (event as { requestContext?: { authorizer?: { jwt?: { claims?: unknown } } } } | undefined)?.requestContext?.authorizer?.jwt?.claims;
  return claims && typeof claims === 'object' ? (claims as Record<string, unknown>) : undefined;
};

/** A caller from the Cognito ID token's claims: `cognito:username` and membership of `approvers`. */
export const callerFromClaims = (claims: Record<string, unknown> | undefined): Caller | undefined => {
  if (!claims) return undefined;
  const name = cleanName(typeof claims['cognito:username'] === 'string' ? claims['cognito:username'] : undefined);
  if (!name) return undefined;
  return { name, approver: groupsOf(claims['cognito:groups']).includes(APPROVERS_GROUP) };
};

/** AWS identity: what the JWT authorizer checked (hono/aws-lambda puts the Lambda event in `c.env.event`). */
export const awsIdentity: Identify = (c) => callerFromClaims(claimsOf((c.env as { event?: unknown } | undefined)?.event));
