// Row 1's second baseline: a fastify route shaped like the verification, without the daemon's
// features around it. The same JSON body schema is parsed and validated and the same answer is
// serialised through a response schema; an onRequest hook hashes the bearer key and finds it in a
// Map, and the handler hashes the presented key once more and answers the constant account.
import { createHash } from "node:crypto";
import Fastify from "fastify";

const port = Number(process.argv[2]);
const answer = JSON.parse(process.env.BENCH_CONSTANT_BODY ?? '{"valid":true}');
const known = new Map();
const sha = (text) => createHash("sha256").update(text).digest("hex");
const app = Fastify({ logger: false });
const Strings = { type: "array", items: { type: "string" } };
const schema = {
  body: {
    type: "object",
    required: ["key"],
    additionalProperties: false,
    properties: { key: { type: "string", minLength: 1, maxLength: 512 } },
  },
  response: {
    200: {
      type: "object",
      properties: {
        valid: { type: "boolean" },
        code: { type: "string" },
        credential: { type: "string" },
        serviceAccount: {
          type: "object",
          properties: { id: { type: "string" }, name: { type: "string" }, roles: Strings },
        },
        apiKey: {
          type: "object",
          properties: { id: { type: "string" }, name: { type: "string" }, expiresAt: { type: ["string", "null"] } },
        },
      },
    },
  },
};
app.addHook("onRequest", async (request) => {
  const bearer = /^Bearer (\S+)$/.exec(request.headers.authorization ?? "")?.[1] ?? "";
  const digest = sha(bearer);
  if (!known.has(digest)) known.set(digest, answer);
  request.caller = known.get(digest);
});
app.post("/v1/auth/verify", { schema }, async (request) => (sha(request.body.key) === "" ? null : request.caller));
await app.listen({ host: "127.0.0.1", port });
process.stdout.write("listening\n");
process.on("SIGTERM", () => app.close().then(() => process.exit(0)));
