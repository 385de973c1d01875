import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "../schemas/json-schema.js";
import { MAX_REASON } from "../../trust/index.js";
import { commandContext } from "../context.js";
import type { AppDeps } from "../deps.js";
import { notFound } from "../errors.js";
import type { RequireRoles } from "../plugins/authenticate.js";
import { Kid } from "../schemas/audit.js";
import { errorResponses } from "../schemas/common.js";

const SigningKey = Type.Object({
  kid: Type.String(),
  status: Type.Union([Type.Literal("trusted"), Type.Literal("pending"), Type.Literal("revoked")]),
  anchor: Type.Boolean(),
  publicKey: Type.Union([Type.String(), Type.Null()]),
  enrolledAtSeq: Type.Union([Type.Integer(), Type.Null()]),
  enrolledBy: Type.Union([Type.String(), Type.Null()]),
  approvedBy: Type.Union([Type.Unknown(), Type.Null()]),
  legacyHistory: Type.Boolean(),
  revokedAtSeq: Type.Union([Type.Integer(), Type.Null()]),
  revokedBy: Type.Union([Type.String(), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
  legacyEvents: Type.Integer(),
});
const KidParams = Type.Object({ kid: Kid }, { additionalProperties: false });
const ApproveBody = Type.Union([
  Type.Object({ publicKey: Type.Optional(Type.String({ minLength: 43, maxLength: 43 })) }, { additionalProperties: false }),
  Type.Null(),
]);
const RevokeBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: MAX_REASON }) }, { additionalProperties: false });

/**
 * The trust root: `GET /v1/signing-keys` (the anchor, trusted, pending and revoked keys),
 * `POST /v1/signing-keys/:kid/approve` (appends `SigningKeyEnrolled`, signed by this daemon's
 * trusted key) and `POST /v1/signing-keys/:kid/revoke` (appends `SigningKeyRevoked`, signed by
 * another trusted key than the one revoked).
 */
export function signingKeyRoutes(deps: AppDeps, requireRoles: RequireRoles): FastifyPluginAsyncTypebox {
  const read = requireRoles(["admin", "auditor"]);
  const write = requireRoles(["admin"]);
  return async (app) => {
    app.get(
      "/v1/signing-keys",
      {
        onRequest: read,
        schema: {
          response: {
            200: Type.Object({ anchor: Type.Union([Type.String(), Type.Null()]), items: Type.Array(SigningKey) }),
            ...errorResponses,
          },
        },
      },
      async () => deps.signingKeys.list(),
    );

    app.get(
      "/v1/signing-keys/:kid",
      { onRequest: read, schema: { params: KidParams, response: { 200: SigningKey, ...errorResponses } } },
      async (request) => {
        const key = await deps.signingKeys.view(request.params.kid);
        if (key === null) throw notFound("signing key");
        return key;
      },
    );

    app.post(
      "/v1/signing-keys/:kid/approve",
      { onRequest: write, schema: { params: KidParams, body: ApproveBody, response: { 200: SigningKey, ...errorResponses } } },
      async (request) =>
        deps.signingKeys.approve(request.params.kid, commandContext(request), request.body?.publicKey ?? undefined),
    );

    app.post(
      "/v1/signing-keys/:kid/revoke",
      { onRequest: write, schema: { params: KidParams, body: RevokeBody, response: { 200: SigningKey, ...errorResponses } } },
      async (request) => deps.signingKeys.revoke(request.params.kid, request.body.reason, commandContext(request)),
    );
  };
}
