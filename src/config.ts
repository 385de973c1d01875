import { BlockList, isIP } from "node:net";

/** How the daemon writes its log: one JSON object a line (for services), or readable lines (for a person). */
export type LogFormat = "json" | "pretty";

/** The daemon's settings: each from a flag, else a `KEYLEDGER_*` variable, else its default. */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** Absent: start an embedded nats-server under `<dataDir>/nats`. */
  readonly natsUrl: string | undefined;
  readonly stream: string;
  readonly replicas: number;
  readonly logLevel: string;
  /** Absent: pretty when the daemon's standard output is a terminal, else json (see `logFormatFor`). */
  readonly logFormat: LogFormat | undefined;
  readonly schedulerIntervalMs: number;
  /** How often a signed stream checkpoint is appended when events arrived; 0: never. */
  readonly checkpointIntervalMs: number;
  readonly authFailuresPerMinute: number;
  readonly tokenTtlSeconds: number;
  /** A base64 Ed25519 seed, from KEYLEDGER_SIGNING_KEY only (never a flag, which `ps` would show). */
  readonly signingKey: string | undefined;
  /** A file holding the base64 seed (a path is no secret, so it may be a flag). */
  readonly signingKeyFile: string | undefined;
  /** Which proxies may set X-Forwarded-For: none (false), a hop count, or addresses and CIDRs. */
  readonly trustProxy: false | number | string[];
  readonly readYourWritesTimeoutMs: number;
  /** How long one request to JetStream (an attempt to append an event, a read) waits for its answer. */
  readonly publishTimeoutMs: number;
  readonly nameClaimGraceMs: number;
  readonly duplicateWindowMs: number;
  /**
   * The key id of the ledger's trust anchor this daemon must find on the stream; absent: the one
   * pinned in `<data-dir>/trust-anchor` (learned from the stream at first start).
   */
  readonly trustAnchor: string | undefined;
  /** How far in the future an access token's `iat` may lie (another daemon's clock running ahead). */
  readonly tokenClockSkewSeconds: number;
  /** Live event streams (`/v1/events/stream`) one principal may hold open at once. */
  readonly maxStreamsPerPrincipal: number;
  /** Live event streams this daemon holds open at once, for everyone together. */
  readonly maxStreams: number;
  /** Audit requests (history as of a point, state, diff, verify, export) one principal may have running at once. */
  readonly maxAuditRequestsPerPrincipal: number;
  /** Audit requests this daemon runs at once, for everyone together. */
  readonly maxAuditRequests: number;
  /** /readyz answers 503 while the read model is more than this many stream sequences behind. */
  readonly readyMaxLag: number;
  /** PEM certificate and key files: the API is served over HTTPS when both are set. */
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  /** How the daemon authenticates to an external NATS (at most one way), and TLS to it. */
  readonly natsUser: string | undefined;
  /** From KEYLEDGER_NATS_PASSWORD only (never a flag, which `ps` would show). */
  readonly natsPassword: string | undefined;
  /** From KEYLEDGER_NATS_TOKEN only. */
  readonly natsToken: string | undefined;
  readonly natsNkeySeedFile: string | undefined;
  readonly natsCredsFile: string | undefined;
  readonly natsTlsCa: string | undefined;
  readonly natsTlsCert: string | undefined;
  readonly natsTlsKey: string | undefined;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

type Parser<T> = (value: string, name: string) => T;

const text: Parser<string> = (value, name) => {
  if (value.trim() === "") throw new ConfigError(`${name} must not be empty`);
  return value;
};
const integer =
  (min: number, max: number): Parser<number> =>
  (value, name) => {
    const number = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || number < min || number > max) {
      throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
    return number;
  };
const oneOf =
  <T extends string>(choices: readonly T[]): Parser<T> =>
  (value, name) => {
    if (!(choices as readonly string[]).includes(value))
      throw new ConfigError(`${name} must be one of ${choices.join(", ")}, got ${JSON.stringify(value)}`);
    return value as T;
  };
