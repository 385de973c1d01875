import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "../schemas/json-schema.js";
import type { AppDeps } from "../deps.js";
import { commandContext, findAccount } from "../context.js";
import type { RequireRoles } from "../plugins/authenticate.js";
import { presentAccount, presentAccountAsOf, presentKey } from "../presenters.js";
import { AsOfParam, ApiKeyAsOf, PointInTime } from "../schemas/audit.js";
import { accountAsOf, auditWork, pastAt } from "../time-travel.js";
import {
  AccountParams,
  ApiKey,
  ApiKeyWithSecret,
  Description,
  errorResponses,
  Name,
  Roles,
  ServiceAccount,
} from "../schemas/common.js";

/** The body of `POST /v1/service-accounts`. */
export const CreateBody = Type.Object(
  {
    name: Name,
    description: Type.Optional(Description),
    roles: Type.Optional(Roles),
    active: Type.Optional(Type.Boolean()),
    createApiKey: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const UpdateBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Description),
    active: Type.Optional(Type.Boolean()),
    roles: Type.Optional(Roles),
  },
  { additionalProperties: false },
);

const ListQuery = Type.Object(
  {
    active: Type.Optional(Type.Boolean()),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    asOf: Type.Optional(AsOfParam),
  },
  { additionalProperties: false },
);
const GetQuery = Type.Object({ asOf: Type.Optional(AsOfParam) }, { additionalProperties: false });

/** An account with its keys; as of a point in history, with the point and each key's status then. */
const AccountWithKeys = Type.Object({
  ...ServiceAccount.properties,
  apiKeys: Type.Array(
    Type.Object({
      ...ApiKey.properties,
      status: Type.Optional(ApiKeyAsOf.properties.status),
      previousSecret: Type.Optional(ApiKeyAsOf.properties.previousSecret),
    }),
  ),
  asOf: Type.Optional(PointInTime),
});

export function serviceAccountRoutes(deps: AppDeps, requireRoles: RequireRoles): FastifyPluginAsyncTypebox {
  const read = requireRoles(["admin", "auditor"]);
  const write = requireRoles(["admin"]);
  return async (app) => {
    app.post(
      "/v1/service-accounts",
      {
        onRequest: write,
        schema: {
          body: CreateBody,
          response: {
            201: Type.Object({ serviceAccount: ServiceAccount, apiKey: Type.Optional(ApiKeyWithSecret) }),
            ...errorResponses,
          },
        },
      },
      async (request, reply) => {
        const { account, apiKey } = await deps.accounts.create(request.body, commandContext(request));
        const now = deps.clock();
        return reply.status(201).send({
          serviceAccount: presentAccount(account),
          ...(apiKey === undefined ? {} : { apiKey: { ...presentKey(apiKey.key, account.id, null, now), key: apiKey.secret } }),
        });
      },
    );

    app.get(
      "/v1/service-accounts",
      {
        onRequest: read,
        schema: {
          querystring: ListQuery,
          response: {
            200: Type.Object({
              items: Type.Array(ServiceAccount),
              nextCursor: Type.Union([Type.String(), Type.Null()]),
              asOf: Type.Optional(PointInTime),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const { active, name, limit, cursor, asOf } = request.query;
        const filter = { active, name, limit: limit ?? 50, cursor };
        if (asOf !== undefined)
          return auditWork(deps, request, async () => {
            const { past, point } = await pastAt(deps, asOf);
            const page = await past.page(filter);
            return { items: page.items.map(presentAccount), nextCursor: page.nextCursor, asOf: point };
          });
        const page = await deps.queries.listAccounts(filter);
        return { items: page.items.map(presentAccount), nextCursor: page.nextCursor };
      },
    );

    app.get(
      "/v1/service-accounts/:account",
      {
        onRequest: read,
        schema: { params: AccountParams, querystring: GetQuery, response: { 200: AccountWithKeys, ...errorResponses } },
      },
      async (request) => {
        const asOf = request.query.asOf;
        if (asOf !== undefined)
          return auditWork(deps, request, async () => {
            const { account, point } = await accountAsOf(deps, request.params.account, asOf);
            return { ...presentAccountAsOf(account, point.at), asOf: point };
          });
        const account = await findAccount(deps.queries, request.params.account);
        const keys = await deps.queries.listKeys(account.id);
        const now = deps.clock();
        return {
          ...presentAccount(account),
          apiKeys: keys.map((key) => presentKey(key, account.id, deps.usage.lastUsedAt(key.id), now)),
        };
      },
    );

    app.patch(
      "/v1/service-accounts/:account",
      {
        onRequest: write,
        schema: { params: AccountParams, body: UpdateBody, response: { 200: ServiceAccount, ...errorResponses } },
      },
      async (request) => {
        const account = await findAccount(deps.queries, request.params.account);
        return presentAccount(await deps.accounts.update(account.id, request.body, commandContext(request)));
      },
    );

    app.delete(
      "/v1/service-accounts/:account",
      { onRequest: write, schema: { params: AccountParams, response: { 204: Type.Null(), ...errorResponses } } },
      async (request, reply) => {
        const account = await findAccount(deps.queries, request.params.account);
        await deps.accounts.delete(account.id, commandContext(request));
        return reply.status(204).send(null);
      },
    );
  };
}
