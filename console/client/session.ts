/// <reference lib="dom" />
/**
 * Who the page signs in as, in the browser: locally a typed name kept in the `handsoff-user`
 * cookie (the API reads it); on AWS the Cognito hosted UI's authorization code flow with
 * PKCE (console/client/signin.ts), the ID token kept in this tab's sessionStorage (never a
 * cookie) and sent as `Authorization: Bearer` on every API call. The page shows who it is;
 * the API decides what they may do.
 */
import type { PageConfig, SignInConfig } from '../api.ts';
import { beginSignIn, idTokenOf, logoutUrl, readCallback, signedInFrom, tokenRequest, type PendingSignIn } from './signin.ts';

export interface Session {
  /** The name shown in the header, and the approver flag where the token tells it. */
  who(): { name: string; approver?: boolean } | undefined;
  /** Headers every API call carries. */
  headers(): Record<string, string>;
  /** What a 401 asks of the person. */
  readonly again: string;
  /** The event stream (`/api/events/stream`) is there: an EventSource sends no Authorization header, so only locally. */
  readonly live: boolean;
  /** A 401: whatever the page held is no longer good. */
  expired(): void;
  /**
   * Wires the header's sign-in and finishes a sign-in coming back from the hosted UI;
   * `changed` runs when who is signed in changes. Resolves false when the page is leaving.
   */
  start(changed: () => void, problem: (message: string) => void): Promise<boolean>;
}

const COOKIE = 'handsoff-user';

const localSession = (): Session => {
  const name = (): string | undefined => {
    const m = document.cookie.split(/;\s*/).find((c) => c.startsWith(`${COOKIE}=`));
    return m ? decodeURIComponent(m.slice(COOKIE.length + 1)) : undefined;
  };
  return {
    who: () => {
      const n = name();
      return n ? { name: n } : undefined;
    },
    headers: () => ({}),
    again: 'Sign in with your name above.',
    live: true,
    expired: () => undefined,
    start: async (changed) => {
      document.getElementById('signin')?.addEventListener('submit', (ev) => {
        ev.preventDefault();
        const input = (ev.currentTarget as HTMLFormElement).elements.namedItem('name') as HTMLInputElement | null;
        const n = input?.value.trim() ?? '';
        if (!n) return;
        document.cookie = `${COOKIE}=${encodeURIComponent(n)}; path=/; SameSite=Strict`;
        changed();
      });
      return true;
    },
  };
};

const TOKEN_KEY = 'handsoff-id-token';
const PENDING_KEY = 'handsoff-sign-in';

const readPending = (): PendingSignIn | undefined => {
  const raw = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  try {
    const p = raw ? (JSON.parse(raw) as PendingSignIn) : undefined;
    return p && typeof p.state === 'string' && typeof p.verifier === 'string' && typeof p.returnTo === 'string' ? p : undefined;
  } catch {
    return undefined;
  }
};

/** The hosted UI came back to `/?code=...&state=...`: trade the code for the ID token, then go back where sign-in began. */
const finishSignIn = async (cfg: SignInConfig, problem: (message: string) => void): Promise<boolean> => {
  // Read once and forgotten: a code answers one sign-in only.
  const pending = location.search ? readPending() : undefined;
  const answer = readCallback(location.search, pending);
  if (answer.kind === 'none') return true;
  // The code is single-use and means nothing once traded: off the address bar either way.
  history.replaceState(null, '', location.pathname);
  if (answer.kind === 'error' || !pending) {
    problem(answer.kind === 'error' ? answer.message : 'press Sign in again');
    return true;
  }
  const req = tokenRequest(cfg, { code: answer.code, verifier: pending.verifier });
  let status = 0;
  let body: unknown = null;
  try {
    const res = await fetch(req.url, req.init);
    status = res.status;
    body = await res.json().catch(() => null);
  } catch (e) {
    problem(`the token endpoint could not be reached (${(e as Error).message}); press Sign in again`);
    return true;
  }
  const token = idTokenOf(status, body);
  if (!token.ok) {
    problem(token.message);
    return true;
  }
  sessionStorage.setItem(TOKEN_KEY, token.token);
  if (pending.returnTo !== location.pathname) {
    location.replace(pending.returnTo);
    return false;
  }
  return true;
};

const awsSession = (cfg: SignInConfig, approversGroup: string): Session => {
  const current = () => {
    const s = signedInFrom(sessionStorage.getItem(TOKEN_KEY), Date.now(), approversGroup);
    if (!s) sessionStorage.removeItem(TOKEN_KEY);
    return s;
  };
  const buttons = (): void => {
    const inside = current() !== undefined;
    const signin = document.getElementById('signin');
    const signout = document.getElementById('signout');
    if (signin) signin.hidden = inside;
    if (signout) signout.hidden = !inside;
  };
  return {
    who: () => {
      const s = current();
      return s ? { name: s.name, approver: s.approver } : undefined;
    },
    headers: (): Record<string, string> => {
      const s = current();
      return s ? { Authorization: `Bearer ${s.token}` } : {};
    },
    again: 'Sign in again with the Sign in button above.',
    live: false,
    expired: () => {
      sessionStorage.removeItem(TOKEN_KEY);
      buttons();
    },
    start: async (_changed, problem) => {
      // Signing in or out leaves the page (for the hosted UI), which loads again signed in or out.
      document.getElementById('signin')?.addEventListener('click', async () => {
        const { pending, url } = await beginSignIn(cfg, location.pathname);
        sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
        location.assign(url);
      });
      document.getElementById('signout')?.addEventListener('click', () => {
        sessionStorage.removeItem(TOKEN_KEY);
        location.assign(logoutUrl(cfg));
      });
      const stay = await finishSignIn(cfg, problem);
      buttons();
      return stay;
    },
  };
};

/** The page's session for where it runs (the shell's `data-config`). */
export const sessionFor = (config: PageConfig): Session => (config.mode === 'aws' ? awsSession(config.signIn, config.approversGroup) : localSession());