const natsUrl: Parser<string> = (value, name) => {
  const urls = value.split(",").map((url) => url.trim());
  for (const url of urls) {
    if (!/^(nats|tls|ws|wss):\/\/[^\s]+$/.test(url) && !/^[A-Za-z0-9.-]+:\d+$/.test(url)) {
      // The value is not echoed: a URL may carry a password.
      throw new ConfigError(`${name} must be NATS URLs such as nats://127.0.0.1:4222, separated by commas`);
    }
  }
  return value;
};
const streamName: Parser<string> = (value, name) => {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) throw new ConfigError(`${name} must be 1–64 characters of A–Z a–z 0–9 _ -`);
  return value;
};

const trustedProxies: Parser<false | number | string[]> = (value, name) => {
  const trimmed = value.trim();
  if (trimmed === "false" || trimmed === "0") return false;
  if (/^\d{1,2}$/.test(trimmed)) return Number(trimmed);
  const entries = trimmed.split(",").map((entry) => entry.trim());
  if (!entries.every(isAddressOrCidr))
    throw new ConfigError(`${name} must be false, a number of proxy hops, or addresses/CIDRs separated by commas`);
  const everyone = entries.find(coversEveryone);
  if (everyone !== undefined)
    throw new ConfigError(
      `${name} must not trust everyone (${everyone}): any client could then choose its own address, and with it its rate limit`,
    );
  return entries;
};

