import http, { type IncomingMessage, type Server, type ServerResponse } from "node:http";
import https from "node:https";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { Logger } from "pino";
import { accessLineWriter, safePath } from "../logger.js";
import { AccessLog, writesOwnAccessLine } from "./access-log.js";
import { LazyRequestLogger } from "./request-logger.js";
import { AuditSlots } from "./audit-slots.js";
import type { AppDeps } from "./deps.js";
import { errorHandler, frameworkErrorHandler, HttpError } from "./errors.js";
import { authenticate } from "./plugins/authenticate.js";
import { clientErrorHandler } from "./plugins/client-errors.js";
import { closeIdleConnectionsOnShutdown } from "./plugins/connections.js";
import { registerOpenApi } from "./plugins/openapi.js";
import { apiKeyRoutes } from "./routes/api-keys.js";
import { auditExportRoutes } from "./routes/audit-export.js";
import { auditRoutes } from "./routes/audit.js";
import { consoleRoutes } from "./routes/console.js";
import { authRoutes, verificationAnswer } from "./routes/auth.js";
import { fastVerify, sinceHandedOverArrival } from "./fast-verify.js";
import { requestIdOf } from "./request-id.js";
import { eventRoutes } from "./routes/events.js";
import { operationRoutes } from "./routes/operations.js";
import { serviceAccountRoutes } from "./routes/service-accounts.js";
import { signingKeyRoutes } from "./routes/signing-keys.js";
import { sharedSerializers } from "./serializer-compiler.js";
import { validatorCompiler } from "./validation.js";

/** Builds the HTTP API from its dependencies; the caller owns `listen` and shutdown. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  let closing = false;
  const accessLine = accessLineWriter(deps.logger);
  const verifyFast = fastVerify({
    authenticator: deps.authenticator,
    metrics: deps.metrics,
    accessLine,
    answer: verificationAnswer(deps),
    requestIdOf,
    otherRequest: () => deps.audits.otherRequest(),
    // Behind a trusted proxy the client's address comes from headers fastify reads; at debug level
    // the route's "incoming request" lines are wanted.
    routeOnly: () => closing || deps.trustProxy !== false || deps.logger.isLevelEnabled("debug"),
    closing: () => closing,
  });
  // pino's Logger and fastify's base logger type differ only in optional members.
  const app = Fastify({
    // The server comes from the factory; fastify still reads `https` for the address it reports.
    ...(deps.https === undefined ? {} : { https: { cert: deps.https.cert, key: deps.https.key } }),
    serverFactory: (handler, options) =>
      createServer(deps.https, options, (request, response) => verifyFast(request, response, () => handler(request, response))),
    loggerInstance: deps.logger as FastifyBaseLogger,
    // A hop count trusts that many proxies nearest to us; never the whole (client-written) chain.
    trustProxy: typeof deps.trustProxy === "number" ? hops(deps.trustProxy) : deps.trustProxy,
    bodyLimit: 64 * 1024,
    requestIdHeader: false,
    genReqId: requestIdOf,
    // New requests while closing get the contract's 503 body from the hook below, not fastify's own.
    return503OnClosing: false,
    logController: new AccessLog(accessLine),
    childLoggerFactory: (logger, bindings, options) => new LazyRequestLogger(logger as Logger, bindings, options),
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(sharedSerializers());
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request) => {
    throw new HttpError("not_found", `no route ${request.method} ${safePath(request.url)}`);
  });
  // While closing, answers to requests still in flight close their connection, so that a
  // keep-alive client does not hold the shutdown open.
  app.addHook("preClose", async () => {
    closing = true;
  });
  closeIdleConnectionsOnShutdown(app);
  // Hooks take callbacks, not promises: they run on every request, verifications included.
  app.addHook("onRequest", (request, _reply, done) => {
    if (closing && request.url !== "/healthz") {
      done(new HttpError("unavailable", "the daemon is shutting down; try another one or again shortly"));
      return;
    }
    // Audit work takes at most a share of the daemon's time while other requests come in (AuditPacer).
    if (!isAuditWork(request.url)) deps.audits.otherRequest();
    done();
  });
  const metrics = deps.metrics;
  if (metrics !== undefined)
    app.addHook("onResponse", (request, reply, done) => {
      // A live stream's life is not a request's latency (and is seen only when the server ends it).
      // The route's pattern (never the raw path, which may hold anything a client sent).
      if (!writesOwnAccessLine(request))
        metrics.requestDuration.observe(
          { method: request.method, route: request.routeOptions.url ?? "unmatched", status_code: String(reply.statusCode) },
          (sinceHandedOverArrival(request.raw) ?? reply.elapsedTime) / 1000,
        );
      done();
    });
  app.addHook("onSend", (request, reply, payload, done) => {
    void reply.header("x-request-id", String(request.id));
    if (closing) void reply.header("connection", "close");
    done(null, payload);
  });

  await registerOpenApi(app);
  const requireRoles = authenticate(app, deps);
  await app.register(serviceAccountRoutes(deps, requireRoles));
  await app.register(apiKeyRoutes(deps, requireRoles));
  await app.register(authRoutes(deps, requireRoles));
  await app.register(eventRoutes(deps, requireRoles));
  // Audits and evidence exports read the whole stream: they share the daemon's places for that.
  const auditSlots = new AuditSlots();
  await app.register(auditRoutes(deps, requireRoles, auditSlots));
  await app.register(auditExportRoutes(deps, requireRoles, auditSlots));
  await app.register(signingKeyRoutes(deps, requireRoles));
  await app.register(operationRoutes(deps));
  await app.register(consoleRoutes(deps.consoleFiles ?? null));
  return app;
}

/** Questions about the past and audits: `/v1/audit/…`, and any read `asOf` a point. */
function isAuditWork(url: string): boolean {
  return url.startsWith("/v1/audit/") || url.includes("asOf=");
}

/**
 * The server fastify would make (HTTP or HTTPS, with its timeouts), with the verification fast
 * path in front of fastify's handler.
 */
function createServer(
  tls: AppDeps["https"],
  options: FastifyServerOptions,
  listener: (request: IncomingMessage, response: ServerResponse) => void,
): Server {
  const server = tls === undefined ? http.createServer(listener) : https.createServer({ cert: tls.cert, key: tls.key }, listener);
  server.keepAliveTimeout = options.keepAliveTimeout ?? 72_000;
  server.requestTimeout = options.requestTimeout ?? 0;
  server.setTimeout(options.connectionTimeout ?? 0);
  return server;
}

function hops(count: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < count;
}
