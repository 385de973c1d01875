import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { promisify } from "node:util";
import { fromSeed } from "@nats-io/nkeys";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { envName, loadConfig, SETTINGS } from "../../src/config.js";

const root = process.cwd();
const run = promisify(execFile);

/** A service's secret: a name (mounted at /run/secrets/<name>) or the long syntax. */
type ServiceSecret = string | { source: string; target?: string; uid?: string; gid?: string; mode?: number };

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  secrets?: ServiceSecret[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[]; interval?: string; timeout?: string; retries?: number };
}

interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
  secrets: Record<string, { file: string }>;
}

interface Permissions {
  publish: { allow: string[]; deny?: string[] };
  subscribe: { allow: string[]; deny?: string[] };
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
const SECRET_KEYS = new Set(["source", "target", "uid", "gid", "mode"]);
const CONDITIONS = new Set(["service_started", "service_healthy", "service_completed_successfully"]);
const DURATION = /^\d+(ms|s|m|h)$/;
const PUBLIC_USER_NKEY = /^U[A-Z2-7]{55}$/;

function secretSource(secret: ServiceSecret): string {
  return typeof secret === "string" ? secret : secret.source;
}

/** Where a secret is in its container: compose's default is /run/secrets/<source>; a relative target goes there too. */
function secretTarget(secret: ServiceSecret): string {
  if (typeof secret === "string") return `/run/secrets/${secret}`;
  const target = secret.target ?? secret.source;
  return target.startsWith("/") ? target : `/run/secrets/${target}`;
}

/** The block `name { … }` of a NATS config (blocks in this repository's nats.conf do not nest). */
function block(conf: string, name: string): string {
  const match = new RegExp(`^${name} \\{([^}]*)\\}`, "m").exec(conf);
  expect(match, `nats.conf has a ${name} block`).not.toBeNull();
  return match![1]!;
}

function includes(text: string): string[] {
  return [...text.matchAll(/^\s*include\s+"([^"]+)"/gm)].map((match) => match[1]!);
}

/** The users of the made nats-users.conf: comments dropped, the rest is a JSON array. */
function users(text: string): Array<{ nkey: string; permissions: Permissions }> {
  const body = text
    .split("\n")
    .filter((line) => !line.trim().startsWith("#"))
    .join("\n");
  return JSON.parse(body.replace(/^users:/m, "").trim());
}

describe("docker-compose.yml: the clustered deployment (no Docker engine here: checked by reading)", async () => {
  const text = await readFile(join(root, "docker-compose.yml"), "utf8");
  const compose = parse(text, { merge: true }) as Compose;
  const services = compose.services;
  const natsNodes = Object.keys(services).filter((name) => name.startsWith("nats-"));
  const daemons = Object.keys(services).filter((name) => name.startsWith("keyledger-"));
  const natsConf = await readFile(join(root, "deploy/nats/nats.conf"), "utf8");
  /** nats.conf without its comments. */
  const natsSettings = natsConf.replace(/#.*$/gm, "");

  // What deploy/make-secrets.sh makes, in a directory of this test's own.
  const made = await mkdtemp(join(tmpdir(), "keyledger-secrets-"));
  await run("sh", ["deploy/make-secrets.sh", made]);
  const madeFile = (name: string) => readFile(join(made, name), "utf8");
  /** The made file a compose secret names (its `file` is ./deploy/secrets/<name>). */
  const secretFile = (secret: string) => madeFile(posix.basename(compose.secrets[secret]!.file));
  afterAll(() => rm(made, { recursive: true, force: true }));

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
      const targets = new Set<string>();
      for (const secret of service.secrets ?? []) {
        if (typeof secret !== "string")
          for (const key of Object.keys(secret)) expect(SECRET_KEYS, `${name} secret ${key}`).toContain(key);
        expect(compose.secrets, `${name} secret`).toHaveProperty(secretSource(secret));
        targets.add(secretTarget(secret));
      }
      expect(targets.size, `${name}: two secrets on one path`).toBe((service.secrets ?? []).length);
      const health = service.healthcheck!;
      expect(health.test[0], `${name} healthcheck`).toBe("CMD");
      for (const duration of [health.interval, health.timeout]) expect(duration, `${name} healthcheck`).toMatch(DURATION);
    }
    for (const [name, secret] of Object.entries(compose.secrets)) expect(Object.keys(secret), name).toEqual(["file"]);
  });

