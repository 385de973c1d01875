// A plain node:http service that accepts keyledger access tokens and checks them offline: the
// signature against the daemon's published keys (JWKS, fetched and cached), the issuer and the
// expiry. It never calls the daemon per request. Callers get a token with POST /v1/auth/token.
//
//   KEYLEDGER_URL  the daemon, for its /.well-known/jwks.json
//   PORT           where this service listens (default 3001)
import { createServer } from "node:http";
import { createTokenVerifier } from "@keyledger/client";

const tokens = createTokenVerifier({ url: process.env.KEYLEDGER_URL });

const server = createServer(async (request, response) => {
  const presented = /^Bearer (\S+)$/.exec(request.headers.authorization ?? "")?.[1];
  const result = presented === undefined ? { valid: false, code: "missing" } : await tokens.verify(presented);
  response.setHeader("content-type", "application/json");
  if (!result.valid) {
    response.writeHead(401).end(JSON.stringify({ error: `token refused: ${result.code}` }));
    return;
  }
  response.end(JSON.stringify({ hello: result.claims.name, account: result.claims.sub, roles: result.claims.roles }));
});

process.once("SIGTERM", () => server.close());
server.listen(Number(process.env.PORT ?? 3001), "127.0.0.1");
