import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountSubject } from "../../../src/format/index.js";
import { connectNats } from "../../../src/nats/index.js";
import { accessibilityProblems, launchBrowser } from "../../helpers/browser.js";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { client } from "../../helpers/http.js";
import { startTcpProxy } from "../../helpers/tcp-proxy.js";
import { startTestNats, type TestNats } from "../../helpers/nats.js";

/** Screenshots of each page, kept as test artefacts (and the README's pictures). */
const SHOTS = join(import.meta.dirname, "../../../test-artefacts/console");

let nats: TestNats;
let daemon: TestDaemon;
let browser: BrowserContext;
let admin: ReturnType<typeof client>;
let adminKey: string;
let ciRunnerId: string;

const HOSTILE = `<img src=x onerror="window.__xss='img'"><script>window.__xss='script'</script>`;

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url, { "checkpoint-interval-ms": "200" });
  adminKey = await daemon.adminKey();
  admin = client(daemon.url, adminKey);
  const ciRunner = await admin.post("/v1/service-accounts", {
    name: "ci-runner",
    roles: ["verifier"],
    description: "runs the CI",
  });
  expect(ciRunner.status).toBe(201);
  ciRunnerId = ciRunner.body.serviceAccount.id;
  expect((await admin.post("/v1/service-accounts", { name: "hostile", roles: ["auditor"], description: HOSTILE })).status).toBe(
    201,
  );
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await daemon?.stop();
  await nats?.stop();
});

/** A fresh page that records what the browser refused or failed on. */
async function openConsole(): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  await page.goto(`${daemon.url}/console`);
  return { page, problems };
}

async function signIn(page: Page, key: string): Promise<void> {
  await page.getByLabel("API key of an admin or auditor account").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
}

async function newKey(name: string, roles: string[]): Promise<{ id: string; keyId: string; key: string }> {
  const created = await admin.post("/v1/service-accounts", { name, roles });
  return { id: created.body.serviceAccount.id, keyId: created.body.apiKey.id, key: created.body.apiKey.key };
}

