import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../helpers/cli.js";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { client, sleep, type Client } from "../../helpers/http.js";
import { startTestNats, tempDir, type TestNats } from "../../helpers/nats.js";

let nats: TestNats;
let daemon: TestDaemon;
let admin: Client;
let adminKey: string;

beforeAll(async () => {
  nats = await startTestNats();
  // A name given up by a rename is free once its claim's grace has passed (60 s by default).
  daemon = await startTestDaemon(nats.url, { "name-claim-grace-ms": "1000" });
  adminKey = await daemon.adminKey();
  admin = client(daemon.url, adminKey);
});

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

const head = async (): Promise<number> => daemon.store.head();
const cli = async (...args: string[]) =>
  runCli(args, {
    env: { PATH: process.env.PATH, HOME: await tempDir(), KEYLEDGER_URL: daemon.url, KEYLEDGER_API_KEY: adminKey },
  });

describe("a name in an as-of question is the account that bore it at that instant", () => {
  it("finds an account by the name it had, after it was deleted (the README's step 8 after step 7)", async () => {
    const created = await admin.post("/v1/service-accounts", { name: "ci-runner", roles: ["verifier"] });
    expect(created.status).toBe(201);
    const id: string = created.body.serviceAccount.id;
    expect((await admin.post("/v1/service-accounts/ci-runner/api-keys", { name: "deploy" })).status).toBe(201);
    const whileItExisted = await head();
    expect((await admin.delete("/v1/service-accounts/ci-runner/api-keys/deploy")).status).toBe(204);
    expect((await admin.delete("/v1/service-accounts/ci-runner")).status).toBe(204);

    const then = await admin.get(`/v1/service-accounts/ci-runner?asOf=${whileItExisted}`);
    expect(then.status).toBe(200);
    expect(then.body).toMatchObject({ id, name: "ci-runner", asOf: { seq: whileItExisted } });
    expect(then.body.apiKeys.map((key: { name: string }) => key.name).sort()).toEqual(["default", "deploy"]);
    const keys = await admin.get(`/v1/service-accounts/ci-runner/api-keys?asOf=${whileItExisted}`);
    expect(keys.body.items.map((key: { name: string }) => key.name).sort()).toEqual(["default", "deploy"]);
    expect((await admin.get(`/v1/service-accounts/ci-runner/api-keys/deploy?asOf=${whileItExisted}`)).body.status).toBe("active");
    // Now nobody bears it.
    expect((await admin.get(`/v1/service-accounts/ci-runner?asOf=${await head()}`)).status).toBe(404);
    expect((await admin.get("/v1/service-accounts/ci-runner")).status).toBe(404);

    const described = await cli("service-account", "describe", "ci-runner", "--as-of", String(whileItExisted), "-o", "json");
    expect(described.code, described.stderr).toBe(0);
    expect(JSON.parse(described.stdout)).toMatchObject({ id, name: "ci-runner" });
  });

  it("follows a rename, and a name taken over by another account, to whoever bore it then", async () => {
    const first = (await admin.post("/v1/service-accounts", { name: "builder" })).body.serviceAccount.id as string;
    const asBuilder = await head();
    expect((await admin.patch("/v1/service-accounts/builder", { name: "builder-old" })).status).toBe(200);
    const afterRename = await head();
    await sleep(1100);
    const second = (await admin.post("/v1/service-accounts", { name: "builder" })).body.serviceAccount.id as string;
    const taken = await head();

    const bore = async (name: string, seq: number) => {
      const answer = await admin.get(`/v1/service-accounts/${name}?asOf=${seq}`);
      return answer.status === 200 ? (answer.body.id as string) : answer.status;
    };
    expect(await bore("builder", asBuilder)).toBe(first);
    expect(await bore("builder", afterRename)).toBe(404);
    expect(await bore("builder-old", afterRename)).toBe(first);
    expect(await bore("builder-old", asBuilder)).toBe(404);
    expect(await bore("builder", taken)).toBe(second);
    // The name as it was then, with the rest of the account as it was then.
    expect((await admin.get(`/v1/service-accounts/builder?asOf=${asBuilder}`)).body.name).toBe("builder");
  });
});

describe("a name in an events filter", () => {
  it("is the account that bears it now, else the one that bore it last", async () => {
    const gone = (await admin.post("/v1/service-accounts", { name: "ephemeral" })).body.serviceAccount.id as string;
    expect((await admin.delete("/v1/service-accounts/ephemeral")).status).toBe(204);
    const ofGone = await admin.get("/v1/events?account=ephemeral");
    expect(ofGone.status).toBe(200);
    expect(ofGone.body.items.every((event: { accountId: string }) => event.accountId === gone)).toBe(true);
    expect(ofGone.body.items.at(-1).type).toBe("ServiceAccountDeleted");

    const successor = (await admin.post("/v1/service-accounts", { name: "ephemeral" })).body.serviceAccount.id as string;
    const ofSuccessor = await admin.get("/v1/events?account=ephemeral");
    expect(ofSuccessor.body.items.map((event: { accountId: string }) => event.accountId)).toEqual([successor, successor]);

    const viaCli = await cli("events", "--account", "ephemeral", "-o", "json");
    expect(viaCli.code, viaCli.stderr).toBe(0);
    expect(
      viaCli.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line).accountId),
    ).toEqual([successor, successor]);
  });
});
