import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { client, sleep, type Client } from "../helpers/http.js";
import { startTestNats, type TestNats } from "../helpers/nats.js";

let nats: TestNats;
let daemon: TestDaemon;
let admin: Client;

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url);
  admin = client(daemon.url, await daemon.adminKey());
});

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

const verify = async (key: string) => (await admin.post("/v1/auth/verify", { key })).body;

describe("the service-account lifecycle over HTTP", () => {
  it("walks create, list, describe, update, keys, rotation, deactivation and deletion", async () => {
    const whoami = await admin.get("/v1/auth/whoami");
    expect(whoami.status).toBe(200);
    expect(whoami.body.serviceAccount.name).toBe("admin");
    expect(whoami.body.serviceAccount.roles).toEqual(["admin"]);

    // create, with its default key
    const created = await admin.post("/v1/service-accounts", { name: "ci-runner", description: "CI jobs", roles: ["verifier"] });
    expect(created.status).toBe(201);
    const account = created.body.serviceAccount;
    expect(account).toMatchObject({ name: "ci-runner", description: "CI jobs", active: true, roles: ["verifier"] });
    expect(account.id).toMatch(/^sa_/);
    expect(created.body.apiKey.name).toBe("default");
    const defaultKey: string = created.body.apiKey.key;
    expect(defaultKey).toMatch(/^kl_[0-9A-Z]{26}_[A-Za-z0-9_-]{43}$/);

    // list and describe
    const list = await admin.get("/v1/service-accounts?name=ci-");
    expect(list.status).toBe(200);
    expect(list.body.items.map((item: { name: string }) => item.name)).toEqual(["ci-runner"]);
    const described = await admin.get("/v1/service-accounts/ci-runner");
    expect(described.status).toBe(200);
    expect(described.body.id).toBe(account.id);
    expect(described.body.apiKeys).toHaveLength(1);
    expect(described.body.apiKeys[0].key).toBeUndefined();
    expect((await admin.get(`/v1/service-accounts/${account.id}`)).body.name).toBe("ci-runner");

    // update
    const updated = await admin.patch("/v1/service-accounts/ci-runner", { description: "CI jobs of team A" });
    expect(updated.status).toBe(200);
    expect(updated.body.description).toBe("CI jobs of team A");
    expect(updated.body.version).toBeGreaterThan(account.version);

    // a second key; both verify
    const second = await admin.post("/v1/service-accounts/ci-runner/api-keys", { name: "deploy" });
    expect(second.status).toBe(201);
    const deployKey: string = second.body.key;
    expect((await admin.get("/v1/service-accounts/ci-runner/api-keys/deploy")).body.lastUsedAt).toBeNull();
    expect(await verify(defaultKey)).toMatchObject({ valid: true, credential: "current", apiKey: { name: "default" } });
    expect(await verify(deployKey)).toMatchObject({ valid: true, credential: "current", apiKey: { name: "deploy" } });
    const used = (await admin.get("/v1/service-accounts/ci-runner/api-keys/deploy")).body.lastUsedAt;
    expect(Date.now() - Date.parse(used)).toBeLessThan(60_000);

    // rotate with a retention of 3 seconds
    const rotated = await admin.post("/v1/service-accounts/ci-runner/api-keys/deploy/rotate", { retainSeconds: 3 });
    expect(rotated.status).toBe(200);
    const newDeployKey: string = rotated.body.key;
    expect(newDeployKey).not.toBe(deployKey);
    const retainedUntil = Date.parse(rotated.body.retainedUntil);
    expect(retainedUntil).toBeGreaterThan(Date.now());
    expect(await verify(newDeployKey)).toMatchObject({ valid: true, credential: "current" });
    expect(await verify(deployKey)).toMatchObject({ valid: true, credential: "retained" });
    await sleep(Math.max(0, retainedUntil - Date.now()) + 50);
    expect(await verify(deployKey)).toEqual({ valid: false, code: "retention_expired" });
    expect(await verify(newDeployKey)).toMatchObject({ valid: true, credential: "current" });

    // rotate with 0: the old secret is refused at once
    const rotatedAgain = await admin.post("/v1/service-accounts/ci-runner/api-keys/deploy/rotate", { retainSeconds: 0 });
    expect(rotatedAgain.status).toBe(200);
    expect(rotatedAgain.body.retainedUntil).toBeNull();
    expect((await verify(newDeployKey)).valid).toBe(false);
    const latestDeployKey: string = rotatedAgain.body.key;
    expect((await verify(latestDeployKey)).valid).toBe(true);

    // deactivate a key: refused on the very next request; reactivate
    const deactivated = await admin.patch("/v1/service-accounts/ci-runner/api-keys/deploy", { active: false });
    expect(deactivated.status).toBe(200);
    expect(deactivated.body.active).toBe(false);
    expect(await verify(latestDeployKey)).toEqual({ valid: false, code: "inactive_key" });
    expect((await client(daemon.url, latestDeployKey).get("/v1/auth/whoami")).status).toBe(401);
    const reactivated = await admin.patch("/v1/service-accounts/ci-runner/api-keys/deploy", { active: true });
    expect(reactivated.body.active).toBe(true);
    expect(await verify(latestDeployKey)).toMatchObject({ valid: true });

    // deactivate the account: all its keys are refused
    expect((await admin.patch("/v1/service-accounts/ci-runner", { active: false })).body.active).toBe(false);
    expect(await verify(defaultKey)).toEqual({ valid: false, code: "inactive_account" });
    expect(await verify(latestDeployKey)).toEqual({ valid: false, code: "inactive_account" });
    expect((await admin.patch("/v1/service-accounts/ci-runner", { active: true })).body.active).toBe(true);
    expect((await verify(defaultKey)).valid).toBe(true);

    // delete: 404 afterwards, keys refused, name free for reuse
    expect((await admin.delete("/v1/service-accounts/ci-runner")).status).toBe(204);
    expect((await admin.get("/v1/service-accounts/ci-runner")).status).toBe(404);
    expect((await admin.get(`/v1/service-accounts/${account.id}`)).status).toBe(404);
    expect(await verify(defaultKey)).toEqual({ valid: false, code: "deleted" });
    const reused = await admin.post("/v1/service-accounts", { name: "ci-runner" });
    expect(reused.status).toBe(201);
    expect(reused.body.serviceAccount.id).not.toBe(account.id);
  });

  it("issues EdDSA access tokens that stop working when their key is deactivated", async () => {
    const created = await admin.post("/v1/service-accounts", { name: "token-user" });
    const key: string = created.body.apiKey.key;
    const token = await client(daemon.url, key).post("/v1/auth/token");
    expect(token.status).toBe(200);
    expect(token.body.tokenType).toBe("Bearer");
    const bearer = client(daemon.url, token.body.accessToken);
    const who = await bearer.get("/v1/auth/whoami");
    expect(who.status).toBe(200);
    expect(who.body).toMatchObject({ serviceAccount: { name: "token-user" }, credential: "token" });
    await admin.patch("/v1/service-accounts/token-user/api-keys/default", { active: false });
    expect((await bearer.get("/v1/auth/whoami")).status).toBe(401);
  });
});

