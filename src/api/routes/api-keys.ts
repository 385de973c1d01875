import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "../schemas/json-schema.js";
import type { AppDeps } from "../deps.js";
import { commandContext, findAccount, findKey } from "../context.js";
import type { RequireRoles } from "../plugins/authenticate.js";
import { presentKey, presentKeyAsOf } from "../presenters.js";
import { ApiKeyAsOf, AsOfParam, PointInTime } from "../schemas/audit.js";
import { accountAsOf, auditWork, keyAsOf } from "../time-travel.js";
import {
  AccountParams,
  ApiKey,
  ApiKeyWithSecret,
  Description,
  errorResponses,
  KeyParams,
  Name,
  NullableInstant,
  RetainSeconds,
} from "../schemas/common.js";

const CreateBody = Type.Object(
  { name: Name, description: Type.Optional(Description), expiresAt: Type.Optional(NullableInstant) },
  { additionalProperties: false },
);
const UpdateBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Description),
    active: Type.Optional(Type.Boolean()),
    expiresAt: Type.Optional(NullableInstant),
  },
  { additionalProperties: false },
);
const RotateBody = Type.Union([
  Type.Object({ retainSeconds: Type.Optional(RetainSeconds) }, { additionalProperties: false }),
  Type.Null(),
]);
const ListQuery = Type.Object(
  { active: Type.Optional(Type.Boolean()), asOf: Type.Optional(AsOfParam) },
  { additionalProperties: false },
);
const GetQuery = Type.Object({ asOf: Type.Optional(AsOfParam) }, { additionalProperties: false });
/** A key; as of a point in history, with the status it had then and the point. */
const KeyAnswer = Type.Object({
  ...ApiKey.properties,
  status: Type.Optional(ApiKeyAsOf.properties.status),
  previousSecret: Type.Optional(ApiKeyAsOf.properties.previousSecret),
  asOf: Type.Optional(PointInTime),
});

export function apiKeyRoutes(deps: AppDeps, requireRoles: RequireRoles): FastifyPluginAsyncTypebox {
  const read = requireRoles(["admin", "auditor"]);
  const write = requireRoles(["admin"]);
  const base = "/v1/service-accounts/:account/api-keys";
  return async (app) => {
    app.post(
      base,
      {
        onRequest: write,
        schema: { params: AccountParams, body: CreateBody, response: { 201: ApiKeyWithSecret, ...errorResponses } },
      },
      async (request, reply) => {
        const account = await findAccount(deps.queries, request.params.account);
        const created = await deps.accounts.createKey(account.id, request.body, commandContext(request));
        return reply.status(201).send({ ...presentKey(created.key, account.id, null, deps.clock()), key: created.secret });
      },
    );

    app.get(
      base,
      {
        onRequest: read,
        schema: {
          params: AccountParams,
          querystring: ListQuery,
          response: {
            200: Type.Object({ items: Type.Array(KeyAnswer), asOf: Type.Optional(PointInTime) }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const { active, asOf } = request.query;
        if (asOf !== undefined)
          return auditWork(deps, request, async () => {
            const { account, point } = await accountAsOf(deps, request.params.account, asOf);
            const keys = Object.values(account.keys).filter(
              (key) => !key.deleted && (active === undefined || key.active === active),
            );
            return { items: keys.map((key) => presentKeyAsOf(key, account, point.at)), asOf: point };
          });
        const account = await findAccount(deps.queries, request.params.account);
        const keys = await deps.queries.listKeys(account.id, active);
        const now = deps.clock();
        return { items: keys.map((key) => presentKey(key, account.id, deps.usage.lastUsedAt(key.id), now)) };
      },
    );

    app.get(
      `${base}/:key`,
      {
        onRequest: read,
        schema: { params: KeyParams, querystring: GetQuery, response: { 200: KeyAnswer, ...errorResponses } },
      },
      async (request) => {
        const asOf = request.query.asOf;
        if (asOf !== undefined)
          return auditWork(deps, request, async () => {
            const { account, point } = await accountAsOf(deps, request.params.account, asOf);
            return { ...presentKeyAsOf(keyAsOf(account, request.params.key), account, point.at), asOf: point };
          });
        const { account, key } = await findKey(deps.queries, request.params.account, request.params.key);
        return presentKey(key, account.id, deps.usage.lastUsedAt(key.id), deps.clock());
      },
    );

    app.patch(
      `${base}/:key`,
      { onRequest: write, schema: { params: KeyParams, body: UpdateBody, response: { 200: ApiKey, ...errorResponses } } },
      async (request) => {
        const { account, key } = await findKey(deps.queries, request.params.account, request.params.key);
        const updated = await deps.accounts.updateKey(account.id, key.id, request.body, commandContext(request));
        return presentKey(updated, account.id, deps.usage.lastUsedAt(key.id), deps.clock());
      },
    );

    app.post(
      `${base}/:key/rotate`,
      {
        onRequest: write,
        schema: { params: KeyParams, body: RotateBody, response: { 200: ApiKeyWithSecret, ...errorResponses } },
      },
      async (request) => {
        const { account, key } = await findKey(deps.queries, request.params.account, request.params.key);
        const retainSeconds = request.body?.retainSeconds ?? 0;
        const rotated = await deps.accounts.rotateKey(account.id, key.id, retainSeconds, commandContext(request));
        return { ...presentKey(rotated.key, account.id, deps.usage.lastUsedAt(key.id), deps.clock()), key: rotated.secret };
      },
    );

    app.delete(
      `${base}/:key`,
      { onRequest: write, schema: { params: KeyParams, response: { 204: Type.Null(), ...errorResponses } } },
      async (request, reply) => {
        const { account, key } = await findKey(deps.queries, request.params.account, request.params.key);
        await deps.accounts.deleteKey(account.id, key.id, commandContext(request));
        return reply.status(204).send(null);
      },
    );
  };
}
