import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { startTestNats, type TestNats } from "../../helpers/nats.js";

let nats: TestNats;
let daemon: TestDaemon;

beforeAll(async () => {
  nats = await startTestNats();
  daemon = await startTestDaemon(nats.url);
});

afterAll(async () => {
  await daemon?.stop();
  await nats?.stop();
});

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

describe("GET /console", () => {
  it("serves the page with a strict CSP (nothing inline, no other origin, in no frame), without a credential", async () => {
    for (const path of ["/console", "/console/"]) {
      const answer = await fetch(`${daemon.url}${path}`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(answer.headers.get("content-security-policy")).toBe(CSP);
      expect(answer.headers.get("x-frame-options")).toBe("DENY");
      expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
      const html = await answer.text();
      // Every script and style is a file of its own under /console/assets/.
      expect(html).not.toMatch(/<script(?![^>]*\bsrc="\/console\/assets\/)[^>]*>/);
      expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    }
  });

  it("serves each built file with its type, immutable, and nothing else under /console/assets/", async () => {
    const html = await (await fetch(`${daemon.url}/console`)).text();
    const files = [...html.matchAll(/\/console\/assets\/[A-Za-z0-9_.-]+/g)].map((match) => match[0]);
    expect(files.some((file) => file.endsWith(".js"))).toBe(true);
    expect(files.some((file) => file.endsWith(".css"))).toBe(true);
    for (const file of files) {
      const answer = await fetch(`${daemon.url}${file}`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get("content-type")).toMatch(file.endsWith(".js") ? /^text\/javascript/ : /^text\/css/);
      expect(answer.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(answer.headers.get("content-security-policy")).toBe(CSP);
    }
    // What a browser downloads stays small: under 150 KB gzip, scripts and styles together.
    let gzipped = 0;
    for (const file of files) gzipped += gzipSync(Buffer.from(await (await fetch(`${daemon.url}${file}`)).arrayBuffer())).length;
    expect(gzipped).toBeLessThan(150 * 1024);
    for (const path of [
      "/console/assets/nothing.js",
      "/console/assets/..%2F..%2Fpackage.json",
      "/console/../package.json",
      "/console/index.html",
    ]) {
      const answer = await fetch(`${daemon.url}${path}`);
      expect(answer.status, path).toBe(404);
      if (path.startsWith("/console/assets/")) expect(answer.headers.get("content-security-policy"), path).toBe(CSP);
      expect(((await answer.json()) as { error: { code: string } }).error.code).toBe("not_found");
    }
  });
});
