import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyledgerClient } from "../../../src/client/index.js";
import { runCli } from "../../helpers/cli.js";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { client, type Client } from "../../helpers/http.js";
import { startTestNats, tempDir, type TestNats } from "../../helpers/nats.js";

let nats: TestNats;
let daemon: TestDaemon;
let admin: Client;
let adminKey: string;
/** Points of a scripted history (stream sequences), and the accounts it made. */
let start: number;
let middle: number;
let end: number;
const ids: Record<string, string> = {};

const head = (): Promise<number> => daemon.store.head();

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url);
  adminKey = await daemon.adminKey();
  admin = client(daemon.url, adminKey);

  start = await head();
  for (const name of ["alpha", "beta"]) ids[name] = (await admin.post("/v1/service-accounts", { name })).body.serviceAccount.id;
  middle = await head();
  await admin.patch("/v1/service-accounts/alpha", { description: "payments" });
  await admin.post("/v1/service-accounts/alpha/api-keys/default/rotate", {});
  await admin.post("/v1/service-accounts/beta/api-keys", { name: "temp" });
  await admin.delete("/v1/service-accounts/beta/api-keys/temp");
  ids.gamma = (await admin.post("/v1/service-accounts", { name: "gamma" })).body.serviceAccount.id;
  await admin.delete("/v1/service-accounts/gamma");
  end = await head();
}, 60_000);

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

type Diff = {
  from: { seq: number };
  to: { seq: number };
  events: number;
  nextCursor: string | null;
  accounts: Array<{
    id: string;
    name: string;
    change: string;
    before: { description: string } | null;
    after: { description: string } | null;
    keys: Array<{
      name: string;
      change: string;
      before: { lastRotatedAt: string | null } | null;
      after: { lastRotatedAt: string | null } | null;
    }>;
  }>;
};

const diff = async (from: number | string, to: number | string, extra = ""): Promise<Diff> => {
  const answer = await admin.get(`/v1/audit/diff?from=${from}&to=${to}${extra}`);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as Diff;
};

/** Events applied after one sequence up to another, counted from the stream's own history. */
async function eventsBetween(from: number, to: number): Promise<number> {
  const all = (await admin.get(`/v1/events?after=${from}&limit=1000`)).body.items as Array<{ seq: number }>;
  return all.filter((event) => event.seq <= to).length;
}

describe("GET /v1/audit/diff", () => {
  it("lists what was created between two points, with the state after", async () => {
    const created = await diff(start, middle);
    expect(created.from.seq).toBe(start);
    expect(created.to.seq).toBe(middle);
    expect(created.accounts.map((account) => [account.name, account.change])).toEqual([
      ["alpha", "created"],
      ["beta", "created"],
    ]);
    expect(created.accounts[0]!.before).toBeNull();
    expect(created.accounts[0]!.keys.map((key) => [key.name, key.change])).toEqual([["default", "created"]]);
    expect(created.events).toBe(await eventsBetween(start, middle));
  });

  it("lists what changed, with before and after, keys that came and went, and an account that came and went", async () => {
    const changed = await diff(middle, end);
    const byName = Object.fromEntries(changed.accounts.map((account) => [account.name, account]));
    expect(Object.keys(byName).sort()).toEqual(["alpha", "beta", "gamma"]);
    expect(byName.alpha).toMatchObject({ change: "changed", before: { description: "" }, after: { description: "payments" } });
    expect(byName.alpha!.keys).toHaveLength(1);
    expect(byName.alpha!.keys[0]).toMatchObject({ name: "default", change: "changed", before: { lastRotatedAt: null } });
    expect(byName.alpha!.keys[0]!.after!.lastRotatedAt).toEqual(expect.any(String));
    expect(byName.beta!.keys).toEqual([expect.objectContaining({ name: "temp", change: "deleted", before: null, after: null })]);
    expect(byName.gamma).toMatchObject({ id: ids.gamma, change: "deleted", before: null, after: null });
    expect(changed.events).toBe(await eventsBetween(middle, end));
  });

  it("is empty between two equal points, and takes times as well as sequences", async () => {
    expect(await diff(end, end)).toMatchObject({ accounts: [], events: 0, nextCursor: null });
    const now = encodeURIComponent(new Date().toISOString());
    const byTime = await diff(middle, now);
    expect(byTime.to.seq).toBeGreaterThanOrEqual(end);
    expect(byTime.accounts.map((account) => account.name).sort()).toEqual(["alpha", "beta", "gamma"]);
  });

  it("runs up to the head when `to` is left out, in the API and in `keyledger audit diff`", async () => {
    const answer = await admin.get(`/v1/audit/diff?from=${middle}`);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.to.seq).toBe(await head());
    expect(answer.body.accounts.map((account: { name: string }) => account.name).sort()).toEqual(["alpha", "beta", "gamma"]);
    const env = { PATH: process.env.PATH, HOME: await tempDir(), KEYLEDGER_URL: daemon.url, KEYLEDGER_API_KEY: adminKey };
    const cli = await runCli(["audit", "diff", "--from", String(middle), "-o", "json"], { env });
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout).to.seq).toBe(await head());
  });

  it("pages through the accounts in the order of their first change, none twice, none lost", async () => {
    const whole = await diff(start, end);
    const paged: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Diff = await diff(start, end, `&limit=1${cursor === null ? "" : `&cursor=${cursor}`}`);
      expect(page.accounts.length).toBeLessThanOrEqual(1);
      expect(page.events).toBe(whole.events);
      paged.push(...page.accounts.map((account) => account.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 10);
    expect(paged).toEqual(whole.accounts.map((account) => account.id));
    expect(paged).toEqual([ids.alpha, ids.beta, ids.gamma]);
  });

  it("refuses points out of order, and a cursor it did not give, with a 400 naming the field", async () => {
    const backwards = await admin.get(`/v1/audit/diff?from=${end}&to=${start}`);
    expect(backwards.status).toBe(400);
    expect(backwards.body.error.message).toContain("from");
    const badCursor = await admin.get(`/v1/audit/diff?from=${start}&to=${end}&cursor=bm90LWEtY3Vyc29y`);
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.error.message).toContain("cursor");
    const missing = await admin.get(`/v1/audit/diff?to=${end}`);
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toContain("from");
    const future = await admin.get(`/v1/audit/diff?from=0&to=${end + 1000}`);
    expect(future.status).toBe(400);
    expect(future.body.error.message).toContain("to");
  });

  it("is what `keyledger audit diff` prints, as a table and as JSON", async () => {
    const env = { PATH: process.env.PATH, HOME: await tempDir(), KEYLEDGER_URL: daemon.url, KEYLEDGER_API_KEY: adminKey };
    const json = await runCli(["audit", "diff", "--from", String(middle), "--to", String(end), "-o", "json"], { env });
    expect(json.code, json.stderr).toBe(0);
    const printed = JSON.parse(json.stdout) as Diff;
    const answered = await diff(middle, end);
    expect(printed.accounts).toEqual(answered.accounts);
    expect(printed.events).toBe(answered.events);
    const text = await runCli(["audit", "diff", "--from", String(middle), "--to", String(end)], { env });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/From seq \d+ \(.+\) to seq \d+ \(.+\): \d+ events, 3 service accounts changed\./);
    expect(text.stdout).toMatch(/alpha\s+│?\s*-\s+│?\s*changed\s+│?\s*description: - → payments/);
    expect(text.stdout).toMatch(/alpha\s+│?\s*default\s+│?\s*changed/);
    const bad = await runCli(["audit", "diff", "--from", "yesterday", "--to", "1"], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--from");
  });
});

