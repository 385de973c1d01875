import { Type } from "./json-schema.js";
import { EVENT_TYPES, type EventType } from "../../domain/index.js";
import { ApiKey, ServiceAccount } from "./common.js";

/** `asOf`: an ISO-8601 instant or a stream sequence (checked further by `parseAsOf`). */
export const AsOfParam = Type.String({ minLength: 1, maxLength: 40 });

export const PointInTime = Type.Object({ seq: Type.Integer(), at: Type.String() });

/** An API key as it was at a point in history, with the status it had then. */
export const ApiKeyAsOf = Type.Object({
  ...ApiKey.properties,
  status: Type.Union([Type.Literal("active"), Type.Literal("inactive"), Type.Literal("expired"), Type.Literal("deleted")]),
  previousSecret: Type.Union([Type.Literal("retained"), Type.Literal("expired"), Type.Null()]),
});

export const ServiceAccountAsOf = Type.Object({ ...ServiceAccount.properties, apiKeys: Type.Array(ApiKeyAsOf) });

const Change = Type.Union([Type.Literal("created"), Type.Literal("deleted"), Type.Literal("changed")]);

/** `GET /v1/audit/diff`: what changed between two points, a page of accounts at a time. */
export const AuditDiff = Type.Object({
  from: PointInTime,
  to: PointInTime,
  accounts: Type.Array(
    Type.Object({
      id: Type.String(),
      name: Type.String(),
      change: Change,
      before: Type.Union([ServiceAccount, Type.Null()]),
      after: Type.Union([ServiceAccount, Type.Null()]),
      keys: Type.Array(
        Type.Object({
          id: Type.String(),
          name: Type.String(),
          change: Change,
          before: Type.Union([ApiKeyAsOf, Type.Null()]),
          after: Type.Union([ApiKeyAsOf, Type.Null()]),
        }),
      ),
    }),
  ),
  /** Events applied after `from` up to `to`. */
  events: Type.Integer(),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

export const EventTypeParam = Type.Unsafe<EventType>({ type: "string", enum: [...EVENT_TYPES] });

/** An event as the stream holds it, with its stream sequence. */
export const EventEnvelope = Type.Object({
  seq: Type.Integer(),
  id: Type.String(),
  type: Type.String(),
  schemaVersion: Type.Integer(),
  accountId: Type.String(),
  occurredAt: Type.String(),
  actor: Type.Unknown(),
  requestId: Type.Union([Type.String(), Type.Null()]),
  data: Type.Unknown(),
  accountVersion: Type.Integer(),
  prevHash: Type.Union([Type.String(), Type.Null()]),
  hash: Type.String(),
  signingKeyId: Type.String(),
  signature: Type.String(),
});

export const AuditReport = Type.Object({
  ok: Type.Boolean(),
  checked: Type.Integer(),
  head: Type.Integer(),
  anchor: Type.Union([Type.String(), Type.Null()]),
  pinnedAnchor: Type.Union([Type.String(), Type.Null()]),
  problems: Type.Array(
    Type.Object({ seq: Type.Integer(), code: Type.String(), reason: Type.String(), kid: Type.Optional(Type.String()) }),
  ),
  truncated: Type.Boolean(),
  checkpoints: Type.Object({ checked: Type.Integer(), coveredEvents: Type.Integer() }),
  statements: Type.Object({ checked: Type.Integer(), counted: Type.Integer() }),
});

/** A signing key id: the first 16 base64url characters of SHA-256 of the raw public key. */
export const Kid = Type.String({ pattern: "^[A-Za-z0-9_-]{16}$", minLength: 16, maxLength: 16 });
