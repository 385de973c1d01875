import { execFile, spawn } from "node:child_process";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { client, waitUntil } from "../../helpers/http.js";
import { startTestNats, tempDir, type TestNats } from "../../helpers/nats.js";
import { startTcpProxy, type TcpProxy } from "../../helpers/tcp-proxy.js";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "../../..");
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
const npm = (args: string[], cwd: string) =>
  run("npm", [...args, "--prefer-offline", "--no-audit", "--no-fund"], { cwd, timeout: 180_000 });

// What a new user writes: strict TypeScript against the package's own declarations.
const CHECK = `
import { createTokenVerifier, createVerifier, KeyledgerApiError, type VerifyResult } from "@keyledger/client";
import { KeyledgerClient } from "@keyledger/client/http";

const env = process.env;
const verifier = createVerifier({ url: env.KEYLEDGER_URL!, apiKey: env.KEYLEDGER_API_KEY! });
await verifier.ready();
const valid: VerifyResult = await verifier.verify(env.VALID_KEY!);
const refused: VerifyResult = await verifier.verify(env.VALID_KEY!.slice(0, -2) + "xx");
const tokens = createTokenVerifier({ url: env.KEYLEDGER_URL! });
const token = await tokens.verify(env.ACCESS_TOKEN!);
const forged = await tokens.verify(env.ACCESS_TOKEN!.slice(0, -4) + "AAAA");
let denied = "";
try {
  await new KeyledgerClient({ url: env.KEYLEDGER_URL!, credential: env.VALID_KEY! }).createServiceAccount({ name: "not-allowed" });
} catch (error) {
  if (error instanceof KeyledgerApiError) denied = error.code;
}
console.log(JSON.stringify({ valid, refused, token: token.valid ? token.claims.sub : token.code, forged: forged.valid ? "valid" : forged.code, denied }));
await verifier.close();
`;

// A service following the revocation feed: verifies the keys named on its stdin, one per line.
const FEED = `
import { createInterface } from "node:readline";
import { createVerifier } from "@keyledger/client";

const verifier = createVerifier({
  url: process.env.KEYLEDGER_URL!,
  apiKey: process.env.KEYLEDGER_API_KEY!,
  natsUrl: process.env.NATS_URL!,
  onRevocation: (event) => console.log(JSON.stringify({ revoked: event.keyId ?? event.accountId })),
});
await verifier.ready();
console.log(JSON.stringify({ ready: true }));
for await (const line of createInterface({ input: process.stdin })) {
  if (line === "status") console.log(JSON.stringify({ status: verifier.status() }));
  else console.log(JSON.stringify({ key: line.slice(-6), answer: await verifier.verify(line) }));
}
await verifier.close();
`;

let nats: TestNats;
let daemon: TestDaemon;
let project: string;
let installed: { packages: string[]; bytes: number; scripts: string[] };

async function sizeOf(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await readdir(path)) total += await sizeOf(join(path, entry));
  return total;
}

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url);
  const packed = await tempDir("keyledger-sdk-pack-");
  await run(process.execPath, [TSC, "-p", join(ROOT, "packages", "client")]);
  await run("npm", ["pack", "--ignore-scripts", "-w", "@keyledger/client", "--pack-destination", packed], { cwd: ROOT });
  project = await tempDir("keyledger-sdk-consumer-");
  await writeFile(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  await npm(["install", join(packed, "keyledger-client-0.1.0.tgz")], project);
  const modules = join(project, "node_modules");
  const packages: string[] = [];
  const scripts: string[] = [];
  for (const entry of await readdir(modules)) {
    if (entry.startsWith(".")) continue;
    const names = entry.startsWith("@") ? (await readdir(join(modules, entry))).map((name) => `${entry}/${name}`) : [entry];
    for (const name of names) {
      packages.push(name);
      const manifest = JSON.parse(await readFile(join(modules, name, "package.json"), "utf8"));
      for (const hook of ["preinstall", "install", "postinstall"]) if (manifest.scripts?.[hook]) scripts.push(`${name}: ${hook}`);
    }
  }
  installed = { packages: packages.sort(), bytes: await sizeOf(modules), scripts };
}, 240_000);

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