  it("mounts files that exist in the repository", async () => {
    for (const service of Object.values(services))
      for (const volume of service.volumes ?? []) {
        const source = volume.split(":")[0]!;
        if (source.startsWith(".")) expect((await stat(join(root, source))).isFile(), volume).toBe(true);
      }
  });

  it("mounts secrets that deploy/make-secrets.sh makes under deploy/secrets/, which git and the image build ignore", async () => {
    const madeFiles = (await readdir(made)).sort();
    const mounted = Object.values(compose.secrets).map(({ file }) => file);
    for (const file of mounted) {
      expect(file).toMatch(/^\.\/deploy\/secrets\/[a-z0-9.-]+$/);
      expect(madeFiles, file).toContain(posix.basename(file));
      // exit code 0: ignored (the file need not exist for git to say so)
      await run("git", ["check-ignore", "-q", file.slice(2)]);
    }
    // Made and mounted by nothing here: the seed for services outside this file.
    expect(madeFiles).toEqual([...mounted.map((file) => posix.basename(file)), "revocation-reader.nk"].sort());
    expect((await run("git", ["ls-files", "deploy/secrets"])).stdout.trim()).toBe("deploy/secrets/.gitignore");
    expect((await readFile(join(root, ".dockerignore"), "utf8")).split("\n")).toContain("deploy/secrets");
  });