function isAddressOrCidr(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split("/");
  if (address === undefined || rest.length > 0 || isIP(address) === 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d{1,3}$/.test(prefix) && bits <= (isIP(address) === 4 ? 32 : 128);
}

/** A range that holds every IPv4 or every IPv6 address (`0.0.0.0/0`, `::/0`, `::ffff:0:0/96`, …). */
function coversEveryone(entry: string): boolean {
  const [address, prefix] = entry.split("/");
  if (prefix === undefined) return false;
  const bits = Number(prefix);
  if (bits === 0) return true;
  if (isIP(address!) !== 6 || bits > 96) return false;
  // Every IPv4-mapped IPv6 address: the range ::ffff:0:0/96, or any wider one around it.
  const range = new BlockList();
  range.addSubnet(address!, bits, "ipv6");
  return range.check("::ffff:0.0.0.0", "ipv6") && range.check("::ffff:255.255.255.255", "ipv6");
}

interface Setting<K extends keyof Config> {
  readonly key: K;
  /** The command-line flag (without dashes); its variable is KEYLEDGER_ and the flag in upper snake case. */
  readonly flag: string;
  readonly parse: Parser<NonNullable<Config[K]>>;
  readonly fallback: Config[K];
  readonly description: string;
}

function setting<K extends keyof Config>(s: Setting<K>): Setting<K> {
  return s;
}

export const SETTINGS = [
  setting({ key: "host", flag: "host", parse: text, fallback: "127.0.0.1", description: "address to listen on" }),
  setting({
    key: "port",
    flag: "port",
    parse: integer(0, 65535),
    fallback: 8080,
    description: "port to listen on (0: any free port)",
  }),
  setting({
    key: "dataDir",
    flag: "data-dir",
    parse: text,
    fallback: "./.keyledger",
    description: "directory of the read model, keys and embedded NATS",
  }),
  setting({
    key: "natsUrl",
    flag: "nats-url",
    parse: natsUrl,
    fallback: undefined,
    description: "NATS server(s); none: start an embedded nats-server",
  }),
  setting({
    key: "stream",
    flag: "stream",
    parse: streamName,
    fallback: "KEYLEDGER",
    description: "name of the JetStream event stream",
  }),
  setting({
    key: "replicas",
    flag: "replicas",
    parse: integer(1, 5),
    fallback: 1,
    description: "replicas of the stream and KV buckets",
  }),
  setting({
    key: "logLevel",
    flag: "log-level",
    parse: oneOf(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
    fallback: "info",
    description: "log level",
  }),
  setting({
    key: "logFormat",
    flag: "log-format",
    parse: oneOf<LogFormat>(["json", "pretty"]),
    fallback: undefined,
    description: "log format: json (one object a line) or pretty (default: pretty when stdout is a terminal, else json)",
  }),
  setting({
    key: "schedulerIntervalMs",
    flag: "scheduler-interval-ms",
    parse: integer(100, 3_600_000),
    fallback: 5000,
    description: "how often retained secrets are checked for expiry",
  }),
  setting({
    key: "checkpointIntervalMs",
    flag: "checkpoint-interval-ms",
    parse: (value, name) => (value.trim() === "0" ? 0 : integer(100, 3_600_000)(value, name)),
    fallback: 10_000,
    description: "how often a signed checkpoint of the stream is appended when events arrived (0: never)",
  }),
  setting({
    key: "authFailuresPerMinute",
    flag: "auth-failures-per-minute",
    parse: integer(1, 1_000_000),
    fallback: 60,
    description: "failed authentications allowed per client address and minute",
  }),
  setting({
    key: "tokenTtlSeconds",
    flag: "token-ttl-seconds",
    parse: integer(30, 86_400),
    fallback: 900,
    description: "lifetime of access tokens",
  }),
  setting({
    key: "trustProxy",
    flag: "trust-proxy",
    parse: trustedProxies,
    fallback: false,
    description: "proxies trusted for X-Forwarded-For: false, a hop count, or addresses/CIDRs",
  }),
  setting({
    key: "readYourWritesTimeoutMs",
    flag: "read-your-writes-timeout-ms",
    parse: integer(100, 600_000),
    fallback: 10_000,
    description: "how long a write waits for the read model",
  }),
  setting({
    key: "publishTimeoutMs",
    flag: "publish-timeout-ms",
    parse: integer(100, 600_000),
    fallback: 5000,
    description: "how long one request to the event store (an attempt to append, a read) waits for its answer",
  }),
  setting({
    key: "readyMaxLag",
    flag: "ready-max-lag",
    parse: integer(0, 1_000_000_000),
    fallback: 1000,
    description: "/readyz answers 503 while the read model is more than this many stream sequences behind the stream",
  }),
  setting({
    key: "tlsCert",
    flag: "tls-cert",
    parse: text,
    fallback: undefined,
    description: "PEM certificate file: with --tls-key, the API is served over HTTPS",
  }),
  setting({
    key: "tlsKey",
    flag: "tls-key",
    parse: text,
    fallback: undefined,
    description: "PEM private key file of --tls-cert",
  }),
  setting({
    key: "natsUser",
    flag: "nats-user",
    parse: text,
    fallback: undefined,
    description: "NATS user name (its password from KEYLEDGER_NATS_PASSWORD only)",
  }),
  setting({
    key: "natsNkeySeedFile",
    flag: "nats-nkey-seed-file",
    parse: text,
    fallback: undefined,
    description: "file holding the NKey seed to authenticate to NATS with",
  }),
  setting({
    key: "natsCredsFile",
    flag: "nats-creds-file",
    parse: text,
    fallback: undefined,
    description: "NATS credentials file (user JWT and NKey seed)",
  }),
  setting({
    key: "natsTlsCa",
    flag: "nats-tls-ca",
    parse: text,
    fallback: undefined,
    description: "PEM file of the CA that signed the NATS servers' certificates: connect with TLS",
  }),
  setting({
    key: "natsTlsCert",
    flag: "nats-tls-cert",
    parse: text,
    fallback: undefined,
    description: "PEM client certificate for TLS to NATS (with --nats-tls-key)",
  }),
  setting({
    key: "natsTlsKey",
    flag: "nats-tls-key",
    parse: text,
    fallback: undefined,
    description: "PEM private key of --nats-tls-cert",
  }),
  setting({
    key: "signingKeyFile",
    flag: "signing-key-file",
    parse: text,
    fallback: undefined,
    description: "file holding the base64 Ed25519 seed (default: <data-dir>/signing.key)",
  }),
  setting({
    key: "nameClaimGraceMs",
    flag: "name-claim-grace-ms",
    parse: integer(1000, 3_600_000),
    fallback: 60_000,
    description: "how long an unfinished name claim holds",
  }),
  setting({
    key: "trustAnchor",
    flag: "trust-anchor",
    parse: (value, name) => {
      if (!/^[A-Za-z0-9_-]{16}$/.test(value.trim()))
        throw new ConfigError(
          `${name} must be a signing key id: 16 base64url characters, as \`keyledger signing-keys list\` shows`,
        );
      return value.trim();
    },
    fallback: undefined,
    description:
      "key id of the ledger's trust anchor that the stream must have (default: the one pinned in <data-dir>/trust-anchor)",
  }),
  setting({
    key: "tokenClockSkewSeconds",
    flag: "token-clock-skew-seconds",
    parse: integer(0, 300),
    fallback: 30,
    description: "how far in the future an access token's issue time may lie (clocks of other daemons)",
  }),
  setting({
    key: "maxStreamsPerPrincipal",
    flag: "max-streams-per-principal",
    parse: integer(1, 10_000),
    fallback: 8,
    description: "live event streams (/v1/events/stream) one service account may hold open at once",
  }),
  setting({
    key: "maxStreams",
    flag: "max-streams",
    parse: integer(1, 100_000),
    fallback: 256,
    description: "live event streams this daemon holds open at once, for everyone together",
  }),
  setting({
    key: "maxAuditRequestsPerPrincipal",
    flag: "max-audit-requests-per-principal",
    parse: integer(1, 1_000),
    fallback: 2,
    description: "audit requests (asOf reads, state, diff, verify, export) one service account may have running at once",
  }),
  setting({
    key: "maxAuditRequests",
    flag: "max-audit-requests",
    parse: integer(1, 10_000),
    fallback: 8,
    description: "audit requests this daemon runs at once, for everyone together",
  }),
  setting({
    key: "duplicateWindowMs",
    flag: "duplicate-window-ms",
    parse: integer(1000, 86_400_000),
    fallback: 120_000,
    description: "JetStream message-id deduplication window",
  }),
] as const;

export function envName(flag: string): string {
  return `KEYLEDGER_${flag.toUpperCase().replaceAll("-", "_")}`;
}

/**
 * Reads and validates every setting once. Flags win over the environment; a bad value stops the
 * daemon with a ConfigError that names the flag or variable.
 */
export function loadConfig(flags: Readonly<Record<string, string | undefined>>, env: NodeJS.ProcessEnv = process.env): Config {
  const config: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const fromFlag = flags[s.flag];
    const variable = envName(s.flag);
    const fromEnv = env[variable];
    if (fromFlag !== undefined) config[s.key] = s.parse(fromFlag, `--${s.flag}`);
    else if (fromEnv !== undefined && fromEnv !== "") config[s.key] = s.parse(fromEnv, variable);
    else config[s.key] = s.fallback;
  }
  config.signingKey = secretFromEnv(env, "KEYLEDGER_SIGNING_KEY");
  config.natsPassword = secretFromEnv(env, "KEYLEDGER_NATS_PASSWORD");
  config.natsToken = secretFromEnv(env, "KEYLEDGER_NATS_TOKEN");
  checkPairs(config as unknown as Config);
  return config as unknown as Config;
}

/** The log format to use: the one configured, else pretty for a person at a terminal and JSON for a service. */
export function logFormatFor(config: Pick<Config, "logFormat">, stdoutIsTerminal: boolean): LogFormat {
  return config.logFormat ?? (stdoutIsTerminal ? "pretty" : "json");
}

function secretFromEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === "" ? undefined : value;
}

