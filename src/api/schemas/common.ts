import type { Static } from "typebox";
import { Type } from "./json-schema.js";
import { MAX_DESCRIPTION, MAX_RETAIN_SECONDS, NAME_PATTERN, ROLES } from "../../domain/index.js";

export const Name = Type.String({ pattern: NAME_PATTERN, minLength: 1, maxLength: 64 });
export const Description = Type.String({ maxLength: MAX_DESCRIPTION });
export const Role = Type.Unsafe<(typeof ROLES)[number]>({ type: "string", enum: [...ROLES] });
export const Roles = Type.Array(Role, { uniqueItems: true, maxItems: ROLES.length });
export const Instant = Type.String({ format: "date-time" });
export const NullableInstant = Type.Union([Instant, Type.Null()]);
export const RetainSeconds = Type.Integer({ minimum: 0, maximum: MAX_RETAIN_SECONDS });

export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    requestId: Type.String(),
  }),
});

export const AccountParams = Type.Object(
  { account: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);
export const KeyParams = Type.Object(
  { account: Type.String({ minLength: 1, maxLength: 64 }), key: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);

export const ServiceAccount = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  active: Type.Boolean(),
  roles: Type.Array(Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  version: Type.Integer(),
});
export type ServiceAccount = Static<typeof ServiceAccount>;

const apiKeyFields = {
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  active: Type.Boolean(),
  serviceAccountId: Type.String(),
  hint: Type.String(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  lastRotatedAt: Type.Union([Type.String(), Type.Null()]),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  retainedUntil: Type.Union([Type.String(), Type.Null()]),
};
export const ApiKey = Type.Object(apiKeyFields);
export type ApiKey = Static<typeof ApiKey>;
export const ApiKeyWithSecret = Type.Object({ ...apiKeyFields, key: Type.String() });
export type ApiKeyWithSecret = Static<typeof ApiKeyWithSecret>;

export const ServiceAccountWithKeys = Type.Object({ ...ServiceAccount.properties, apiKeys: Type.Array(ApiKey) });

/** The error answers every authenticated route may give, by status. */
export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  429: ErrorBody,
  500: ErrorBody,
  503: ErrorBody,
} as const;
