import { KeyledgerApiError, KeyledgerClient } from "@keyledger/client/http";

/** Who is signed in: an access token held in memory only, and what its account may do. */
export interface Session {
  readonly token: string;
  readonly expiresAt: string;
  readonly name: string;
  readonly roles: readonly string[];
  readonly api: KeyledgerClient;
}

/** The console's roles: an admin changes things, an auditor only looks; a verifier cannot sign in. */
export const canChange = (session: Session): boolean => session.roles.includes("admin");

/** A sentence for the sign-in page, never the key. */
export class SignInRefused extends Error {}

/**
 * Exchanges an API key at once for an access token (`POST /v1/auth/token`) and forgets the key:
 * the console keeps only the token, in memory (not in localStorage, sessionStorage or a cookie).
 */
export async function signIn(apiKey: string): Promise<Session> {
  const origin = window.location.origin;
  let token;
  try {
    token = await new KeyledgerClient({ url: origin, credential: apiKey }).token();
  } catch (error) {
    if (error instanceof KeyledgerApiError && (error.status === 401 || error.status === 403))
      throw new SignInRefused("That API key is not valid (unknown, inactive or expired).");
    if (error instanceof KeyledgerApiError && error.status === 429)
      throw new SignInRefused("Too many failed sign-ins from here; wait a minute and try again.");
    throw new SignInRefused("The daemon could not be reached; try again.");
  }
  const api = new KeyledgerClient({ url: origin, credential: token.accessToken });
  const who = await api.whoami();
  const roles = who.serviceAccount.roles;
  if (!roles.includes("admin") && !roles.includes("auditor"))
    throw new SignInRefused("This account only verifies keys (role verifier): the console needs an admin or an auditor.");
  return { token: token.accessToken, expiresAt: token.expiresAt, name: who.serviceAccount.name, roles, api };
}

/** Whether an error means the session is over: the token expired or was revoked. */
export function sessionEnded(error: unknown): boolean {
  return error instanceof KeyledgerApiError && error.status === 401;
}
