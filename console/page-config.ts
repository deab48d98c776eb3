/**
 * What the page is told about where it runs (console/api.ts PageConfig), from the backend's
 * kind and the function's environment: locally nothing (people sign in by name); on AWS the
 * hosted UI's domain, the app client and the callback the stack wrote (core/console.ts
 * CONSOLE_ENV). A missing or malformed value is a deployment error, said so on the page's
 * first request rather than a page whose "Sign in" leads nowhere.
 */
import { APPROVERS_GROUP, CONSOLE_ENV } from '../core/console.ts';
import type { ConsoleBackend, PageConfig } from './api.ts';

export type Environment = Readonly<Record<string, string | undefined>>;

const REDEPLOY = 'the handsoff stack sets it on the console function; redeploy the control plane';

/** The URL in variable `name`: https (http only on loopback, for tests); with `originOnly`, nothing after the host. */
const url = (env: Environment, name: string, originOnly: boolean): string => {
  const raw = env[name]?.trim();
  if (!raw) throw new Error(`environment variable ${name} is not set; ${REDEPLOY}`);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`${name} is not a URL ('${raw}'); ${REDEPLOY}`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) throw new Error(`${name} must be an https URL (got '${raw}'); ${REDEPLOY}`);
  if (originOnly && (u.pathname !== '/' || u.search || u.hash)) throw new Error(`${name} must be the hosted UI's base URL, without a path (got '${raw}'); ${REDEPLOY}`);
  return originOnly ? u.origin : u.href;
};

export const pageConfig = (kind: ConsoleBackend['kind'], env: Environment): PageConfig => {
  if (kind === 'local') return { mode: 'local' };
  const clientId = env[CONSOLE_ENV.USER_POOL_CLIENT_ID]?.trim();
  if (!clientId) throw new Error(`environment variable ${CONSOLE_ENV.USER_POOL_CLIENT_ID} is not set; ${REDEPLOY}`);
  if (!/^[\w+]{1,128}$/.test(clientId)) throw new Error(`${CONSOLE_ENV.USER_POOL_CLIENT_ID} is not a Cognito app client id ('${clientId}'); ${REDEPLOY}`);
  return {
    mode: 'aws',
    signIn: { domain: url(env, CONSOLE_ENV.SIGN_IN_DOMAIN, true), clientId, redirectUri: url(env, CONSOLE_ENV.REDIRECT_URI, false) },
    approversGroup: APPROVERS_GROUP,
  };
};
