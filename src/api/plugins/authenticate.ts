import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Role } from "../../domain/index.js";
import { hasRole, type Authenticator, type FailedAuthLimiter, type Principal } from "../../auth/index.js";
import { forbidden, HttpError, unauthenticated } from "../errors.js";

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export interface AuthDeps {
  readonly authenticator: Authenticator;
  readonly limiter: FailedAuthLimiter;
  readonly clock: () => Date;
}

/** A bearer longer than this is refused unread: no key or token of ours comes near it. */
const MAX_CREDENTIAL = 2048;
const BEARER = /^Bearer[ ]+(\S+)\s*$/i;

/** The credential of an `Authorization: Bearer …` header (null: none, or one too long to read). */
export function bearerCredential(header: string | undefined): string | null {
  if (typeof header !== "string") return null;
  const credential = BEARER.exec(header)?.[1];
  return credential !== undefined && credential.length <= MAX_CREDENTIAL ? credential : null;
}

/**
 * Returns the onRequest hook for routes that need a credential: it runs before the body is parsed
 * or validated, so that nobody learns the request rules without a credential. The credential is
 * checked first and a valid one is always served; only a failure consults the limiter, which
 * counts it and decides whether it is answered 401 or, past the limit, 429 with `Retry-After`.
 */
export function authenticate(app: FastifyInstance, deps: AuthDeps) {
  app.decorateRequest("principal", null);
  return function requireRoles(roles: readonly Role[] | "any") {
    // A callback hook, not an async one: a credential held in memory is settled without a promise.
    return (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void => {
      const settle = (principal: Principal | null): void => {
        if (principal === null) {
          const retryAfter = deps.limiter.recordFailure(request.ip, credential, deps.clock().getTime());
          if (retryAfter > 0)
            return done(new HttpError("rate_limited", "too many failed authentications; try again later", retryAfter));
          return done(unauthenticated());
        }
        request.principal = principal;
        done(roles !== "any" && !hasRole(principal, roles) ? forbidden() : undefined);
      };
      const credential = bearerCredential(request.headers.authorization);
      let principal: Principal | null | Promise<Principal | null>;
      try {
        principal = credential === null ? null : deps.authenticator.authenticate(credential);
      } catch (error) {
        return done(error as Error);
      }
      if (principal instanceof Promise) principal.then(settle, done);
      else settle(principal);
    };
  };
}

export type RequireRoles = ReturnType<typeof authenticate>;

export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw unauthenticated();
  return request.principal;
}
