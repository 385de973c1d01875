import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { request } from "node:https";
import { connect } from "node:net";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findNatsServer } from "../../src/nats/index.js";
import { runCli } from "../helpers/cli.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { client, waitUntil } from "../helpers/http.js";
import { startTestNats, tempDir, type TestNats } from "../helpers/nats.js";
import { freePort } from "../helpers/ports.js";

/** A self-signed certificate for 127.0.0.1 and localhost, made with openssl for this test run. */
async function testCertificate(): Promise<{ cert: string; key: string; pem: Buffer }> {
  const dir = await tempDir("keyledger-tls-");
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"],
      ...["-keyout", key, "-out", cert, "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
    ],
    { stdio: "ignore" },
  );
  return { cert, key, pem: await readFile(cert) };
}

/** One HTTPS request that trusts only `ca`; answers the status and body. */
function httpsGet(url: string, ca: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers }, (response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("HTTPS when a certificate and key are configured", () => {
  let nats: TestNats;
  let daemon: TestDaemon;
  let certificate: Awaited<ReturnType<typeof testCertificate>>;

  beforeAll(async () => {
    certificate = await testCertificate();
    nats = await startTestNats();
    daemon = await startTestDaemon(nats.url, { "tls-cert": certificate.cert, "tls-key": certificate.key });
  });

  afterAll(async () => {
    await daemon?.stop();
    await nats?.stop();
  });

  it("serves the API over TLS with that certificate, and nothing in plain HTTP", async () => {
    expect(daemon.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await httpsGet(`${daemon.url}/readyz`, certificate.pem)).toMatchObject({ status: 200 });
    const whoami = await httpsGet(`${daemon.url}/v1/auth/whoami`, certificate.pem, {
      authorization: `Bearer ${await daemon.adminKey()}`,
    });
    expect(whoami.status).toBe(200);
    expect(JSON.parse(whoami.body).serviceAccount.name).toBe("admin");
    // A client that does not trust the certificate is refused by its own TLS check.
    await expect(httpsGet(`${daemon.url}/healthz`, Buffer.from(""))).rejects.toThrow();
    const plain = await fetch(daemon.url.replace("https:", "http:") + "/healthz").then(
      (answer) => answer.status,
      () => "refused",
    );
    expect(plain).not.toBe(200);
  });

  it("is what the CLI talks to when it trusts the certificate (NODE_EXTRA_CA_CERTS), and it refuses the daemon when it does not", async () => {
    const env = {
      PATH: process.env.PATH,
      HOME: "/nonexistent",
      KEYLEDGER_URL: daemon.url,
      KEYLEDGER_API_KEY: await daemon.adminKey(),
    };
    const trusted = await runCli(["whoami"], { env: { ...env, NODE_EXTRA_CA_CERTS: certificate.cert } });
    expect(trusted.code, trusted.stderr).toBe(0);
    expect(trusted.stdout).toContain("admin");
    const untrusted = await runCli(["whoami"], { env });
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/cannot reach keyledger at https:\/\/127\.0\.0\.1:\d+: [A-Z_]+/);
    expect(untrusted.stderr).not.toContain(env.KEYLEDGER_API_KEY);
  });
});

/** Starts a nats-server with `args` on a free port; answers its URL. */
async function startNatsWith(args: readonly string[]): Promise<{ url: string; server: ChildProcess }> {
  const port = await freePort();
  const storeDir = await tempDir("keyledger-nats-auth-");
  const server = spawn(findNatsServer()!, ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir, ...args], {
    stdio: "ignore",
  });
  await waitUntil(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = connect(port, "127.0.0.1");
        socket.once("connect", () => (socket.destroy(), resolve(true)));
        socket.once("error", () => resolve(false));
      }),
    10_000,
    50,
  );
  return { url: `nats://127.0.0.1:${port}`, server };
}

