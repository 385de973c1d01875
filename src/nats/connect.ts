import { readFile } from "node:fs/promises";
import { connect, credsAuthenticator, nkeyAuthenticator, type NatsConnection } from "@nats-io/transport-node";

/** How to authenticate to NATS (at most one way) and whether to use TLS; all from configuration. */
export interface NatsClientAuth {
  readonly token?: string;
  readonly user?: string;
  readonly pass?: string;
  readonly nkeySeedFile?: string;
  readonly credsFile?: string;
  readonly tls?: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };
}

/** What a Config says about NATS authentication and TLS, as connection options. */
export function natsAuthOf(config: {
  natsUser?: string;
  natsPassword?: string;
  natsToken?: string;
  natsNkeySeedFile?: string;
  natsCredsFile?: string;
  natsTlsCa?: string;
  natsTlsCert?: string;
  natsTlsKey?: string;
}): NatsClientAuth {
  const tls =
    config.natsTlsCa === undefined && config.natsTlsCert === undefined
      ? undefined
      : { caFile: config.natsTlsCa, certFile: config.natsTlsCert, keyFile: config.natsTlsKey };
  return {
    ...(config.natsUser === undefined ? {} : { user: config.natsUser, pass: config.natsPassword }),
    ...(config.natsToken === undefined ? {} : { token: config.natsToken }),
    ...(config.natsNkeySeedFile === undefined ? {} : { nkeySeedFile: config.natsNkeySeedFile }),
    ...(config.natsCredsFile === undefined ? {} : { credsFile: config.natsCredsFile }),
    ...(tls === undefined ? {} : { tls }),
  };
}

/**
 * Connects to NATS, reconnecting for ever once connected. A seed or credentials file is read here;
 * the seed never goes anywhere else.
 */
export async function connectNats(servers: string, name: string, auth: NatsClientAuth = {}): Promise<NatsConnection> {
  const encoder = new TextEncoder();
  const authenticator =
    auth.nkeySeedFile !== undefined
      ? nkeyAuthenticator(encoder.encode((await readFile(auth.nkeySeedFile, "utf8")).trim()))
      : auth.credsFile !== undefined
        ? credsAuthenticator(encoder.encode(await readFile(auth.credsFile, "utf8")))
        : undefined;
  const tls = auth.tls;
  return connect({
    ...(auth.token === undefined ? {} : { token: auth.token }),
    ...(auth.user === undefined ? {} : { user: auth.user, pass: auth.pass }),
    ...(authenticator === undefined ? {} : { authenticator }),
    ...(tls === undefined
      ? {}
      : {
          tls: {
            ...(tls.caFile === undefined ? {} : { caFile: tls.caFile }),
            ...(tls.certFile === undefined ? {} : { certFile: tls.certFile }),
            ...(tls.keyFile === undefined ? {} : { keyFile: tls.keyFile }),
          },
        }),
    servers: servers.split(",").map((server) => server.trim()),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: false,
    timeout: 10_000,
    // Without it the client builds two errors with stack traces for every request and publish
    // (where it started, and a timeout's in advance), which cost 36 µs of the main thread per key
    // creation in the bench's writes; errors are translated at the edge and say what failed anyway.
    noAsyncTraces: true,
  });
}
