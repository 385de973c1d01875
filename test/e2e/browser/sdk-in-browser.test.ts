import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { promisify } from "node:util";
import type { BrowserContext } from "playwright-core";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser } from "../../helpers/browser.js";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { client } from "../../helpers/http.js";
import { startTestNats, tempDir, type TestNats } from "../../helpers/nats.js";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "../../..");

let nats: TestNats;
let daemon: TestDaemon;
let site: Server;
let origin: string;
let browser: BrowserContext;
let bundle = "";

/** The page and its bundle, and every other path passed on to the daemon: one origin, as a console has. */
function serve(dir: string, daemonUrl: string): Server {
  const target = new URL(daemonUrl);
  return createServer(async (request, response) => {
    const path = request.url === "/" ? "/index.html" : (request.url ?? "/");
    if (path === "/index.html" || path.startsWith("/assets/")) {
      const file = join(dir, normalize(path));
      const type = extname(file) === ".html" ? "text/html" : "text/javascript";
      response.writeHead(200, { "content-type": type }).end(await readFile(file));
      return;
    }
    const forward = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: request.url,
        method: request.method,
        headers: { ...request.headers, host: target.host },
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    request.pipe(forward);
  });
}

beforeAll(async () => {
  await run(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(ROOT, "packages", "client")]);
  const out = await tempDir("keyledger-sdk-browser-");
  const page = await tempDir("keyledger-sdk-page-");
  await writeFile(
    join(page, "index.html"),
    `<!doctype html><html><head><script type="module" src="${join(import.meta.dirname, "fixtures", "sdk-entry.js")}"></script></head><body></body></html>`,
  );
  await build({
    root: page,
    logLevel: "silent",
    configFile: false,
    build: { outDir: out, emptyOutDir: true, rollupOptions: { input: join(page, "index.html") } },
  });
  for (const name of (await import("node:fs")).readdirSync(join(out, "assets")))
    bundle += await readFile(join(out, "assets", name), "utf8");
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url);
  site = serve(out, daemon.url);
  await new Promise<void>((done) => site.listen(0, "127.0.0.1", done));
  origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  site?.close();
  await daemon?.stop();
  await nats?.stop();
});

describe("the SDK in a browser (Debian's Chromium)", () => {
  it("is bundled from the package without Node's modules or the NATS client", () => {
    expect(bundle.length).toBeGreaterThan(1000);
    expect(bundle).not.toMatch(/from\s*"node:|require\("node:|@nats-io/);
  });

  it("calls the API with KeyledgerClient and checks access tokens offline, with fetch and WebCrypto alone", async () => {
    const admin = client(daemon.url, await daemon.adminKey());
    const key: string = (await admin.post("/v1/service-accounts", { name: "browser-user", roles: ["auditor"] })).body.apiKey.key;
    const token: string = (await client(daemon.url, key).post("/v1/auth/token")).body.accessToken;
    const page = await browser.newPage();
    const origins = new Set<string>();
    page.on("request", (request) => origins.add(new URL(request.url()).origin));
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(origin);
    await page.waitForFunction(() => typeof (globalThis as unknown as { runChecks?: unknown }).runChecks === "function");
    const result = await page.evaluate(
      ([apiKey, accessToken]) =>
        (globalThis as unknown as { runChecks: (k: string, t: string) => Promise<unknown> }).runChecks(apiKey!, accessToken!),
      [key, token],
    );
    expect(result).toEqual({ who: "browser-user", denied: "forbidden", token: "browser-user", forged: "bad_signature" });
    expect(errors).toEqual([]);
    expect([...origins]).toEqual([origin]);
  });
});