  it("commits no NKey seed and no route password", async () => {
    for (const pattern of ["S[UA][A-Z2-7]{56}", "nats-route://[a-z]+:[0-9a-f]{32,}@"]) {
      const found = await run("git", ["grep", "--untracked", "-lE", pattern]).then(
        ({ stdout }) => stdout.trim(),
        () => "", // exit code 1: nothing found
      );
      expect(found, pattern).toBe("");
    }
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

  it("gives every NATS node the files nats.conf includes, where the include finds them in the container and in the repository", () => {
    const included = includes(natsSettings);
    expect(included.length).toBeGreaterThanOrEqual(2);
    for (const name of natsNodes) {
      const node = services[name]!;
      const config = node.command![node.command!.indexOf("-c") + 1]!;
      for (const path of included) {
        // NATS resolves an include against the directory of the file that includes it.
        const inContainer = posix.resolve(posix.dirname(config), path);
        const secret = node.secrets?.find((candidate) => secretTarget(candidate) === inContainer);
        expect(secret, `${name}: nothing mounted at ${inContainer}`).toBeDefined();
        expect(compose.secrets[secretSource(secret!)]!.file).toBe(`./${posix.join("deploy/nats", path)}`);
      }
    }
  });

  it("admits no anonymous client: authorization lists users by NKey, each with its permissions", async () => {
    const authorization = block(natsSettings, "authorization");
    expect(includes(authorization)).toEqual(["../secrets/nats-users.conf"]);
    expect(natsSettings).not.toMatch(/no_auth_user|token|password|\buser\s*[:=]|users\s*[:=]|accounts/);
    const text = await madeFile("nats-users.conf");
    expect(text).not.toMatch(/no_auth_user|token|password|"user"/);
    const list = users(text);
    expect(list).toHaveLength(3);
    for (const user of list) {
      expect(Object.keys(user).sort()).toEqual(["nkey", "permissions"]);
      expect(user.nkey).toMatch(PUBLIC_USER_NKEY);
      expect(user.permissions.publish.allow.length).toBeGreaterThan(0);
      expect(user.permissions.subscribe.allow.length).toBeGreaterThan(0);
      // No one may listen everywhere, nor publish everywhere.
      for (const subjects of [user.permissions.publish.allow, user.permissions.subscribe.allow])
        expect(subjects).not.toContain(">");
    }
  });

  it("routes every node to all three on the cluster port, with the route credentials the cluster demands", async () => {
    const cluster = block(natsSettings, "cluster");
    expect(includes(cluster)).toEqual(["../secrets/nats-routes.conf"]);
    expect(cluster).not.toMatch(/routes\s*[:=[]/);
    const clusterPort = /listen: "0\.0\.0\.0:(\d+)"/.exec(cluster)![1];
    const routesConf = await madeFile("nats-routes.conf");
    const [, user, password] = /authorization \{\s*user: "([^"]+)"\s*password: "([^"]+)"\s*\}/.exec(routesConf)!;
    expect(password!.length).toBeGreaterThanOrEqual(32);
    const routes = [...routesConf.matchAll(/"nats-route:\/\/([^:@]+):([^@]+)@([a-z0-9-]+):(\d+)"/g)];
    expect(routes.map((match) => match[3])).toEqual(natsNodes);
    for (const [, routeUser, routePassword, , port] of routes) {
      expect([routeUser, routePassword]).toEqual([user, password]);
      expect(port).toBe(clusterPort);
    }
  });

  it("serves clients and health on the ports the daemons and the health checks use", () => {
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
      expect(daemon.secrets).toContain("keyledger_signing_key");
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

  it("gives each daemon an NKey of its own, mounted where KEYLEDGER_NATS_NKEY_SEED_FILE points, and known to NATS as a daemon", async () => {
    const list = users(await madeFile("nats-users.conf"));
    const seen = new Set<string>();
    for (const name of daemons) {
      const daemon = services[name]!;
      const config = loadConfig({}, daemon.environment!);
      // The signing key and this daemon's seed, nothing else: not the other daemon's, not the NATS config.
      expect(daemon.secrets).toHaveLength(2);
      const seedSecret = daemon.secrets!.find((secret) => secretSource(secret) !== "keyledger_signing_key")!;
      expect(config.natsNkeySeedFile, name).toBe(secretTarget(seedSecret));
      // The daemon authenticates one way only (loadConfig refuses more): no user, token or creds file.
      expect([config.natsUser, config.natsToken, config.natsCredsFile]).toEqual([undefined, undefined, undefined]);
      const seed = (await secretFile(secretSource(seedSecret))).trim();
      expect(seed).toMatch(/^SU/);
      const publicKey = fromSeed(new TextEncoder().encode(seed)).getPublicKey();
      expect(seen.has(publicKey), `${name} shares its NKey`).toBe(false);
      seen.add(publicKey);
      const user = list.find((candidate) => candidate.nkey === publicKey);
      expect(user, `${name}'s NKey is a NATS user`).toBeDefined();
      expect(user!.permissions.publish.allow).toContain("kl.>");
      expect(user!.permissions.publish.deny).toContain("$JS.API.STREAM.DELETE.>");
    }
    for (const name of natsNodes)
      for (const secret of services[name]!.secrets ?? [])
        expect(compose.secrets[secretSource(secret)]!.file).not.toMatch(/\.nk$/);
  });

  it("knows the revocation reader as a follower of the feed only", async () => {
    const seed = (await madeFile("revocation-reader.nk")).trim();
    const publicKey = fromSeed(new TextEncoder().encode(seed)).getPublicKey();
    const reader = users(await madeFile("nats-users.conf")).find((user) => user.nkey === publicKey)!;
    expect(reader).toBeDefined();
    for (const subject of reader.permissions.publish.allow)
      expect(subject, "a JetStream API call on the feed, the account's limits, or an acknowledgement on the feed").toMatch(
        /^\$JS\.API\.INFO$|^\$JS\.API\.(STREAM|CONSUMER)\.[A-Z.]+\.KEYLEDGER_REVOCATIONS($|\.)|^\$JS\.ACK\.KEYLEDGER_REVOCATIONS\./,
      );
    expect(reader.permissions.subscribe.allow).toEqual(["_INBOX_revocation_reader.>"]);
  });

  it("is described in docs/deployment.md: every secret, every permission of every identity, the TLS settings", async () => {
    const doc = await readFile(join(root, "docs/deployment.md"), "utf8");
    for (const [name, { file }] of Object.entries(compose.secrets)) {
      expect(doc, name).toContain(`\`${name}\``);
      expect(doc, file).toContain(`\`${file.slice(2)}\``);
    }
    for (const name of await readdir(made)) expect(doc, name).toContain(`\`${name}\``);
    for (const user of users(await madeFile("nats-users.conf")))
      for (const subject of [
        ...user.permissions.publish.allow,
        ...(user.permissions.publish.deny ?? []),
        ...user.permissions.subscribe.allow,
      ])
        expect(doc, subject).toContain(`\`${subject}\``);
    for (const flag of ["nats-tls-ca", "nats-tls-cert", "nats-tls-key", "nats-nkey-seed-file"]) {
      expect(SETTINGS.map((setting) => setting.flag)).toContain(flag);
      expect(doc, flag).toContain(envName(flag));
    }
    expect(doc).toMatch(/sync_interval[^\n]*2\.10/);
  });

  it("builds from a multi-stage Dockerfile that runs as a non-root user with production dependencies only", async () => {
    const dockerfile = await readFile(join(root, "Dockerfile"), "utf8");
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/CMD \["node", "dist\/cli\/main\.js", "serve"\]/);
    expect(dockerfile).toContain(`KEYLEDGER_DATA_DIR=${services["keyledger-1"]!.environment!.KEYLEDGER_DATA_DIR}`);
    const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
      bin: Record<string, string>;
      workspaces?: string[];
    };
    expect(pkg.bin.keyledger).toBe("dist/cli/main.js");
    // npm ci refuses a lock file whose workspaces it cannot find: each one's manifest is copied before it.
    const install = dockerfile.indexOf("RUN npm ci");
    expect(install).toBeGreaterThan(0);
    for (const workspace of pkg.workspaces ?? []) {
      const copy = dockerfile.indexOf(`COPY ${workspace}/package.json`);
      expect(copy, `${workspace}/package.json is copied before npm ci`).toBeGreaterThan(0);
      expect(copy).toBeLessThan(install);
    }
  });
});

describe("deploy/make-secrets.sh", () => {
  const dirs: string[] = [];
  const fresh = async () => {
    const dir = await mkdtemp(join(tmpdir(), "keyledger-secrets-"));
    dirs.push(dir);
    return join(dir, "secrets");
  };
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  const contents = async (dir: string) =>
    Object.fromEntries(
      await Promise.all((await readdir(dir)).map(async (name) => [name, await readFile(join(dir, name), "utf8")])),
    );

  it("makes each secret once, into KEYLEDGER_SECRETS_DIR, a private directory of files the containers' users can read", async () => {
    const dir = await fresh();
    await run("sh", ["deploy/make-secrets.sh"], { env: { ...process.env, KEYLEDGER_SECRETS_DIR: dir } });
    const first = await contents(dir);
    expect(Object.keys(first).sort()).toEqual(
      ["keyledger-1.nk", "keyledger-2.nk", "nats-routes.conf", "nats-users.conf", "revocation-reader.nk", "signing.key"].sort(),
    );
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    for (const name of Object.keys(first)) expect((await stat(join(dir, name))).mode & 0o777, name).toBe(0o644);
    expect(Buffer.from(first["signing.key"]!.trim(), "base64")).toHaveLength(32);
    // Run again: nothing changes (every event names the signing key; the daemons hold their seeds).
    const again = await run("sh", ["deploy/make-secrets.sh", dir]);
    expect(again.stdout).toContain("keeping");
    expect(await contents(dir)).toEqual(first);
  });

  it("makes NKeys that nkeys.js reads, lists their public keys and no seed in nats-users.conf, and prints no secret", async () => {
    const dir = await fresh();
    const { stdout, stderr } = await run("sh", ["deploy/make-secrets.sh", dir]);
    const made = await contents(dir);
    const listed = users(made["nats-users.conf"]!).map((user) => user.nkey);
    const seeds = ["keyledger-1.nk", "keyledger-2.nk", "revocation-reader.nk"].map((name) => made[name]!.trim());
    expect(seeds.map((seed) => fromSeed(new TextEncoder().encode(seed)).getPublicKey())).toEqual(listed);
    const password = /password: "([^"]+)"/.exec(made["nats-routes.conf"]!)![1]!;
    for (const secret of [...seeds, password, made["signing.key"]!.trim()]) {
      expect(made["nats-users.conf"]).not.toContain(secret);
      expect(stdout + stderr).not.toContain(secret);
    }
  });

  it("lists a seed made again under its new public key, and keeps the route credentials", async () => {
    const dir = await fresh();
    await run("sh", ["deploy/make-secrets.sh", dir]);
    const before = await contents(dir);
    await rm(join(dir, "keyledger-2.nk"));
    await run("sh", ["deploy/make-secrets.sh", dir]);
    const after = await contents(dir);
    expect(after["keyledger-2.nk"]).not.toBe(before["keyledger-2.nk"]);
    const publicKey = fromSeed(new TextEncoder().encode(after["keyledger-2.nk"]!.trim())).getPublicKey();
    expect(users(after["nats-users.conf"]!).map((user) => user.nkey)[1]).toBe(publicKey);
    expect(after["nats-routes.conf"]).toBe(before["nats-routes.conf"]);
    expect(after["keyledger-1.nk"]).toBe(before["keyledger-1.nk"]);
  });

  it("is what deploy/make-signing-key.sh (the README's command) runs", async () => {
    const dir = await fresh();
    await run("sh", ["deploy/make-signing-key.sh", dir]);
    expect((await readdir(dir)).sort()).toContain("keyledger-1.nk");
    expect((await readdir(dir)).sort()).toContain("signing.key");
  });
});