/** A CA and a server certificate it signed, for 127.0.0.1. */
async function certificateAuthority(): Promise<{ ca: string; cert: string; key: string }> {
  const dir = await tempDir("keyledger-nats-tls-");
  const file = (name: string) => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  const run = (args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  run(["req", "-x509", ...ec, "-days", "1", "-keyout", file("ca.key"), "-out", file("ca.pem"), "-subj", "/CN=keyledger test CA"]);
  run(["req", ...ec, "-keyout", file("server.key"), "-out", file("server.csr"), "-subj", "/CN=127.0.0.1"]);
  await writeFile(file("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  run([
    ...["x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial"],
    ...["-days", "1", "-out", file("server.pem"), "-extfile", file("san.ext")],
  ]);
  return { ca: file("ca.pem"), cert: file("server.pem"), key: file("server.key") };
}

describe("NATS with a token, and over TLS", () => {
  const servers: ChildProcess[] = [];
  const daemons: TestDaemon[] = [];

  afterAll(async () => {
    for (const daemon of daemons) await daemon.stop();
    for (const server of servers) server.kill("SIGKILL");
  });

  it("authenticates with KEYLEDGER_NATS_TOKEN", async () => {
    const { url, server } = await startNatsWith(["--auth", "nats-token-for-keyledger"]);
    servers.push(server);
    const daemon = await startTestDaemon(url, {}, { env: { KEYLEDGER_NATS_TOKEN: "nats-token-for-keyledger" } });
    daemons.push(daemon);
    expect((await fetch(`${daemon.url}/readyz`)).status).toBe(200);
  });

  it("connects over TLS to a server whose certificate --nats-tls-ca signed, and not without that CA", async () => {
    const tls = await certificateAuthority();
    const { url, server } = await startNatsWith(["--tls", "--tlscert", tls.cert, "--tlskey", tls.key]);
    servers.push(server);
    const daemon = await startTestDaemon(url, { "nats-tls-ca": tls.ca });
    daemons.push(daemon);
    expect((await fetch(`${daemon.url}/readyz`)).status).toBe(200);
    const admin = client(daemon.url, await daemon.adminKey());
    expect((await admin.post("/v1/service-accounts", { name: "over-tls" })).status).toBe(201);
    // Without the CA the server's certificate is not trusted: the daemon does not start.
    const refused = await startTestDaemon(url, {}).then(
      (started) => {
        daemons.push(started);
        return "started";
      },
      () => "refused",
    );
    expect(refused).toBe("refused");
  });
});

describe("NATS with user and password", () => {
  let server: ChildProcess;
  let url: string;
  const daemons: TestDaemon[] = [];

  beforeAll(async () => {
    ({ url, server } = await startNatsWith(["--user", "keyledger", "--pass", "s3cret-nats-pass"]));
  });

  afterAll(async () => {
    for (const daemon of daemons) await daemon.stop();
    server?.kill("SIGKILL");
  });

  it("starts and serves with the user and the password from KEYLEDGER_NATS_PASSWORD", async () => {
    const daemon = await startTestDaemon(
      url,
      { "nats-user": "keyledger" },
      { env: { KEYLEDGER_NATS_PASSWORD: "s3cret-nats-pass" } },
    );
    daemons.push(daemon);
    const answer = await fetch(`${daemon.url}/readyz`);
    expect(answer.status).toBe(200);
    const admin = client(daemon.url, await daemon.adminKey());
    expect((await admin.post("/v1/service-accounts", { name: "over-authenticated-nats" })).status).toBe(201);
  });

  it("refuses to start with a wrong password, saying why and without the password", async () => {
    const failure = await startTestDaemon(
      url,
      { "nats-user": "keyledger" },
      { env: { KEYLEDGER_NATS_PASSWORD: "wrong-pass" } },
    ).then(
      (daemon) => {
        daemons.push(daemon);
        return null;
      },
      (error: unknown) => error as Error,
    );
    expect(failure).toBeInstanceOf(Error);
    expect(String(failure!.message)).toMatch(/authorization/i);
    expect(String(failure!.message)).not.toContain("wrong-pass");
  });
});
