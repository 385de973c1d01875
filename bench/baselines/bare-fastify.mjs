// The raw HTTP baseline: a bare fastify route that answers a constant JSON body (the same bytes a
// successful verification answers), on the port given as the first argument.
import Fastify from "fastify";

const port = Number(process.argv[2]);
const body = process.env.BENCH_CONSTANT_BODY ?? '{"valid":true}';
const app = Fastify({ logger: false });
app.post("/v1/auth/verify", async (_request, reply) => reply.type("application/json").send(body));
await app.listen({ host: "127.0.0.1", port });
process.stdout.write("listening\n");
process.on("SIGTERM", () => app.close().then(() => process.exit(0)));