describe("the web console in Chromium", () => {
  it("signs an admin in with a key it keeps nowhere, lists the accounts with hostile text shown as text, and signs out", async () => {
    const { page, problems } = await openConsole();
    await page.screenshot({ path: join(SHOTS, "sign-in.png") });
    expect(await accessibilityProblems(page), "the sign-in page").toEqual([]);
    await signIn(page, adminKey);
    await page.getByRole("heading", { name: "Service accounts" }).waitFor();
    await page.locator('tr[data-account="hostile"]').waitFor();
    await page.locator('tr[data-account="ci-runner"] td.keys', { hasText: "1" }).waitFor();
    expect(await page.locator('tr[data-account="ci-runner"]').innerText()).toMatch(
      /ci-runner\s+active\s+verifier\s+1\s+never\s+runs the CI/,
    );
    // The admin's own key was used to sign in: its last use shows.
    expect(await page.locator('tr[data-account="admin"] td.last-use').innerText()).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await page.locator('tr[data-account="hostile"] td.description').innerText()).toBe(HOSTILE);
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: string }).__xss)).toBeUndefined();
    expect(await page.getByRole("button", { name: "New account" }).count()).toBe(1);
    await page.getByLabel("Search").fill("ci-");
    expect(await page.locator("tbody tr").count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, "accounts.png") });
    expect(await accessibilityProblems(page), "the accounts page").toEqual([]);

    // The key is in no storage, no cookie, and not in the page.
    // (Evaluated in the page, where these are the browser's own.)
    const stored = (await page.evaluate(
      "({ local: JSON.stringify({ ...localStorage }), session: JSON.stringify({ ...sessionStorage }), cookie: document.cookie, html: document.documentElement.outerHTML })",
    )) as Record<string, string>;
    for (const place of Object.values(stored)) expect(place).not.toContain(adminKey);
    expect(await browser.cookies()).toEqual([]);

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByText("You signed out.").waitFor();
    expect(await page.getByRole("heading", { name: "Service accounts" }).count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it("creates an account as an admin and shows its key once, with a copy button and a warning; the key works", async () => {
    const { page, problems } = await openConsole();
    await browser.grantPermissions(["clipboard-read", "clipboard-write"], { origin: daemon.url });
    await signIn(page, adminKey);
    await page.getByRole("button", { name: "New account" }).click();
    await page.getByLabel("Name").fill("made-in-console");
    await page.getByLabel("verifier").check();
    await page.getByLabel("Description").fill("made by the browser test");
    expect(await accessibilityProblems(page), "the new account form").toEqual([]);
    await page.getByRole("button", { name: "Create" }).click();
    await page.getByText("it is shown this once and cannot be shown again").waitFor();
    await page.screenshot({ path: join(SHOTS, "account-created.png") });
    expect(await accessibilityProblems(page), "the new key's panel").toEqual([]);
    const shown = await page.getByLabel(/^API key of made-in-console/).inputValue();
    await page.getByRole("button", { name: "Copy" }).click();
    await page.getByRole("button", { name: "Copied" }).waitFor();
    expect(await page.evaluate("navigator.clipboard.readText()")).toBe(shown);
    const who = await client(daemon.url, shown).get("/v1/auth/whoami");
    expect(who.status).toBe(200);
    expect(who.body.serviceAccount).toMatchObject({ name: "made-in-console", roles: ["verifier"] });
    await page.getByRole("button", { name: "Done" }).click();
    await page.locator('tr[data-account="made-in-console"]').waitFor();
    // Once done, the key is gone from the page.
    expect(await page.content()).not.toContain(shown);
    expect(problems).toEqual([]);
  });

  it("edits an account's name, roles and description, and stays on it after the rename", async () => {
    await newKey("to-edit", ["verifier"]);
    const { page, problems } = await openConsole();
    await signIn(page, adminKey);
    await page.getByRole("button", { name: "to-edit", exact: true }).click();
    await page.getByRole("button", { name: "Edit account" }).click();
    await page.getByLabel("Name", { exact: true }).fill("edited");
    await page.getByLabel("auditor").check();
    await page.getByLabel("Description", { exact: true }).fill("<b>not bold</b>");
    expect(await accessibilityProblems(page), "the edit form").toEqual([]);
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("heading", { name: "edited" }).waitFor();
    expect(await page.locator("dl.fields").innerText()).toMatch(/Roles\s+auditor, verifier\s+Description\s+<b>not bold<\/b>/);
    expect((await admin.get("/v1/service-accounts/edited")).body).toMatchObject({
      roles: ["auditor", "verifier"],
      description: "<b>not bold</b>",
    });
    // The timeline finds it by the name it bore before.
    const editedId = (await admin.get("/v1/service-accounts/edited")).body.id as string;
    await page.getByRole("button", { name: "Audit timeline" }).click();
    await page.getByLabel("Account (a name, also a past one, or an id)").fill("to-edit");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect
      .poll(async () => {
        const texts = await page.locator("li[data-seq]").allInnerTexts();
        return texts.length >= 2 && texts.every((text) => text.includes(editedId));
      })
      .toBe(true);
    expect(problems).toEqual([]);
  });

  it("manages an account's keys: create (shown once), rotate keeping the old secret, deactivate, delete with a confirmation that says what stops working", async () => {
    const owner = await newKey("console-keys", ["verifier"]);
    const { page, problems } = await openConsole();
    await browser.grantPermissions(["clipboard-read", "clipboard-write"], { origin: daemon.url });
    await signIn(page, adminKey);
    await page.getByRole("button", { name: "console-keys", exact: true }).click();
    await page.getByRole("heading", { name: "console-keys" }).waitFor();
    expect(await page.locator('tr[data-key="default"] td.status').innerText()).toBe("active");
    expect(await accessibilityProblems(page), "the account page").toEqual([]);

    await page.getByLabel("New key's name").fill("deploy");
    await page.getByRole("button", { name: "Create key" }).click();
    await page.getByText("it is shown this once and cannot be shown again").waitFor();
    const deployKey = await page.getByLabel(/^API key of console-keys/).inputValue();
    expect((await client(daemon.url, deployKey).get("/v1/auth/whoami")).status).toBe(200);
    await page.getByRole("button", { name: "Done" }).click();

    await page.getByLabel("Keep the old secret (minutes)").first().fill("5");
    await page.getByRole("button", { name: "Rotate default" }).click();
    await page.getByText("Key default rotated").waitFor();
    const rotated = await page.getByLabel(/^API key of console-keys/).inputValue();
    await page.getByRole("button", { name: "Done" }).click();
    await page.locator('tr[data-key="default"] td.status', { hasText: "previous secret retained until" }).waitFor();
    await page.screenshot({ path: join(SHOTS, "account.png") });
    expect((await client(daemon.url, owner.key).get("/v1/auth/whoami")).status).toBe(200); // retained
    expect((await client(daemon.url, rotated).get("/v1/auth/whoami")).status).toBe(200);

    await page.getByRole("button", { name: "Deactivate deploy" }).click();
    await page.locator('tr[data-key="deploy"] td.status', { hasText: "inactive" }).waitFor();
    expect((await client(daemon.url, deployKey).get("/v1/auth/whoami")).status).toBe(401);

    await page.getByRole("button", { name: "Delete deploy" }).click();
    expect(await page.getByRole("alertdialog").innerText()).toContain("Whatever uses it stops working at once");
    await page.getByRole("button", { name: "Yes, delete" }).click();
    await page.locator('tr[data-key="deploy"]').waitFor({ state: "detached" });

    await page.getByRole("button", { name: "Delete account" }).click();
    expect(await page.getByRole("alertdialog").innerText()).toContain("Its 1 key(s) stop working at once");
    await page.getByRole("button", { name: "Yes, delete" }).click();
    await page.getByRole("heading", { name: "Service accounts" }).waitFor();
    expect(await page.locator('tr[data-account="console-keys"]').count()).toBe(0);
    expect((await client(daemon.url, rotated).get("/v1/auth/whoami")).status).toBe(401);
    expect(problems).toEqual([]);
  });

  it("shows the audit timeline: filtered by account, newest or oldest first, each event's envelope with chain and signer, live without duplicates", async () => {
    const { page, problems } = await openConsole();
    await signIn(page, adminKey);
    await page.getByRole("button", { name: "Audit timeline" }).click();
    await page.getByRole("heading", { name: "Audit timeline" }).waitFor();
    await page.locator('li[data-type="ServiceAccountCreated"]').first().waitFor();
    const order = async () =>
      await page.locator("li[data-seq]").evaluateAll((items) => items.map((item) => Number(item.getAttribute("data-seq"))));
    const newestFirst = await order();
    expect(newestFirst.length).toBeGreaterThan(3);
    expect(newestFirst).toEqual([...newestFirst].sort((a, b) => b - a));
    await page.getByRole("button", { name: "Oldest first" }).click();
    expect(await order()).toEqual([...newestFirst].sort((a, b) => a - b));

    await page.getByLabel("Account (a name, also a past one, or an id)").fill("ci-runner");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect
      .poll(async () => {
        const texts = await page.locator("li[data-seq]").allInnerTexts();
        return texts.length > 0 && texts.every((text) => text.includes(ciRunnerId));
      })
      .toBe(true);
    const first = page.locator('li[data-type="ServiceAccountCreated"]').first();
    await first.locator("summary").click();
    expect(await first.locator("dd.chain").innerText()).toBe("the first event of its account");
    expect(await first.locator("dd.signer").innerText()).toMatch(/trusted, the trust anchor/);
    expect(await first.locator("pre").innerText()).toContain('"hash":');
    expect(await first.locator("dd.audit").innerText()).toBe("not audited yet: run the audit on the Integrity page");
    expect(await accessibilityProblems(page), "the timeline").toEqual([]);
    await page.screenshot({ path: join(SHOTS, "timeline.png") });

    await page.getByLabel("Account (a name, also a past one, or an id)").fill("");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.locator('li[data-type="ServiceAccountCreated"]').nth(3).waitFor();
    await page.getByLabel("Live").check();
    const made = await admin.post("/v1/service-accounts", { name: "seen-live", roles: ["auditor"] });
    const row = page.locator("li[data-seq]", { hasText: made.body.serviceAccount.id });
    await row.first().waitFor();
    await new Promise((done) => setTimeout(done, 500));
    // Its creation and its first key's: each once.
    const seqs = await row.evaluateAll((items) => items.map((item) => item.getAttribute("data-seq")));
    expect(seqs.length).toBeGreaterThanOrEqual(1);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(problems).toEqual([]);
  });

  it("keeps the live timeline through a dropped connection: what happened meanwhile arrives, each event once", async () => {
    const proxy = await startTcpProxy(daemon.url);
    try {
      const page = await browser.newPage();
      await page.goto(`${proxy.url.replace("nats://", "http://")}/console`);
      await signIn(page, adminKey);
      await page.getByRole("button", { name: "Audit timeline" }).click();
      await page.locator('li[data-type="ServiceAccountCreated"]').nth(2).waitFor();
      await page.getByLabel("Live").check();
      const before = await admin.post("/v1/service-accounts", { name: "before-the-drop", roles: ["auditor"] });
      await page.locator("li[data-seq]", { hasText: before.body.serviceAccount.id }).first().waitFor();
      await proxy.cut();
      const during = await admin.post("/v1/service-accounts", { name: "during-the-drop", roles: ["auditor"] });
      await new Promise((done) => setTimeout(done, 300));
      await proxy.restore();
      await page.locator("li[data-seq]", { hasText: during.body.serviceAccount.id }).first().waitFor({ timeout: 20_000 });
      for (const id of [before.body.serviceAccount.id, during.body.serviceAccount.id]) {
        const seqs = await page
          .locator("li[data-seq]", { hasText: id })
          .evaluateAll((items) => items.map((item) => item.getAttribute("data-seq")));
        expect(seqs.length, id).toBeGreaterThanOrEqual(1);
        expect(new Set(seqs).size, id).toBe(seqs.length);
      }
      await page.close();
    } finally {
      await proxy.stop();
    }
  }, 60_000);

  it("shows the integrity page: the trust anchor and signing keys, and the daemon's audit with its result", async () => {
    const { page, problems } = await openConsole();
    await signIn(page, adminKey);
    await page.getByRole("button", { name: "Integrity" }).click();
    await page.getByRole("heading", { name: "Integrity" }).waitFor();
    const anchor = daemon.signer.keyId;
    await page.locator(`tr[data-kid="${anchor}"]`).waitFor();
    expect(await page.locator("code.anchor").innerText()).toBe(anchor);
    // The daemon writes a checkpoint every 200 ms while events arrive: the page shows the last one it passed.
    expect(await page.locator("p.checkpoint").innerText()).toMatch(
      /^#\d+ covers the event messages up to #\d+ \(\d+ of them\); its hash [0-9a-f]{64}\. Signed, and checked by this daemon as it passed it\.$/,
    );
    expect(await page.locator(`tr[data-kid="${anchor}"]`).innerText()).toMatch(/\(anchor\)\s+trusted/);
    await page.getByRole("button", { name: "Run the audit" }).click();
    await page.getByText(/^No problem found: \d+ event messages checked up to sequence \d+\.$/).waitFor();
    expect(await accessibilityProblems(page), "the integrity page").toEqual([]);
    await page.screenshot({ path: join(SHOTS, "integrity.png") });

    // The timeline now shows each event's verdict from that audit.
    await page.getByRole("button", { name: "Audit timeline" }).click();
    const event = page.locator('li[data-type="ServiceAccountCreated"]').first();
    await event.locator("summary").click();
    expect(await event.locator("dd.audit").innerText()).toMatch(
      /^hash, chain and signature checked by the audit up to #\d+: no problem$/,
    );
    await page.getByRole("button", { name: "Integrity" }).click();

    // Someone with write access to NATS appends bytes of their own to an account's subject.
    const nc = await connectNats(nats.url, "intruder");
    const { jetstream } = await import("@nats-io/jetstream");
    const forged = (await jetstream(nc).publish(accountSubject(ciRunnerId), "not an event")).seq;
    await nc.close();
    await page.getByRole("button", { name: "Run the audit" }).click();
    await page.locator(`tr[data-problem-seq="${forged}"]`).waitFor();
    expect(await page.getByText(/problem\(s\) in \d+ event messages checked/).count()).toBe(1);
    expect(problems).toEqual([]);
  });

  it("travels to before a deactivation under a banner that says so, and compares two points", async () => {
    const traveller = await newKey("traveller", ["auditor"]);
    const before = (await admin.get("/v1/events?account=traveller")).body.items.at(-1).seq as number;
    expect((await admin.patch(`/v1/service-accounts/${traveller.id}`, { active: false })).status).toBe(200);
    const { page, problems } = await openConsole();
    await signIn(page, adminKey);
    await page.locator('tr[data-account="traveller"]', { hasText: "inactive" }).waitFor();

    await page.getByLabel("Time travel to").fill(String(before));
    await page.getByRole("button", { name: "Go" }).click();
    await page.getByText(`You are looking at the past: the accounts as they were at sequence ${before}.`).waitFor();
    await page.locator('tr[data-account="traveller"]', { hasText: "active" }).waitFor();
    expect(await page.locator('tr[data-account="traveller"]').innerText()).not.toContain("inactive");
    expect(await page.getByRole("button", { name: "New account" }).count()).toBe(0);
    await page.getByRole("button", { name: "traveller", exact: true }).click();
    await page.getByRole("heading", { name: "traveller" }).waitFor();
    expect(await page.locator("dl.fields").innerText()).toMatch(/Status\s+active/);
    expect(await page.getByRole("button", { name: "Deactivate account" }).count()).toBe(0);
    expect(await accessibilityProblems(page), "an account in the past").toEqual([]);
    await page.screenshot({ path: join(SHOTS, "time-travel.png") });
    await page.getByRole("button", { name: "Back to now" }).click();
    await page.locator("dl.fields", { hasText: "inactive" }).waitFor();
    // A change under way when travelling is closed: nothing from the past is written back.
    await page.getByRole("button", { name: "Edit account" }).click();
    await page.getByRole("button", { name: "Save" }).waitFor();
    await page.getByRole("button", { name: "Go" }).click();
    await page.getByText("You are looking at the past").waitFor();
    expect(await page.getByRole("button", { name: "Save" }).count()).toBe(0);
    await page.getByRole("button", { name: "Back to now" }).click();

    await page.getByRole("button", { name: "What changed" }).click();
    await page.getByLabel("From").fill(String(before));
    await page.getByRole("button", { name: "Compare" }).click();
    const row = page.locator('tr[data-diff-account="traveller"]');
    await row.waitFor();
    expect(await row.innerText()).toMatch(/traveller\s+changed\s+active → inactive/);
    expect(await accessibilityProblems(page), "the diff").toEqual([]);
    await page.screenshot({ path: join(SHOTS, "diff.png") });
    await page.getByLabel("From").fill("yesterday");
    await page.getByRole("button", { name: "Compare" }).click();
    await page.getByText("A point is a stream sequence").waitFor();
    expect(problems).toEqual([]);
  });

  it("shows an auditor no button that changes anything, and refuses a verifier with a sentence", async () => {
    const auditor = await newKey("console-auditor", ["auditor"]);
    const { page, problems } = await openConsole();
    await signIn(page, auditor.key);
    await page.locator('tr[data-account="console-auditor"]').waitFor();
    expect(await page.getByRole("button", { name: "New account" }).count()).toBe(0);
    // Its account page: the keys, and nothing that changes them.
    await page.getByRole("button", { name: "ci-runner", exact: true }).click();
    await page.locator('tr[data-key="default"]').waitFor();
    const buttons = await page.getByRole("button").allInnerTexts();
    expect(buttons.sort()).toEqual(
      ["← All accounts", "Accounts", "Audit timeline", "Integrity", "What changed", "Go", "Sign out"].sort(),
    );
    expect(await page.getByLabel("New key's name").count()).toBe(0);
    await page.getByRole("button", { name: "Sign out" }).click();

    const verifier = await newKey("console-verifier", ["verifier"]);
    await signIn(page, verifier.key);
    await page.getByRole("alert").waitFor();
    expect(await page.getByRole("alert").innerText()).toContain("the console needs an admin or an auditor");
    await signIn(page, `${verifier.key.slice(0, -3)}abc`);
    await page.getByText("That API key is not valid").waitFor();
    expect(problems.filter((problem) => !problem.includes("401"))).toEqual([]);
  });

  it("leads back to sign-in with a sentence when the session ends (the key behind the token deactivated)", async () => {
    const auditor = await newKey("console-ending", ["auditor"]);
    const { page } = await openConsole();
    await signIn(page, auditor.key);
    await page.locator('tr[data-account="console-ending"]').waitFor();
    expect((await admin.patch(`/v1/service-accounts/${auditor.id}/api-keys/${auditor.keyId}`, { active: false })).status).toBe(
      200,
    );
    await page.getByRole("button", { name: "Refresh" }).click();
    await page.getByText("Your session ended").waitFor();
    expect(await page.getByLabel("API key of an admin or auditor account").isVisible()).toBe(true);
  });
});
