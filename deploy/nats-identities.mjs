// Writes the NATS identities of docker-compose.yml into a secrets directory (see make-secrets.sh):
//
//   keyledger-1.nk, keyledger-2.nk   each daemon's NKey user seed (kept once made)
//   revocation-reader.nk             a seed for services that only follow the revocation feed
//   nats-users.conf                  users (public NKeys) and their permissions, made from the seeds
//   nats-routes.conf                 the cluster's route user and password, and the routes that use them
//
// Node only, no package: an NKey is base32 (RFC 4648, no padding) of prefix bytes, the 32-byte
// Ed25519 seed or public key, and a CRC-16/XMODEM of both, little-endian (as nkeys.js encodes it).
import { createPrivateKey, createPublicKey, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const STREAM = "KEYLEDGER";
const FEED = `${STREAM}_REVOCATIONS`;
const BUCKETS = ["keyledger_signing_keys", "keyledger_usage"];
const ROUTE_HOSTS = ["nats-1", "nats-2", "nats-3"];
const ROUTE_PORT = 6222;
/** The reader's replies and deliveries come on its own inbox prefix: it cannot listen on the daemons' `_INBOX.>`. */
const READER_INBOX_PREFIX = "_INBOX_revocation_reader";

/**
 * A daemon: creates and follows the stream, the feed and the KV buckets, appends to them (and answers
 * the KV watchers' flow control), but cannot delete or purge a stream nor delete a message.
 */
const DAEMON = {
  publish: {
    allow: ["$JS.API.>", "kl.>", ...BUCKETS.flatMap((bucket) => [`$KV.${bucket}.>`, `$JS.FC.KV_${bucket}.>`])],
    deny: ["$JS.API.STREAM.DELETE.>", "$JS.API.STREAM.PURGE.>", "$JS.API.STREAM.MSG.DELETE.>"],
  },
  subscribe: { allow: ["_INBOX.>"] },
};

/**
 * A feed follower: the feed's state, consumers of its own on the feed (ordered ones, as the SDK
 * makes, or durable ones it acknowledges), and the account's JetStream limits that nats.js asks for
 * first; nothing of the event stream or the KV buckets, and no message into any stream.
 */
const READER = {
  publish: {
    allow: [
      "$JS.API.INFO",
      `$JS.API.STREAM.INFO.${FEED}`,
      `$JS.API.CONSUMER.CREATE.${FEED}.>`,
      `$JS.API.CONSUMER.INFO.${FEED}.*`,
      `$JS.API.CONSUMER.DELETE.${FEED}.*`,
      `$JS.API.CONSUMER.MSG.NEXT.${FEED}.*`,
      `$JS.ACK.${FEED}.>`,
    ],
  },
  subscribe: { allow: [`${READER_INBOX_PREFIX}.>`] },
};

const IDENTITIES = [
  { name: "keyledger-1", permissions: DAEMON },
  { name: "keyledger-2", permissions: DAEMON },
  { name: "revocation-reader", permissions: READER },
];

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const PREFIX_SEED = 18 << 3;
const PREFIX_USER = 20 << 3;

function base32(bytes) {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

function unbase32(text) {
  let bits = 0;
  let value = 0;
  const out = [];
  for (const char of text) {
    const index = BASE32.indexOf(char);
    if (index < 0) throw new Error("not base32");
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function crc16(bytes) {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function withChecksum(bytes) {
  const sum = Buffer.alloc(2);
  sum.writeUInt16LE(crc16(bytes));
  return Buffer.concat([bytes, sum]);
}

function encodeUserSeed(seed) {
  const prefix = Buffer.from([PREFIX_SEED | (PREFIX_USER >> 5), (PREFIX_USER & 31) << 3]);
  return base32(withChecksum(Buffer.concat([prefix, seed])));
}

function decodeUserSeed(text) {
  const raw = unbase32(text.trim());
  const body = raw.subarray(0, raw.length - 2);
  if (raw.length !== 36 || raw.readUInt16LE(raw.length - 2) !== crc16(body)) throw new Error("not an NKey seed");
  if (encodeUserSeed(body.subarray(2)) !== text.trim()) throw new Error("not an NKey user seed");
  return body.subarray(2);
}

/** The public NKey (`U…`) of a 32-byte Ed25519 seed. */
function userPublicKey(seed) {
  const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
  const publicKey = createPublicKey(createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }));
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x, "base64url");
  return base32(withChecksum(Buffer.concat([Buffer.from([PREFIX_USER]), raw])));
}

/** Readable by the container's user (a bind mount keeps the host's mode); the directory around it is private. */
function create(path, text) {
  writeFileSync(path, text, { mode: 0o644, flag: "wx" });
  console.log(`created ${path}`);
}

function replace(path, text) {
  writeFileSync(path, text, { mode: 0o644 });
  console.log(`wrote ${path}`);
}

function makeIdentities(dir) {
  const users = [];
  for (const { name, permissions } of IDENTITIES) {
    const path = join(dir, `${name}.nk`);
    if (existsSync(path)) console.log(`keeping ${path}`);
    else create(path, `${encodeUserSeed(randomBytes(32))}\n`);
    const nkey = userPublicKey(decodeUserSeed(readFileSync(path, "utf8")));
    users.push(`  # ${name}\n  ${JSON.stringify({ nkey, permissions }, null, 2).replaceAll("\n", "\n  ")}`);
  }
  // Made from the seeds every time: a seed deleted and made again replaces its public key here.
  replace(
    join(dir, "nats-users.conf"),
    `# Included in the authorization block of nats.conf. Made by make-secrets.sh from the seeds beside it.\nusers: [\n${users.join(",\n")}\n]\n`,
  );

  const routes = join(dir, "nats-routes.conf");
  if (existsSync(routes)) {
    console.log(`keeping ${routes}`);
  } else {
    const password = randomBytes(32).toString("hex");
    const urls = ROUTE_HOSTS.map((host) => `  "nats-route://route:${password}@${host}:${ROUTE_PORT}"`);
    create(
      routes,
      `# Included in the cluster block of nats.conf: a node that does not present these is no route.\nauthorization {\n  user: "route"\n  password: "${password}"\n}\nroutes: [\n${urls.join("\n")}\n]\n`,
    );
  }
}

const dir = process.argv[2];
if (dir === undefined) {
  console.error("usage: node nats-identities.mjs <secrets directory>");
  process.exit(2);
}
makeIdentities(dir);
