import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { envName, loadConfig, SETTINGS } from "../../src/config.js";

const root = process.cwd();

interface Compose {
  services: Record<
    string,
    {
      image?: string;
      build?: string;
      command?: string[];
      environment?: Record<string, string>;
      ports?: string[];
      volumes?: string[];
      depends_on?: Record<string, { condition: string }>;
      healthcheck?: { test: string[] };
    }
  >;
  volumes: Record<string, unknown>;
}

describe("docker-compose.yml (no Docker engine here: checked by reading)", async () => {
  const compose = parse(await readFile(join(root, "docker-compose.yml"), "utf8")) as Compose;
  const nats = compose.services.nats!;
  const keyledger = compose.services.keyledger!;

  it("runs NATS with JetStream on a named volume", () => {
    expect(nats.command).toContain("-js");
    const storeDir = nats.command![nats.command!.indexOf("-sd") + 1];
    expect(nats.volumes).toContain(`nats-data:${storeDir}`);
    expect(compose.volumes).toHaveProperty("nats-data");
  });

  it("points keyledger at that NATS service with settings the daemon accepts", () => {
    const env = keyledger.environment!;
    expect(env.KEYLEDGER_NATS_URL).toBe("nats://nats:4222");
    const known = new Set(SETTINGS.map((setting) => envName(setting.flag)));
    for (const name of Object.keys(env)) expect(known, name).toContain(name);
    const config = loadConfig({}, env);
    expect(config.host).toBe("0.0.0.0");
    expect(keyledger.ports).toContain(`${config.port}:${config.port}`);
    expect(keyledger.volumes).toContain(`keyledger-data:${config.dataDir}`);
    expect(keyledger.depends_on?.nats?.condition).toBe("service_healthy");
    expect(keyledger.healthcheck?.test.join(" ")).toContain(`127.0.0.1:${config.port}/readyz`);
  });

  it("builds from a Dockerfile whose command serves on the compose file's data directory", async () => {
    expect(keyledger.build).toBe(".");
    const dockerfile = await readFile(join(root, "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/CMD \["node", "dist\/cli\/main\.js", "serve"\]/);
    expect(dockerfile).toContain(`KEYLEDGER_DATA_DIR=${keyledger.environment!.KEYLEDGER_DATA_DIR}`);
    const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { bin: Record<string, string> };
    expect(pkg.bin.keyledger).toBe("dist/cli/main.js");
  });
});