describe("listing service accounts", () => {
  it("pages through every account exactly once with the cursor, and filters by name and active", async () => {
    const names = Array.from({ length: 7 }, (_, i) => `page-${i}`);
    for (const name of names) expect((await admin.post("/v1/service-accounts", { name, createApiKey: false })).status).toBe(201);
    await admin.patch("/v1/service-accounts/page-3", { active: false });
    await admin.delete("/v1/service-accounts/page-5");

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `/v1/service-accounts?name=PAGE-&limit=2${cursor === null ? "" : `&cursor=${cursor}`}`;
      const page = await admin.get(query);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((item: { name: string }) => item.name));
      cursor = page.body.nextCursor;
      pages += 1;
    } while (cursor !== null);
    expect(seen).toEqual(names.filter((name) => name !== "page-5"));
    expect(pages).toBe(3);

    const inactive = await admin.get("/v1/service-accounts?active=false&name=page");
    expect(inactive.body.items.map((item: { name: string }) => item.name)).toEqual(["page-3"]);
    const keys = await admin.get("/v1/service-accounts/page-0/api-keys");
    expect(keys.body.items).toEqual([]);
  });
});

describe("files in the data directory", () => {
  it("keeps admin.key and signing.key readable by the owner only", async () => {
    const { stat } = await import("node:fs/promises");
    const { join } = await import("node:path");
    for (const file of ["admin.key", "signing.key"]) {
      expect((await stat(join(daemon.dataDir, file))).mode & 0o777, file).toBe(0o600);
    }
  });
});
