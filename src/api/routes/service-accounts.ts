import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { AppDeps } from "../deps.js";
import { commandContext, findAccount } from "../context.js";
import type { RequireRoles } from "../plugins/authenticate.js";
import { presentAccount, presentKey } from "../presenters.js";
import {
  AccountParams,
  ApiKeyWithSecret,
  Description,
  errorResponses,
  Name,
  Roles,
  ServiceAccount,
  ServiceAccountWithKeys,
} from "../schemas/common.js";

const CreateBody = Type.Object(
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
  },
  { additionalProperties: false },
);

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
            200: Type.Object({ items: Type.Array(ServiceAccount), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const { active, name, limit, cursor } = request.query;
        const page = await deps.queries.listAccounts({ active, name, limit: limit ?? 50, cursor });
        return { items: page.items.map(presentAccount), nextCursor: page.nextCursor };
      },
    );

    app.get(
      "/v1/service-accounts/:account",
      { onRequest: read, schema: { params: AccountParams, response: { 200: ServiceAccountWithKeys, ...errorResponses } } },
      async (request) => {
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
