import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { envName, loadConfig, SETTINGS } from "../../src/config.js";

const root = process.cwd();

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  secrets?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[]; interval?: string; timeout?: string; retries?: number };
}

interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
  secrets: Record<string, { file: string }>;
}

/** What `docker compose config` insists on, in the shape this file uses (compose specification). */
const TOP_LEVEL = new Set(["services", "volumes", "secrets", "networks", "configs", "name", "include"]);
const SERVICE_KEYS = new Set([
  "image",
  "build",
  "command",
  "environment",
  "ports",
  "volumes",
  "secrets",
  "depends_on",
  "healthcheck",
]);
const CONDITIONS = new Set(["service_started", "service_healthy", "service_completed_successfully"]);
const DURATION = /^\d+(ms|s|m|h)$/;

describe("docker-compose.yml: the clustered deployment (no Docker engine here: checked by reading)", async () => {
  const text = await readFile(join(root, "docker-compose.yml"), "utf8");
  const compose = parse(text, { merge: true }) as Compose;
  const services = compose.services;
  const natsNodes = Object.keys(services).filter((name) => name.startsWith("nats-"));
  const daemons = Object.keys(services).filter((name) => name.startsWith("keyledger-"));
  const natsConf = await readFile(join(root, "deploy/nats/nats.conf"), "utf8");

  it("has the shape `docker compose config` accepts", () => {
    for (const key of Object.keys(compose)) expect(TOP_LEVEL.has(key) || key.startsWith("x-"), key).toBe(true);
    for (const [name, service] of Object.entries(services)) {
      for (const key of Object.keys(service)) expect(SERVICE_KEYS, `${name}.${key}`).toContain(key);
      expect(service.image !== undefined || service.build !== undefined, `${name} has an image or a build`).toBe(true);
      for (const value of Object.values(service.environment ?? {})) expect(typeof value, `${name} environment`).toBe("string");
      for (const port of service.ports ?? []) expect(port, `${name} port`).toMatch(/^\d+:\d+$/);
      for (const volume of service.volumes ?? []) {
        const [source, target, mode] = volume.split(":");
        expect(target, `${name} volume ${volume}`).toMatch(/^\//);
        expect(mode === undefined || mode === "ro" || mode === "rw", `${name} volume ${volume}`).toBe(true);
        // A named volume must be declared; a path must exist in the repository.
        if (!source!.startsWith(".")) expect(compose.volumes, `${name} volume ${volume}`).toHaveProperty(source!);
      }
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(services, `${name} depends on ${dependency}`).toHaveProperty(dependency);
        expect(CONDITIONS, `${name} → ${dependency}`).toContain(condition);
      }
      for (const secret of service.secrets ?? []) expect(compose.secrets, `${name} secret`).toHaveProperty(secret);
      const health = service.healthcheck!;
      expect(health.test[0], `${name} healthcheck`).toBe("CMD");
      for (const duration of [health.interval, health.timeout]) expect(duration, `${name} healthcheck`).toMatch(DURATION);
    }
  });

  it("mounts files that exist in the repository", async () => {
    for (const service of Object.values(services))
      for (const volume of service.volumes ?? []) {
        const source = volume.split(":")[0]!;
        if (source.startsWith(".")) expect((await stat(join(root, source))).isFile(), volume).toBe(true);
      }
    expect(await readFile(join(root, "deploy/make-signing-key.sh"), "utf8")).toContain(
      compose.secrets.keyledger_signing_key!.file.replace("./deploy/", ""),
    );
  });

  it("runs a 3-node NATS JetStream cluster of nats 2.11 or newer, each node on a volume of its own, syncing every write", () => {
    expect(natsNodes).toEqual(["nats-1", "nats-2", "nats-3"]);
    const dataVolumes = new Set<string>();
    for (const name of natsNodes) {
      const node = services[name]!;
      const [major, minor] = /^nats:(\d+)\.(\d+)/.exec(node.image!)!.slice(1).map(Number);
      expect(major! > 2 || (major === 2 && minor! >= 11), node.image).toBe(true);
      expect(node.environment?.NATS_SERVER_NAME).toBe(name);
      const config = node.command![node.command!.indexOf("-c") + 1];
      expect(node.volumes).toContain(`./deploy/nats/nats.conf:${config}:ro`);
      const data = node.volumes!.find((volume) => volume.endsWith(":/data"))!;
      dataVolumes.add(data.split(":")[0]!);
      expect(node.healthcheck?.test.join(" ")).toContain("/healthz?js-enabled-only=true");
    }
    expect(dataVolumes.size).toBe(3);
    expect(natsConf).toMatch(/server_name: \$NATS_SERVER_NAME/);
    expect(natsConf).toMatch(/store_dir: "\/data"/);
    expect(natsConf).toMatch(/sync_interval: always/);
  });

  it("routes every node to all three on the cluster port, and serves clients on the port the daemons use", () => {
    const clusterPort = /cluster \{[^}]*listen: "0\.0\.0\.0:(\d+)"/s.exec(natsConf)![1];
    const routes = [...natsConf.matchAll(/nats-route:\/\/([a-z0-9-]+):(\d+)/g)].map((match) => [match[1], match[2]]);
    expect(routes.map(([host]) => host)).toEqual(natsNodes);
    for (const [, port] of routes) expect(port).toBe(clusterPort);
    const clientPort = /^listen: "0\.0\.0\.0:(\d+)"/m.exec(natsConf)![1];
    const healthPort = /^http: "0\.0\.0\.0:(\d+)"/m.exec(natsConf)![1];
    for (const name of natsNodes) expect(services[name]!.healthcheck?.test.join(" ")).toContain(`127.0.0.1:${healthPort}/`);
    for (const name of daemons) {
      const urls = services[name]!.environment!.KEYLEDGER_NATS_URL!.split(",");
      expect(urls).toEqual(natsNodes.map((node) => `nats://${node}:${clientPort}`));
    }
  });

  it("runs two daemons on 3 replicas with one mounted signing key, each on its own port and volume", () => {
    expect(daemons).toEqual(["keyledger-1", "keyledger-2"]);
    const known = new Set(SETTINGS.map((setting) => envName(setting.flag)));
    const hostPorts = new Set<string>();
    const volumes = new Set<string>();
    for (const name of daemons) {
      const daemon = services[name]!;
      const env = daemon.environment!;
      for (const variable of Object.keys(env)) expect(known, `${name}: ${variable}`).toContain(variable);
      const config = loadConfig({}, env);
      expect(config.replicas).toBe(3);
      expect(config.host).toBe("0.0.0.0");
      expect(daemon.secrets).toEqual(["keyledger_signing_key"]);
      expect(config.signingKeyFile).toBe("/run/secrets/keyledger_signing_key");
      const [hostPort, containerPort] = daemon.ports![0]!.split(":");
      expect(containerPort).toBe(String(config.port));
      hostPorts.add(hostPort!);
      const data = daemon.volumes!.find((volume) => volume.endsWith(`:${config.dataDir}`))!;
      volumes.add(data.split(":")[0]!);
      expect(daemon.healthcheck?.test.join(" ")).toContain(`127.0.0.1:${config.port}/readyz`);
      for (const node of natsNodes) expect(daemon.depends_on?.[node]?.condition).toBe("service_healthy");
      expect(daemon.build).toBe(".");
    }
    expect(hostPorts.size).toBe(2);
    expect(volumes.size).toBe(2);
  });

  it("builds from a multi-stage Dockerfile that runs as a non-root user with production dependencies only", async () => {
    const dockerfile = await readFile(join(root, "Dockerfile"), "utf8");
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/CMD \["node", "dist\/cli\/main\.js", "serve"\]/);
    expect(dockerfile).toContain(`KEYLEDGER_DATA_DIR=${services["keyledger-1"]!.environment!.KEYLEDGER_DATA_DIR}`);
    const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { bin: Record<string, string> };
    expect(pkg.bin.keyledger).toBe("dist/cli/main.js");
  });
});
