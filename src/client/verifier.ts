import { createTokenVerifier, type TokenVerifierOptions, type TokenVerifyResult } from "./access-tokens.js";
import { bounded } from "./bounds.js";
import { KeyledgerApiError, KeyledgerConnectionError } from "./errors.js";
import { KeyledgerClient } from "./http-client.js";
import { keyDigest } from "./key-digest.js";
import { describeError, redactor } from "./redaction.js";
import { DEFAULT_STREAM, endsAccount, type Revocation } from "./revocation-contract.js";
import type { FeedState, NatsConnectOptions } from "./nats-options.js";
import type { RevocationFeed } from "./revocation-feed.js";
import { RevocationWindow } from "./revocation-window.js";
import { TokenRevocations } from "./token-revocations.js";
import type { VerifyResult } from "./types.js";
import { readVerifyAnswer } from "./verify-answer.js";
import { VerifyCache } from "./verify-cache.js";
import type { VerifierLogger } from "./verifier-logger.js";

export interface VerifierOptions {
  /** The daemon's base URL, such as http://127.0.0.1:8080. */
  readonly url: string;
  /** The verifier's own API key: its account needs the role `verifier` (or `admin`). */
  readonly apiKey: string;
  /** NATS server(s) of the keyledger stream: with it, the verifier follows the revocation feed. */
  readonly natsUrl?: string | string[];
  readonly natsToken?: string;
  readonly natsUser?: string;
  readonly natsPass?: string;
  /** Anything else `connect` of `@nats-io/transport-node` takes (TLS, nkeys, creds authenticator, …). */
  readonly natsOptions?: NatsConnectOptions;
  /** The event stream's name (the feed is `<stream>_REVOCATIONS`): default `KEYLEDGER`. */
  readonly stream?: string;
  /**
   * How long a positive answer is cached, 0 … 3,600,000 ms (0: no cache). Default 60,000 with the
   * feed, 5,000 without it, where a revoked key stays accepted for up to this long.
   */
  readonly cacheTtlMs?: number;
  /** How many positive answers are cached at most (least recently used go first), 0 … 1,000,000; default 10,000. */
  readonly maxEntries?: number;
  /** The feed's heartbeat, 500 … 30,000 ms, default 1,000: after three missed ones the cache is not trusted. */
  readonly heartbeatMs?: number;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
  readonly logger?: VerifierLogger;
  /** Milliseconds since the epoch, for cache ages and token expiry: `Date.now` by default. */
  readonly clock?: () => number;
  /** Options of the offline access token check (leeway, JWKS refresh). */
  readonly tokens?: Omit<TokenVerifierOptions, "url" | "fetch" | "clock">;
  /** Called for each revocation read from the feed, after the cache dropped what it concerns. */
  readonly onRevocation?: (event: RevocationSeen) => void;
}

export interface RevocationSeen extends Revocation {
  /** How many cached answers it dropped. */
  readonly dropped: number;
}

export interface VerifierStatus {
  /** `off` without `natsUrl`. */
  readonly feed: FeedState | "off";
  /** Whether cached answers are used right now. */
  readonly trusted: boolean;
  /** The feed sequence of the last revocation seen. */
  readonly position: number;
  readonly cachedEntries: number;
  readonly hits: number;
  readonly misses: number;
}

export interface Verifier {
  /** Answers like `POST /v1/auth/verify`, from the cache when it may. */
  verify(key: string): Promise<VerifyResult>;
  /** Checks an access token offline (JWKS, EdDSA) and against the revocations seen on the feed. */
  verifyAccessToken(token: string): Promise<TokenVerifyResult>;
  /** Resolves once the feed is live (at once without `natsUrl`); rejects if the verifier closes first. */
  ready(): Promise<void>;
  status(): VerifierStatus;
  close(): Promise<void>;
}

/** After a revocation of a key or account arrives, how long positive answers about it are not cached. */
const SETTLE_MS = 5000;
const MAX_KEY_LENGTH = 512;