describe("the SDK as its own package, installed from its tarball into an empty project", () => {
  it("adds at most 5 packages and 2 MB, and runs no install script", () => {
    expect(installed.packages).toEqual(["@keyledger/client", "tweetnacl"]);
    expect(installed.packages.length).toBeLessThanOrEqual(5);
    expect(installed.bytes).toBeLessThan(2 * 1024 * 1024);
    expect(installed.scripts).toEqual([]);
  });

  it("compiles under strict TypeScript (NodeNext, its declarations checked, no NATS package), and verifies keys and tokens against a daemon", async () => {
    await npm(["install", "@types/node@20"], project);
    await mkdir(join(project, "src"), { recursive: true });
    await writeFile(join(project, "src", "check.ts"), CHECK);
    await writeFile(join(project, "src", "feed.ts"), FEED);
    await writeFile(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: "NodeNext",
          moduleResolution: "NodeNext",
          target: "ES2022",
          outDir: "out",
          skipLibCheck: false,
          types: ["node"],
        },
        include: ["src"],
      }),
    );
    await run(process.execPath, [TSC, "-p", project]);

    const admin = client(daemon.url, await daemon.adminKey());
    const verifierKey = (await admin.post("/v1/service-accounts", { name: "sdk-verifier", roles: ["verifier"] })).body.apiKey.key;
    const worker = (await admin.post("/v1/service-accounts", { name: "sdk-worker", roles: ["auditor"] })).body.apiKey.key;
    const token = (await client(daemon.url, worker).post("/v1/auth/token")).body.accessToken;
    const { stdout } = await run(process.execPath, [join(project, "out", "check.js")], {
      env: { KEYLEDGER_URL: daemon.url, KEYLEDGER_API_KEY: verifierKey, VALID_KEY: worker, ACCESS_TOKEN: token },
    });
    const result = JSON.parse(stdout);
    expect(result.valid).toMatchObject({ valid: true, serviceAccount: { name: "sdk-worker" } });
    expect(result.refused).toMatchObject({ valid: false });
    expect(result.token).toMatch(/^sa_/);
    expect(result.forged).toBe("bad_signature");
    expect(result.denied).toBe("forbidden");
    // The same on the other supported Node versions (the npm registry's node@22 and node@24 packages ship the binary).
    for (const major of [22, 24]) {
      // --prefer-offline: under `npm run test:node24` (itself in npx) a fresh lookup waited minutes.
      const other = await run(
        "npx",
        ["-y", "--prefer-offline", "-p", `node@${major}`, "--", "node", join(project, "out", "check.js")],
        {
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            KEYLEDGER_URL: daemon.url,
            KEYLEDGER_API_KEY: verifierKey,
            VALID_KEY: worker,
            ACCESS_TOKEN: token,
          },
          timeout: 120_000,
        },
      );
      expect(JSON.parse(other.stdout), `Node ${major}`).toEqual(result);
    }
  }, 240_000);

  it("with the NATS packages added: a revocation reaches the verifier through the feed, also one it missed while offline", async () => {
    await npm(["install", "@nats-io/jetstream@3.4.0", "@nats-io/transport-node@3.4.0"], project);
    const admin = client(daemon.url, await daemon.adminKey());
    const verifierKey = (await admin.post("/v1/service-accounts", { name: "sdk-feed", roles: ["verifier"] })).body.apiKey.key;
    const live = await admin.post("/v1/service-accounts", { name: "sdk-live", roles: ["auditor"] });
    const away = await admin.post("/v1/service-accounts", { name: "sdk-away", roles: ["auditor"] });
    const proxy: TcpProxy = await startTcpProxy(nats.url);
    const child = spawn(process.execPath, [join(project, "out", "feed.js")], {
      env: { KEYLEDGER_URL: daemon.url, KEYLEDGER_API_KEY: verifierKey, NATS_URL: proxy.url },
      stdio: ["pipe", "pipe", "inherit"],
    });
    const lines: Array<Record<string, any>> = [];
    createInterface({ input: child.stdout }).on("line", (line) => lines.push(JSON.parse(line)));
    const ask = async (line: string, pick: (entry: Record<string, any>) => boolean) => {
      const from = lines.length;
      child.stdin.write(`${line}\n`);
      await waitUntil(() => lines.slice(from).some(pick), 10_000, 10);
      return lines.slice(from).find(pick)!;
    };
    try {
      await waitUntil(() => lines.some((entry) => entry.ready === true), 20_000, 20);
      expect((await ask(live.body.apiKey.key, (entry) => entry.answer !== undefined)).answer.valid).toBe(true);
      expect((await ask(away.body.apiKey.key, (entry) => entry.answer !== undefined)).answer.valid).toBe(true);

      expect((await admin.patch("/v1/service-accounts/sdk-live/api-keys/default", { active: false })).status).toBe(200);
      await waitUntil(() => lines.some((entry) => entry.revoked === live.body.apiKey.id), 10_000, 10);
      expect((await ask(live.body.apiKey.key, (entry) => entry.answer !== undefined)).answer).toEqual({
        valid: false,
        code: "inactive_key",
      });

      await proxy.cut();
      await waitUntil(
        async () => (await ask("status", (entry) => entry.status !== undefined)).status.feed === "connecting",
        10_000,
        50,
      );
      expect((await admin.patch("/v1/service-accounts/sdk-away/api-keys/default", { active: false })).status).toBe(200);
      await proxy.restore();
      await waitUntil(() => lines.some((entry) => entry.revoked === away.body.apiKey.id), 15_000, 20);
      expect((await ask(away.body.apiKey.key, (entry) => entry.answer !== undefined)).answer).toEqual({
        valid: false,
        code: "inactive_key",
      });
    } finally {
      child.kill("SIGTERM");
      await proxy.stop();
    }
  });
});
