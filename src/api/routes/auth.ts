import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "../schemas/json-schema.js";
import { newTokenId } from "../../application/index.js";
import { issueToken, type KeyVerification } from "../../auth/index.js";
import type { AppDeps } from "../deps.js";
import { forbidden } from "../errors.js";
import { replayBody, VERIFY_PATH } from "../fast-verify.js";
import type { RequireRoles } from "../plugins/authenticate.js";
import { principalOf } from "../plugins/authenticate.js";
import { presentAccount, presentKey } from "../presenters.js";
import { ApiKey, errorResponses, ServiceAccount } from "../schemas/common.js";

const VerifyBody = Type.Object({ key: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false });
const VerifyAnswer = Type.Union([
  Type.Object({
    valid: Type.Literal(true),
    serviceAccount: Type.Object({ id: Type.String(), name: Type.String(), roles: Type.Array(Type.String()) }),
    apiKey: Type.Object({ id: Type.String(), name: Type.String(), expiresAt: Type.Union([Type.String(), Type.Null()]) }),
    credential: Type.String(),
  }),
  Type.Object({ valid: Type.Literal(false), code: Type.String() }),
]);
const TokenAnswer = Type.Object({
  accessToken: Type.String(),
  tokenType: Type.Literal("Bearer"),
  expiresIn: Type.Integer(),
  expiresAt: Type.String(),
});
const WhoamiAnswer = Type.Object({ serviceAccount: ServiceAccount, apiKey: ApiKey, credential: Type.String() });
const Jwks = Type.Object({
  keys: Type.Array(
    Type.Object({
      kty: Type.String(),
      crv: Type.String(),
      x: Type.String(),
      kid: Type.String(),
      alg: Type.String(),
      use: Type.String(),
    }),
  ),
});

/**
 * The answer to a verification, counted in the metrics by result. Its members are in the order of
 * the response schema, so that `JSON.stringify` writes what fastify's serialiser writes (the fast
 * path sends it so).
 */
export function verificationAnswer(deps: Pick<AppDeps, "metrics">) {
  const counted = new Map<string, { inc(): void }>();
  const count = (result: string): void => {
    const metrics = deps.metrics;
    if (metrics === undefined) return;
    let counter = counted.get(result);
    if (counter === undefined) counted.set(result, (counter = metrics.verifications.labels({ result })));
    counter.inc();
  };
  return (result: KeyVerification) => {
    count(result.valid ? "valid" : result.code);
    if (!result.valid) return { valid: false as const, code: result.code };
    return {
      valid: true as const,
      serviceAccount: { id: result.account.id, name: result.account.name, roles: [...result.account.roles] },
      apiKey: { id: result.key.id, name: result.key.name, expiresAt: result.key.expiresAt },
      credential: result.credential,
    };
  };
}

export function authRoutes(deps: AppDeps, requireRoles: RequireRoles): FastifyPluginAsyncTypebox {
  const verifyAnswer = verificationAnswer(deps);
  return async (app) => {
    app.post(
      VERIFY_PATH,
      {
        onRequest: requireRoles(["verifier", "admin"]),
        // Most verifications are answered before fastify sees them (fast-verify.ts); those it
        // hands over after reading their body come here with that body.
        preParsing: (request, _reply, payload, done) => done(null, replayBody(request, payload)),
        schema: { body: VerifyBody, response: { 200: VerifyAnswer, ...errorResponses } },
      },
      // Not async: a key held in memory is answered without a promise (fastify sends a plain value).
      (request) => {
        const result = deps.authenticator.verifyKey(request.body.key);
        return result instanceof Promise ? result.then(verifyAnswer) : verifyAnswer(result);
      },
    );

    app.post(
      "/v1/auth/token",
      { onRequest: requireRoles("any"), schema: { response: { 200: TokenAnswer, ...errorResponses } } },
      async (request) => {
        const principal = principalOf(request);
        // A token may not mint another token: only an API key starts a token's life.
        if (principal.credential === "token") throw forbidden();
        return issueToken(principal, deps.signer, deps.tokenTtlSeconds, deps.clock(), newTokenId());
      },
    );

    app.get(
      "/v1/auth/whoami",
      { onRequest: requireRoles("any"), schema: { response: { 200: WhoamiAnswer, ...errorResponses } } },
      async (request) => {
        const { account, key, credential } = principalOf(request);
        return {
          serviceAccount: presentAccount(account),
          apiKey: presentKey(key, account.id, deps.usage.lastUsedAt(key.id), deps.clock()),
          credential,
        };
      },
    );

    app.get("/.well-known/jwks.json", { schema: { security: [], response: { 200: Jwks } } }, async (_request, reply) => {
      // Exactly the keys the ledger's own statements trust now: enrolled, not revoked.
      void reply.header("cache-control", "public, max-age=300");
      return {
        keys: deps.trustedKeys().map(({ kid, publicKey }) => ({
          kty: "OKP",
          crv: "Ed25519",
          x: Buffer.from(publicKey).toString("base64url"),
          kid,
          alg: "EdDSA",
          use: "sig",
        })),
      };
    });
  };
}