/**
 * A verifier of API keys and access tokens for services: keys are checked through
 * `POST /v1/auth/verify` and positive answers are cached (by the SHA-256 of the key, for a bounded
 * time and number); with `natsUrl` it follows the revocation feed and drops the cached answers of
 * every key or account revoked, on any daemon, as soon as the feed delivers the revocation.
 *
 * Cache semantics:
 * - Only positive answers for a key's current secret are cached; a retained (rotated-out) secret is
 *   asked every time, since its deadline passes without a revocation event reaching the feed first.
 * - With the feed, cached answers are used only while the feed is live: connected, caught up from
 *   the last sequence seen, and heard from within three heartbeats. While it is down or catching
 *   up, every call goes to the API (and fails if the API cannot be reached: never a stale yes).
 * - An answer obtained while a revocation of its key or account arrived, or within a few seconds
 *   after one (the answering daemon may lag the one that recorded it), is not cached.
 * - Without the feed, a revoked key stays accepted from the cache for up to `cacheTtlMs`, so the
 *   default is short (5 s); set it to 0 to ask the API every time.
 * - A key reaching its `expiresAt` is not an event: a cached answer ends at the key's `expiresAt`
 *   (the verify answer carries it), or earlier at `cacheTtlMs`.
 *
 * No presented key, API key or NATS credential appears in what it logs or throws.
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const clock = options.clock ?? Date.now;
  const following = options.natsUrl !== undefined;
  const ttlMs = bounded("cacheTtlMs", options.cacheTtlMs ?? (following ? 60_000 : 5000), 0, 3_600_000);
  const maxEntries = bounded("maxEntries", options.maxEntries ?? 10_000, 0, 1_000_000);
  const heartbeatMs = bounded("heartbeatMs", options.heartbeatMs ?? 1000, 500, 30_000);
  const logger = options.logger ?? {};
  const redact = redactor(options.apiKey, options.natsToken, options.natsPass, options.natsUser);
  const api = new KeyledgerClient({
    url: options.url,
    credential: options.apiKey,
    fetch: options.fetch,
    timeoutMs: options.timeoutMs,
  });
  const tokens = createTokenVerifier({ ...options.tokens, url: options.url, fetch: options.fetch, clock });
  const cache = new VerifyCache(ttlMs, maxEntries);
  const revocationWindow = new RevocationWindow(SETTLE_MS);
  const tokenRevocations = new TokenRevocations();
  let hits = 0;
  let misses = 0;
  let closed = false;
  let feed: RevocationFeed | null = null;

  let markReady: () => void = () => undefined;
  let failReady: (error: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  ready.catch(() => undefined); // nobody has to wait for it

  const onRevocation = (revocation: Revocation): void => {
    const now = clock();
    const wholeAccount = endsAccount(revocation);
    const dropped = wholeAccount ? cache.dropAccount(revocation.accountId) : cache.dropKey(revocation.keyId!);
    revocationWindow.record(wholeAccount ? { accountId: revocation.accountId } : { keyId: revocation.keyId! }, now);
    tokenRevocations.record(revocation, now);
    logger.debug?.({ seq: revocation.seq, type: revocation.type, dropped }, "revocation");
    try {
      options.onRevocation?.({ ...revocation, dropped });
    } catch (error) {
      // The caller's own callback: it must not stop the feed (nor see this revocation again).
      logger.warn?.({ error: redact(describeError(error)) }, "onRevocation threw");
    }
  };

  // What the feed lost may have concerned any cached answer; the token revocations seen stay true.
  const onGap = (): void => {
    cache.clear();
    revocationWindow.forgetAll();
  };

  if (options.natsUrl === undefined) {
    markReady();
  } else {
    const connectOptions: NatsConnectOptions = {
      ...(options.natsToken === undefined ? {} : { token: options.natsToken }),
      ...(options.natsUser === undefined ? {} : { user: options.natsUser }),
      ...(options.natsPass === undefined ? {} : { pass: options.natsPass }),
      ...options.natsOptions,
    };
    const servers = options.natsUrl;
    // Loaded only when asked for: without a feed, the SDK needs nothing but fetch and WebCrypto.
    void import("./revocation-feed.js")
      .then(({ RevocationFeed }) => {
        if (closed) return;
        feed = new RevocationFeed({
          servers,
          stream: options.stream ?? DEFAULT_STREAM,
          connectOptions,
          heartbeatMs,
          retryDelayMs: 1000,
          logger,
          onRevocation,
          onGap,
          onStateChange: (state) => {
            if (state === "live") markReady();
          },
        });
        feed.start();
      })
      .catch((error: unknown) => {
        logger.error?.({ error: redact(describeError(error)) }, "cannot start the revocation feed; every call goes to the API");
      });
  }

  const trusted = (): boolean => (options.natsUrl === undefined ? true : feed?.live === true);

  async function ask(key: string): Promise<VerifyResult> {
    const hide = redactor(key);
    let answer: unknown;
    try {
      answer = await api.verify(key);
    } catch (error) {
      // Built afresh, without the cause: a cause may quote the request that held the credentials.
      if (error instanceof KeyledgerApiError) {
        throw new KeyledgerApiError(
          error.status,
          error.code,
          hide(redact(error.message)),
          error.requestId,
          error.retryAfterSeconds,
        );
      }
      throw new KeyledgerConnectionError(hide(redact(error instanceof Error ? error.message : describeError(error))));
    }
    const result = readVerifyAnswer(answer);
    if (result === null)
      throw new KeyledgerConnectionError(redact(`${options.url} answered verify with something that is not keyledger's API`));
    return result;
  }

  return {
    async verify(key) {
      if (closed) throw new Error("the verifier is closed");
      // What the API would refuse as a body is no key of anyone's.
      if (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY_LENGTH) return { valid: false, code: "not_found" };
      const digest = await keyDigest(key);
      if (trusted()) {
        const hit = cache.get(digest, clock());
        if (hit !== null) {
          hits += 1;
          return hit;
        }
      }
      misses += 1;
      const since = revocationWindow.epoch;
      const result = await ask(key);
      if (!result.valid) {
        cache.delete(digest);
      } else if (
        result.credential === "current" &&
        revocationWindow.mayCache(since, result.serviceAccount.id, result.apiKey.id, clock())
      ) {
        cache.set(digest, result, clock());
      }
      return result;
    },

    async verifyAccessToken(token) {
      if (closed) throw new Error("the verifier is closed");
      const result = await tokens.verify(token);
      if (result.valid && tokenRevocations.revoked(result.claims)) return { valid: false, code: "revoked" };
      return result;
    },

    ready: () => ready,

    status: () => ({
      feed: options.natsUrl === undefined ? "off" : (feed?.state ?? "connecting"),
      trusted: trusted(),
      position: feed?.position ?? 0,
      cachedEntries: cache.size,
      hits,
      misses,
    }),

    async close() {
      if (closed) return;
      closed = true;
      cache.clear();
      failReady(new Error("the verifier closed before its revocation feed was live"));
      await feed?.close();
    },
  };
}
