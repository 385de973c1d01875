import { describe, expect, it } from "vitest";
import { ConfigError, envName, loadConfig, SETTINGS } from "../../src/config.js";

describe("configuration", () => {
  it("has defaults for everything", () => {
    const config = loadConfig({}, {});
    expect(config).toMatchObject({ host: "127.0.0.1", port: 8080, dataDir: "./.keyledger", stream: "KEYLEDGER", replicas: 1 });
    expect(config.natsUrl).toBeUndefined();
    expect(config.authFailuresPerMinute).toBe(60);
  });

  it("takes KEYLEDGER_* variables, and flags over them", () => {
    const env = { KEYLEDGER_PORT: "9000", KEYLEDGER_NATS_URL: "nats://10.0.0.1:4222", KEYLEDGER_TRUST_PROXY: "10.0.0.0/8" };
    expect(loadConfig({}, env)).toMatchObject({ port: 9000, natsUrl: "nats://10.0.0.1:4222", trustProxy: ["10.0.0.0/8"] });
    expect(loadConfig({ port: "9100" }, env).port).toBe(9100);
  });

  it("gives every setting a variable named after its flag", () => {
    expect(envName("data-dir")).toBe("KEYLEDGER_DATA_DIR");
    expect(new Set(SETTINGS.map((setting) => setting.flag)).size).toBe(SETTINGS.length);
  });

  it.each([
    [{ port: "70000" }, {}, /--port/],
    [{ port: "eighty" }, {}, /--port/],
    [{}, { KEYLEDGER_PORT: "-1" }, /KEYLEDGER_PORT/],
    [{ "nats-url": "http://x" }, {}, /--nats-url/],
    [{}, { KEYLEDGER_REPLICAS: "0" }, /KEYLEDGER_REPLICAS/],
    [{ "log-level": "loud" }, {}, /--log-level/],
    [{ "trust-proxy": "maybe" }, {}, /--trust-proxy/],
    [{ "trust-proxy": "true" }, {}, /--trust-proxy/],
    [{ stream: "a.b" }, {}, /--stream/],
    [{ "data-dir": " " }, {}, /--data-dir/],
  ])("refuses %j %j with a message naming the setting", (flags, env, name) => {
    expect(() => loadConfig(flags, env)).toThrow(ConfigError);
    expect(() => loadConfig(flags, env)).toThrow(name);
  });
});

describe("--trust-proxy", () => {
  it.each(["0.0.0.0/0", "::/0", "10.0.0.0/8,0.0.0.0/0", "::ffff:0:0/96", "::/1", " ::/0 "])(
    "refuses %j, which trusts everyone, naming the entry, before anything starts",
    (value) => {
      expect(() => loadConfig({ "trust-proxy": value }, {})).toThrow(/must not trust everyone/);
      expect(() => loadConfig({}, { KEYLEDGER_TRUST_PROXY: value })).toThrow(/KEYLEDGER_TRUST_PROXY/);
    },
  );

  it.each(["10.0.0.0/8", "192.168.1.10", "10.0.0.0/8,fd00::/8", "::1", "2001:db8::/32", "1"])("takes %j", (value) => {
    expect(() => loadConfig({ "trust-proxy": value }, {})).not.toThrow();
  });

  it.each(["10.0.0.0/33", "999.1.1.1", "::/129", "10.0.0.0/8/8", "loopback"])(
    "refuses %j, which is no address or range",
    (value) => {
      expect(() => loadConfig({ "trust-proxy": value }, {})).toThrow(/--trust-proxy must be false, a number of proxy hops/);
    },
  );
});

describe("the signing key setting", () => {
  it("comes from KEYLEDGER_SIGNING_KEY (never a flag) or from a file named by --signing-key-file", () => {
    expect(loadConfig({}, { KEYLEDGER_SIGNING_KEY: "c2VlZA==" }).signingKey).toBe("c2VlZA==");
    expect(loadConfig({ "signing-key-file": "/etc/keyledger/seed" }, {}).signingKeyFile).toBe("/etc/keyledger/seed");
    expect(SETTINGS.some((setting) => setting.flag === "signing-key")).toBe(false);
  });
});

describe("transport security and NATS authentication settings", () => {
  const external = { "nats-url": "nats://n1:4222" };

  it("takes the NATS password and token from the environment only", () => {
    const config = loadConfig({ ...external, "nats-user": "svc" }, { KEYLEDGER_NATS_PASSWORD: "pw" });
    expect(config).toMatchObject({ natsUser: "svc", natsPassword: "pw" });
    expect(SETTINGS.map((setting) => setting.flag)).not.toContain("nats-password");
    expect(SETTINGS.map((setting) => setting.flag)).not.toContain("nats-token");
    expect(loadConfig(external, { KEYLEDGER_NATS_TOKEN: "t" }).natsToken).toBe("t");
  });

  it("refuses settings that only work together when one is missing, naming them", () => {
    expect(() => loadConfig({ "tls-cert": "/c.pem" }, {})).toThrow(/--tls-cert .* --tls-key/);
    expect(() => loadConfig({ ...external, "nats-user": "svc" }, {})).toThrow(/KEYLEDGER_NATS_PASSWORD/);
    expect(() => loadConfig({ ...external, "nats-tls-cert": "/c.pem" }, {})).toThrow(/--nats-tls-key/);
  });

  it("refuses two ways of authenticating to NATS, and NATS settings without an external NATS", () => {
    expect(() => loadConfig({ ...external, "nats-creds-file": "/x.creds" }, { KEYLEDGER_NATS_TOKEN: "t" })).toThrow(
      /one way only/,
    );
    expect(() => loadConfig({ "nats-creds-file": "/x.creds" }, {})).toThrow(/--nats-url/);
    expect(loadConfig({ ...external, "nats-tls-ca": "/ca.pem" }, {}).natsTlsCa).toBe("/ca.pem");
  });
});
