import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnDaemon, type DaemonProcess } from "../../helpers/daemon-process.js";
import { startTestNats, tempDir, type TestNats } from "../../helpers/nats.js";
import { freePort } from "../../helpers/ports.js";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "../../..");

let nats: TestNats;
let prefix: string;
let daemon: DaemonProcess | undefined;
const version = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")).version as string;

beforeAll(async () => {
  nats = await startTestNats();
  const packed = await tempDir("keyledger-pack-");
  // The build of this checkout (npm test builds it first); --ignore-scripts: never rebuild dist/ under running tests.
  await run("npm", ["pack", "--ignore-scripts", "--pack-destination", packed], { cwd: ROOT });
  prefix = await tempDir("keyledger-global-");
  // As a user installs it: `npm install -g` of the tarball (here into a prefix of its own).
  await run(
    "npm",
    [
      "install",
      "-g",
      "--prefix",
      prefix,
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      join(packed, `keyledger-${version}.tgz`),
    ],
    { cwd: packed, timeout: 180_000 },
  );
}, 240_000);

afterAll(async () => {
  daemon?.child.kill("SIGTERM");
  await daemon?.exited;
  await nats?.stop();
});

const installed = () => join(prefix, "lib", "node_modules", "keyledger");
const bin = () => join(prefix, "bin", "keyledger");

describe("the package, installed with npm install -g from its tarball", () => {
  it("holds the build, the docs and the README, and no tests, benches, sources or source maps", async () => {
    const top = (await readdir(installed())).filter((name) => name !== "node_modules").sort();
    expect(top).toEqual(["CHANGELOG.md", "README.md", "dist", "docs", "package.json"]);
    const files = await readdir(join(installed(), "dist"), { recursive: true });
    expect(files.some((file) => file.endsWith(".map"))).toBe(false);
    expect(files).toContain(join("cli", "main.js"));
    expect(files).toContain(join("client", "index.d.ts"));
  });

  it("puts a working keyledger on the PATH: no build step, the daemon starts and a client command answers", async () => {
    const env = { PATH: `${join(prefix, "bin")}:${process.env.PATH}`, HOME: await tempDir("keyledger-home-") };
    const { stdout } = await run(bin(), ["--version"], { env });
    expect(stdout.trim()).toBe(version);
    const port = await freePort();
    const dataDir = await tempDir("keyledger-installed-data-");
    daemon = spawnDaemon(bin(), ["serve", "--port", String(port), "--data-dir", dataDir, "--nats-url", nats.url], port, { env });
    await daemon.ready;
    const adminKey = (await readFile(join(dataDir, "admin.key"), "utf8")).trim();
    const whoami = await run(bin(), ["whoami"], {
      env: { ...env, KEYLEDGER_URL: `http://127.0.0.1:${port}`, KEYLEDGER_API_KEY: adminKey },
    });
    expect(whoami.stdout).toContain("admin");
    // The SDK's entry resolves from the installed package, as a service importing keyledger/client would.
    const sdk = await run(
      process.execPath,
      ["--input-type=module", "-e", "import('keyledger/client').then((m) => console.log(typeof m.createVerifier))"],
      {
        cwd: join(prefix, "lib"),
      },
    );
    expect(sdk.stdout.trim()).toBe("function");
  });
});