/** Settings that only work together, or only one at a time: refused at start, naming them. */
function checkPairs(config: Config): void {
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined))
    throw new ConfigError("--tls-cert (KEYLEDGER_TLS_CERT) and --tls-key (KEYLEDGER_TLS_KEY) go together: give both or neither");
  if ((config.natsTlsCert === undefined) !== (config.natsTlsKey === undefined))
    throw new ConfigError("--nats-tls-cert and --nats-tls-key go together: give both or neither");
  if ((config.natsUser === undefined) !== (config.natsPassword === undefined))
    throw new ConfigError("--nats-user (KEYLEDGER_NATS_USER) needs KEYLEDGER_NATS_PASSWORD, and the password a user");
  const ways = [config.natsUser, config.natsToken, config.natsNkeySeedFile, config.natsCredsFile].filter(
    (way) => way !== undefined,
  );
  if (ways.length > 1)
    throw new ConfigError(
      "authenticate to NATS one way only: a user and password, KEYLEDGER_NATS_TOKEN, --nats-nkey-seed-file or --nats-creds-file",
    );
  const external = [config.natsUser, config.natsToken, config.natsNkeySeedFile, config.natsCredsFile, config.natsTlsCa];
  if (config.natsUrl === undefined && external.some((value) => value !== undefined))
    throw new ConfigError(
      "NATS authentication and TLS settings need --nats-url (KEYLEDGER_NATS_URL): the embedded server has its own",
    );
}
