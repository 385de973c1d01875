import type { FastifyInstance, FastifyRequest } from "fastify";
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

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== "string") return null;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

/**
 * Returns the onRequest hook for routes that need a credential: it runs before the body is parsed
 * or validated, so that nobody learns the request rules without a credential. A client address
 * that failed too often is answered 429 before its credential is looked at; each failure counts.
 */
export function authenticate(app: FastifyInstance, deps: AuthDeps) {
  app.decorateRequest("principal", null);
  return function requireRoles(roles: readonly Role[] | "any") {
    return async (request: FastifyRequest): Promise<void> => {
      const now = deps.clock().getTime();
      const retryAfter = deps.limiter.retryAfter(request.ip, now);
      if (retryAfter > 0) throw new HttpError("rate_limited", "too many failed authentications; try again later", retryAfter);
      const credential = bearer(request);
      const principal =
        credential === null || credential.length > 2048 ? null : await deps.authenticator.authenticate(credential);
      if (principal === null) {
        deps.limiter.recordFailure(request.ip, now);
        throw unauthenticated();
      }
      request.principal = principal;
      if (roles !== "any" && !hasRole(principal, roles)) throw forbidden();
    };
  };
}

export type RequireRoles = ReturnType<typeof authenticate>;

export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw unauthenticated();
  return request.principal;
}