describe("GET /v1/audit/state, a page at a time", () => {
  it("pages like the account list: the pages together are the whole state, in id order", async () => {
    for (let i = 0; i < 5; i += 1) await admin.post("/v1/service-accounts", { name: `paged-${i}` });
    const at = await head();
    const whole = await admin.get(`/v1/audit/state?asOf=${at}&limit=500`);
    expect(whole.body.nextCursor).toBeNull();
    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { serviceAccounts: Array<{ name: string }>; nextCursor: string | null } } =
        await admin.get(`/v1/audit/state?asOf=${at}&limit=2${cursor === null ? "" : `&cursor=${cursor}`}`);
      expect(page.status).toBe(200);
      expect(page.body.serviceAccounts.length).toBeLessThanOrEqual(2);
      names.push(...page.body.serviceAccounts.map((account) => account.name));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(names).toEqual(whole.body.serviceAccounts.map((account: { name: string }) => account.name));
    expect(names.length).toBeGreaterThanOrEqual(8);
    // Deleted accounts are not in the state; the default page is 50.
    expect(names).not.toContain("gamma");
    expect((await admin.get(`/v1/audit/state?asOf=${at}`)).body.serviceAccounts.length).toBe(names.length);
  });

  it("refuses a limit out of range and a cursor it did not give", async () => {
    for (const query of ["limit=0", "limit=501", "cursor=bm9wZQ"]) {
      const answer = await admin.get(`/v1/audit/state?asOf=${end}&${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error.message).toContain(query.split("=")[0]);
    }
  });

  it("is followed to the end by the SDK and the CLI", async () => {
    const sdk = new KeyledgerClient({ url: daemon.url, credential: adminKey });
    const pages: number[] = [];
    const state = await sdk.auditState(end, { limit: 2, onPage: (accounts) => pages.push(accounts) });
    const whole = (await admin.get(`/v1/audit/state?asOf=${end}&limit=500`)).body;
    expect(state).toEqual({ asOf: whole.asOf, serviceAccounts: whole.serviceAccounts });
    expect(pages.length).toBeGreaterThan(1);
    const env = { PATH: process.env.PATH, HOME: await tempDir(), KEYLEDGER_URL: daemon.url, KEYLEDGER_API_KEY: adminKey };
    const printed = await runCli(["audit", "state", "--as-of", String(end), "-o", "json"], { env });
    expect(printed.code, printed.stderr).toBe(0);
    expect(JSON.parse(printed.stdout)).toEqual({ asOf: whole.asOf, serviceAccounts: whole.serviceAccounts });
  });
});
