// A fastify service whose routes only callers with a valid keyledger API key may use. Keys are
// checked by the verifier (answers cached while the revocation feed is live), so a deactivated key
// stops working on this service as soon as the feed says so.
//
//   KEYLEDGER_URL      the daemon, e.g. https://keyledger.internal:8080
//   KEYLEDGER_API_KEY  this service's own key (its account has the role `verifier`)
//   NATS_URL           optional: the NATS that carries keyledger's revocation feed
//   PORT               where this service listens (default 3000)
import Fastify from "fastify";
import { createVerifier } from "@keyledger/client";

const verifier = createVerifier({
  url: process.env.KEYLEDGER_URL,
  apiKey: process.env.KEYLEDGER_API_KEY,
  ...(process.env.NATS_URL ? { natsUrl: process.env.NATS_URL } : {}),
});
await verifier.ready();

const app = Fastify({ logger: true });

// For a load balancer or an operator: is the feed live, where does it stand, how well the cache does.
app.get("/healthz", async () => verifier.status());

app.addHook("onRequest", async (request, reply) => {
  if (request.url === "/healthz") return;
  const presented = /^Bearer (\S+)$/.exec(request.headers.authorization ?? "")?.[1];
  const answer = presented === undefined ? null : await verifier.verify(presented);
  if (answer === null || !answer.valid) return reply.code(401).send({ error: "a valid API key is required" });
  request.caller = answer.serviceAccount;
});

app.get("/hello", async (request) => ({ hello: request.caller.name, roles: request.caller.roles }));

app.addHook("onClose", () => verifier.close());
process.once("SIGTERM", () => app.close());

await app.listen({ host: "127.0.0.1", port: Number(process.env.PORT ?? 3000) });
