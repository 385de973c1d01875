import { KeyledgerApiError, KeyledgerConnectionError } from "./errors.js";
import type {
  AccessToken,
  ApiKey,
  ApiKeyWithSecret,
  AsOf,
  AuditProgress,
  AuditReport,
  AuditDiff,
  AuditDiffPage,
  AuditState,
  AuditStatePage,
  CreateApiKeyBody,
  CreateServiceAccountBody,
  ErrorBody,
  EventEnvelope,
  EventPage,
  EvidenceBundleHeader,
  EvidenceBundleSeal,
  EvidenceExport,
  ExportAuditOptions,
  FollowEventsOptions,
  ListEventsQuery,
  ListServiceAccountsQuery,
  Page,
  ServiceAccount,
  ServiceAccountAsOfAt,
  ServiceAccountWithKeys,
  SigningKey,
  SigningKeyList,
  StreamCheckpoint,
  UpdateApiKeyBody,
  UpdateServiceAccountBody,
  VerifyAuditOptions,
  VerifyResult,
  Whoami,
} from "./types.js";
import { LastLine } from "./last-line.js";
import { Fatal, MAX_LINE, SseParser, type SseMessage } from "./sse.js";
import { decoded, pause, watchdog } from "./stream-io.js";

/** What the client reads of an answer: a `Response` has all of it. */
export interface FetchAnswer {
  readonly ok: boolean;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly body: ReadableStream<Uint8Array> | null;
  text(): Promise<string>;
}

/** What the client asks of `fetch`: the global one fits, and so does a smaller transport (the CLI's). */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string | undefined; signal: AbortSignal },
) => Promise<FetchAnswer>;

export interface ClientOptions {
  /** The daemon's base URL, such as http://127.0.0.1:8080. */
  readonly url: string;
  /** An API key or an access token. */
  readonly credential: string;
  /** The global `fetch` unless given. */
  readonly fetch?: FetchLike;
  readonly timeoutMs?: number;
}

/**
 * A typed client of keyledger's HTTP API, version 1: one method per route. It uses only `fetch`,
 * `URL`, `TextDecoder` and `AbortController`, so it runs in any JavaScript runtime. No error it
 * throws ever holds the credential.
 */
export class KeyledgerClient {
  private readonly base: string;
  private readonly doFetch: FetchLike;

  constructor(private readonly options: ClientOptions) {
    this.base = options.url.replace(/\/+$/, "");
    // Called as a plain function: a browser's fetch refuses any other `this` ("Illegal invocation").
    this.doFetch = options.fetch ?? ((url, init) => fetch(url, init));
  }

  async whoami(): Promise<Whoami> {
    const answer = await this.request<Partial<Whoami> | undefined>("GET", "/v1/auth/whoami");
    if (typeof answer?.serviceAccount?.name !== "string" || typeof answer.apiKey?.name !== "string") {
      throw new KeyledgerConnectionError(`${this.base} answered whoami with something that is not keyledger's API`);
    }
    return answer as Whoami;
  }

  verify(key: string): Promise<VerifyResult> {
    return this.request("POST", "/v1/auth/verify", { key });
  }

  token(): Promise<AccessToken> {
    return this.request("POST", "/v1/auth/token");
  }

  createServiceAccount(body: CreateServiceAccountBody): Promise<{ serviceAccount: ServiceAccount; apiKey?: ApiKeyWithSecret }> {
    return this.request("POST", "/v1/service-accounts", body);
  }

  /** One page of service accounts; with `asOf`, as they were at that point in history (the answer says which). */
  listServiceAccounts(query: ListServiceAccountsQuery = {}): Promise<Page<ServiceAccount>> {
    const { asOf, ...rest } = query;
    return this.request("GET", `/v1/service-accounts${search({ ...rest, asOf: asOfParam(asOf) })}`);
  }

  /** Every service account matching the query, following the cursor through all pages. */
  async allServiceAccounts(query: Omit<ListServiceAccountsQuery, "cursor"> = {}): Promise<ServiceAccount[]> {
    const items: ServiceAccount[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.listServiceAccounts({ limit: 500, ...query, cursor });
      if (!Array.isArray(page?.items))
        throw new KeyledgerConnectionError(`${this.base} answered a listing that is not keyledger's API`);
      items.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return items;
  }

  /**
   * An account (by id or name) with its keys; with `asOf`, as it was at that point in history, each
   * key with the status it had then (an account is found by its id or by the name it has now).
   */
  getServiceAccount(account: string): Promise<ServiceAccountWithKeys>;
  getServiceAccount(account: string, options: { readonly asOf: AsOf }): Promise<ServiceAccountAsOfAt>;
  getServiceAccount(account: string, options?: { readonly asOf?: AsOf }): Promise<ServiceAccountWithKeys | ServiceAccountAsOfAt> {
    return this.request("GET", `/v1/service-accounts/${segment(account)}${search({ asOf: asOfParam(options?.asOf) })}`);
  }

  updateServiceAccount(account: string, body: UpdateServiceAccountBody): Promise<ServiceAccount> {
    return this.request("PATCH", `/v1/service-accounts/${segment(account)}`, body);
  }

  deleteServiceAccount(account: string): Promise<void> {
    return this.request("DELETE", `/v1/service-accounts/${segment(account)}`);
  }

  createApiKey(account: string, body: CreateApiKeyBody): Promise<ApiKeyWithSecret> {
    return this.request("POST", `/v1/service-accounts/${segment(account)}/api-keys`, body);
  }

  async listApiKeys(account: string, query: { active?: boolean } = {}): Promise<ApiKey[]> {
    const search = query.active === undefined ? "" : `?active=${query.active}`;
    return (await this.request<{ items: ApiKey[] }>("GET", `/v1/service-accounts/${segment(account)}/api-keys${search}`)).items;
  }

  getApiKey(account: string, key: string): Promise<ApiKey> {
    return this.request("GET", `/v1/service-accounts/${segment(account)}/api-keys/${segment(key)}`);
  }

  updateApiKey(account: string, key: string, body: UpdateApiKeyBody): Promise<ApiKey> {
    return this.request("PATCH", `/v1/service-accounts/${segment(account)}/api-keys/${segment(key)}`, body);
  }

  async rotateApiKey(account: string, key: string, retainSeconds = 0): Promise<ApiKeyWithSecret> {
    const path = `/v1/service-accounts/${segment(account)}/api-keys/${segment(key)}/rotate`;
    const answer = await this.request<Partial<ApiKeyWithSecret> | undefined>("POST", path, { retainSeconds });
    if (typeof answer?.key !== "string")
      throw new KeyledgerConnectionError(`${this.base} answered a rotation without the new key`);
    return answer as ApiKeyWithSecret;
  }

  deleteApiKey(account: string, key: string): Promise<void> {
    return this.request("DELETE", `/v1/service-accounts/${segment(account)}/api-keys/${segment(key)}`);
  }

  /** One page of the event history, in stream order. */
  async listEvents(query: ListEventsQuery = {}): Promise<EventPage> {
    const page = await this.request<Partial<EventPage> | undefined>("GET", `/v1/events${search({ ...query })}`);
    if (!Array.isArray(page?.items) || (page.next !== null && typeof page.next !== "number"))
      throw new KeyledgerConnectionError(`${this.base} answered an event listing that is not keyledger's API`);
    return page as EventPage;
  }

  /** The pages of the history from `after` to the end (as of when each page is read), 1000 events a page by default. */
  async *eventPages(query: ListEventsQuery = {}): AsyncGenerator<EventPage, void, undefined> {
    let after = query.after ?? 0;
    for (;;) {
      const page = await this.listEvents({ limit: 1000, ...query, after });
      yield page;
      if (page.next === null) return;
      if (page.next <= after) throw new KeyledgerConnectionError(`${this.base} answered an event page that does not move on`);
      after = page.next;
    }
  }

  /** Every event of the history from `after` on (as filtered), one at a time, reading page after page. */
  async *events(query: ListEventsQuery = {}): AsyncGenerator<EventEnvelope, void, undefined> {
    for await (const page of this.eventPages(query)) yield* page.items;
  }

  /**
   * The live tail of the stream (Server-Sent Events): every new event as it is appended, from `after`
   * (or `lastEventId`) on, or from now when neither is given. A connection that drops (or stays
   * silent past `idleTimeoutMs`) is made again with `Last-Event-ID`, so nothing is missed and no event
   * is yielded twice. Only the first connection's failure, a refusal (4xx) or an answer that is not
   * keyledger's is thrown; aborting `signal` (or leaving the loop) ends the iteration quietly.
   *
   * Without `after`, a drop before the first event arrived resumes at the stream's head of that
   * moment: give `after` to be exact from the start.
   */
  async *followEvents(options: FollowEventsOptions = {}): AsyncGenerator<EventEnvelope, void, undefined> {
    const { signal } = options;
    let lastEventId = options.lastEventId === undefined ? null : String(options.lastEventId).trim();
    if (lastEventId !== null && !/^\d{1,15}$/.test(lastEventId)) throw new TypeError("lastEventId must be a stream sequence");
    if (options.after !== undefined && !(Number.isSafeInteger(options.after) && options.after >= 0))
      throw new TypeError("after must be a stream sequence");
    let lastSeq = lastEventId === null ? (options.after ?? 0) : Number(lastEventId);
    let connectedOnce = false;
    let failures = 0;
    let retryMs = 1000;
    const aborted = (): boolean => signal?.aborted === true;
    while (!aborted()) {
      const query = { after: lastEventId === null ? options.after : undefined, account: options.account, type: options.type };
      const watch = watchdog(options.idleTimeoutMs ?? 45_000, signal);
      let why: string;
      try {
        const response = await this.send("GET", `/v1/events/stream${search(query)}`, {
          accept: "text/event-stream",
          headers: { "cache-control": "no-cache", ...(lastEventId === null ? {} : { "last-event-id": lastEventId }) },
          signal: watch.signal,
        });
        if (!response.ok) {
          const error = await this.failure(response);
          if (!connectedOnce || (response.status < 500 && response.status !== 429)) throw new Fatal(error);
          why = `${error.message} (HTTP ${response.status})`;
        } else {
          if (!(response.headers.get("content-type") ?? "").includes("text/event-stream") || response.body === null)
            throw new Fatal(
              new KeyledgerConnectionError(`${this.base} answered the event stream with something that is not keyledger's API`),
            );
          connectedOnce = true;
          failures = 0;
          const parser = new SseParser();
          for await (const text of decoded(response.body, watch.kick)) {
            for (const message of parser.push(text)) {
              const event = this.eventOf(message);
              if (event.seq <= lastSeq) continue;
              lastSeq = event.seq;
              lastEventId = String(event.seq);
              yield event;
            }
            if (parser.retry !== undefined) retryMs = Math.min(Math.max(parser.retry, 100), 60_000);
          }
          why = "the server closed the connection";
        }
      } catch (error) {
        if (aborted()) return;
        if (error instanceof Fatal) throw error.error;
        if (!connectedOnce) throw error;
        why = watch.timedOut()
          ? "no heartbeat in time"
          : error instanceof KeyledgerConnectionError
            ? error.message
            : reason(error);
      } finally {
        watch.dispose();
      }
      failures += 1;
      const delayMs = Math.min(options.maxRetryDelayMs ?? 30_000, retryMs * 2 ** Math.min(failures - 1, 16));
      options.onReconnect?.({ attempt: failures, delayMs, reason: why, lastEventId });
      if (!(await pause(delayMs, signal))) return;
    }
  }

  /**
   * `GET /v1/audit/verify`: every signature, hash, chain link and checkpoint of the stream. With
   * `onProgress`, the answer is read as NDJSON (progress lines, then the report), and the client's
   * timeout applies between two lines; without, it is one JSON answer within the timeout.
   */
  async verifyAudit(options: VerifyAuditOptions = {}): Promise<AuditReport> {
    const path = `/v1/audit/verify${search({ maxProblems: options.maxProblems, anchor: options.anchor })}`;
    if (options.onProgress === undefined) return this.auditReport(await this.request("GET", path, undefined, options.signal));
    const watch = watchdog(this.options.timeoutMs ?? 30_000, options.signal);
    try {
      const response = await this.send("GET", path, { accept: "application/x-ndjson", signal: watch.signal });
      if (!response.ok) throw await this.failure(response);
      if (!(response.headers.get("content-type") ?? "").includes("ndjson") || response.body === null)
        return this.auditReport(await this.parsed(response));
      let buffer = "";
      for await (const text of decoded(response.body, watch.kick)) {
        buffer += text;
        let end: number;
        while ((end = buffer.indexOf("\n")) !== -1) {
          const line = buffer.slice(0, end).trim();
          buffer = buffer.slice(end + 1);
          if (line === "") continue;
          const item = this.json<{ progress?: unknown; report?: unknown; error?: Partial<ErrorBody["error"]> }>(line, 200);
          if (item.report !== undefined) return this.auditReport(item.report);
          if (item.error !== undefined) {
            const { code, message, requestId } = item.error;
            if (typeof message !== "string") throw this.notTheApi("the audit");
            throw new KeyledgerApiError(503, code ?? "unavailable", message, requestId ?? null);
          }
          if (item.progress !== undefined && typeof item.progress === "object" && item.progress !== null)
            options.onProgress(item.progress as AuditProgress);
        }
        if (buffer.length > MAX_LINE) throw this.notTheApi("the audit");
      }
      throw new KeyledgerConnectionError(`the audit answer of ${this.base} ended before its report`);
    } catch (error) {
      if (error instanceof KeyledgerApiError || error instanceof KeyledgerConnectionError) throw error;
      const why = watch.timedOut() ? "no answer in time" : reason(error);
      throw new KeyledgerConnectionError(`lost the audit answer of keyledger at ${this.base}: ${why}`, { cause: error });
    } finally {
      watch.dispose();
    }
  }

  /**
   * `GET /v1/audit/export`: the evidence bundle (docs/evidence-bundle.md), to be written as it comes
   * and checked offline (`keyledger audit verify --bundle`). Answers once the header line is in; the
   * bytes then come through `chunks()`, the client's timeout applying between two chunks. A bundle
   * that ends with the daemon's error line throws its KeyledgerApiError at the end of `chunks()`, one
   * that ends without its seal a KeyledgerConnectionError.
   */
  async exportAudit(options: ExportAuditOptions = {}): Promise<EvidenceExport> {
    const what = "the evidence export";
    const watch = watchdog(this.options.timeoutMs ?? 30_000, options.signal);
    const lost = (error: unknown): Error =>
      error instanceof KeyledgerApiError || error instanceof KeyledgerConnectionError
        ? error
        : new KeyledgerConnectionError(
            `lost ${what} of keyledger at ${this.base}: ${watch.timedOut() ? "no answer in time" : reason(error)}`,
            {
              cause: error,
            },
          );
    let reader: ReadableStreamDefaultReader<Uint8Array>;
    const first: Uint8Array[] = [];
    let header: EvidenceBundleHeader;
    try {
      const response = await this.send("GET", "/v1/audit/export", { accept: "application/x-ndjson", signal: watch.signal });
      if (!response.ok) throw await this.failure(response);
      if (!(response.headers.get("content-type") ?? "").includes("ndjson") || response.body === null) throw this.notTheApi(what);
      const filename = /filename="([^"]*)"/.exec(response.headers.get("content-disposition") ?? "")?.[1] ?? null;
      reader = response.body.getReader();
      // The header is the first line: read up to its end.
      let seen = 0;
      let end = -1;
      while (end === -1) {
        const { done, value } = await reader.read();
        if (done) throw new KeyledgerConnectionError(`${what} of ${this.base} ended before its header`);
        watch.kick();
        first.push(value);
        const at = value.indexOf(10);
        if (at !== -1) end = seen + at;
        seen += value.length;
        if (end === -1 && seen > MAX_LINE) throw this.notTheApi(what);
      }
      header = this.bundleHeader(new TextDecoder().decode(joined(first).subarray(0, end)), what);
      return this.evidenceExport(header, filename, first, reader, watch, lost);
    } catch (error) {
      watch.dispose();
      throw lost(error);
    }
  }

  private evidenceExport(
    header: EvidenceBundleHeader,
    filename: string | null,
    first: readonly Uint8Array[],
    reader: ReadableStreamDefaultReader<Uint8Array>,
    watch: ReturnType<typeof watchdog>,
    lost: (error: unknown) => Error,
  ): EvidenceExport {
    const client = this;
    let seal: EvidenceBundleSeal | null = null;
    return {
      header,
      filename,
      get seal() {
        return seal;
      },
      async *chunks() {
        const last = new LastLine();
        let finished = false;
        try {
          for (const chunk of first) {
            last.push(chunk);
            yield chunk;
          }
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            watch.kick();
            last.push(value);
            yield value;
          }
          finished = true;
          seal = client.bundleEnd(last, header);
        } catch (error) {
          throw lost(error);
        } finally {
          if (!finished) reader.cancel().catch(() => undefined);
          watch.dispose();
        }
      },
    };
  }

  private bundleHeader(text: string, what: string): EvidenceBundleHeader {
    let header: Partial<EvidenceBundleHeader> | null;
    try {
      header = JSON.parse(text) as Partial<EvidenceBundleHeader> | null;
    } catch {
      throw this.notTheApi(what);
    }
    if (header?.format !== "keyledger-evidence" || typeof header.head !== "number" || typeof header.version !== "number")
      throw this.notTheApi(what);
    return header as EvidenceBundleHeader;
  }

  /** The seal a finished bundle ends with; its error line, or its lack of a seal, thrown. */
  private bundleEnd(last: LastLine, header: EvidenceBundleHeader): EvidenceBundleSeal {
    const text = last.unfinished ? null : last.line();
    type Last = { end?: Partial<EvidenceBundleSeal>; error?: Partial<ErrorBody["error"]> } | null;
    const parse = (): Last => {
      try {
        return text === null ? null : (JSON.parse(text) as Last);
      } catch {
        return null;
      }
    };
    const item = parse();
    if (item?.error !== undefined && typeof item.error?.message === "string") {
      const { code, message, requestId } = item.error;
      throw new KeyledgerApiError(503, code ?? "unavailable", message, requestId ?? null);
    }
    const end = item?.end;
    if (end === undefined || typeof end.eventCount !== "number" || end.head !== header.head)
      throw new KeyledgerConnectionError(`the evidence export of ${this.base} ended before its seal: the bundle is incomplete`);
    return end as EvidenceBundleSeal;
  }

  /** `GET /v1/audit/checkpoint`: the last signed checkpoint the daemon's read model passed; null while there is none. */
  async auditCheckpoint(): Promise<StreamCheckpoint | null> {
    try {
      return await this.request<StreamCheckpoint>("GET", "/v1/audit/checkpoint");
    } catch (error) {
      if (error instanceof KeyledgerApiError && error.code === "not_found") return null;
      throw error;
    }
  }

  /** `GET /v1/signing-keys`: the trust anchor, and the trusted, pending and revoked signing keys. */
  async signingKeys(): Promise<SigningKeyList> {
    const list = await this.request<Partial<SigningKeyList> | undefined>("GET", "/v1/signing-keys");
    if (!Array.isArray(list?.items)) throw this.notTheApi("the signing keys");
    return list as SigningKeyList;
  }

  /** `POST /v1/signing-keys/:kid/approve`: enrols a pending key (one a daemon announced, or with its public key). */
  approveSigningKey(kid: string, publicKey?: string): Promise<SigningKey> {
    return this.request("POST", `/v1/signing-keys/${segment(kid)}/approve`, publicKey === undefined ? {} : { publicKey });
  }

  /** `POST /v1/signing-keys/:kid/revoke`: nothing the key signs after this counts (another trusted key signs it). */
  revokeSigningKey(kid: string, reason: string): Promise<SigningKey> {
    return this.request("POST", `/v1/signing-keys/${segment(kid)}/revoke`, { reason });
  }

  /** `GET /v1/audit/state`: one page of the accounts and keys as they were at a point in history, each key with its status then. */
  async auditStatePage(asOf: AsOf, page: { limit?: number; cursor?: string } = {}): Promise<AuditStatePage> {
    const state = await this.request<Partial<AuditStatePage> | undefined>(
      "GET",
      `/v1/audit/state${search({ asOf: asOfParam(asOf), limit: page.limit, cursor: page.cursor })}`,
    );
    if (!Array.isArray(state?.serviceAccounts) || typeof state.asOf?.seq !== "number" || state.nextCursor === undefined)
      throw this.notTheApi("the audit state");
    return state as AuditStatePage;
  }

  /**
   * Every account and key as they were at a point in history, following the pages of
   * `GET /v1/audit/state` (`onPage` hears how many accounts have come so far).
   */
  async auditState(asOf: AsOf, options: { limit?: number; onPage?: (accounts: number) => void } = {}): Promise<AuditState> {
    const first = await this.auditStatePage(asOf, { limit: options.limit ?? 500 });
    const serviceAccounts = [...first.serviceAccounts];
    options.onPage?.(serviceAccounts.length);
    for (let cursor = first.nextCursor; cursor !== null;) {
      const page = await this.auditStatePage(asOf, { limit: options.limit ?? 500, cursor });
      serviceAccounts.push(...page.serviceAccounts);
      options.onPage?.(serviceAccounts.length);
      cursor = page.nextCursor;
    }
    return { asOf: first.asOf, serviceAccounts };
  }

  /** `GET /v1/audit/diff`: one page of the accounts and keys created, deleted or changed between two points. */
  async auditDiffPage(from: AsOf, to: AsOf | undefined, page: { limit?: number; cursor?: string } = {}): Promise<AuditDiffPage> {
    const diff = await this.request<Partial<AuditDiffPage> | undefined>(
      "GET",
      `/v1/audit/diff${search({ from: asOfParam(from), to: to === undefined ? undefined : asOfParam(to), limit: page.limit, cursor: page.cursor })}`,
    );
    if (!Array.isArray(diff?.accounts) || typeof diff.events !== "number" || diff.nextCursor === undefined)
      throw this.notTheApi("the audit diff");
    return diff as AuditDiffPage;
  }

  /**
   * Everything that changed between two points, following the pages of `GET /v1/audit/diff`
   * (`to` undefined: up to the head when the first page is read; the later pages hold to it).
   */
  async auditDiff(
    from: AsOf,
    to: AsOf | undefined,
    options: { limit?: number; onPage?: (accounts: number) => void } = {},
  ): Promise<AuditDiff> {
    const first = await this.auditDiffPage(from, to, { limit: options.limit ?? 500 });
    const accounts = [...first.accounts];
    options.onPage?.(accounts.length);
    for (let cursor = first.nextCursor; cursor !== null;) {
      const page = await this.auditDiffPage(from, first.to.seq, { limit: options.limit ?? 500, cursor });
      accounts.push(...page.accounts);
      options.onPage?.(accounts.length);
      cursor = page.nextCursor;
    }
    return { from: first.from, to: first.to, accounts, events: first.events };
  }

  private auditReport(report: unknown): AuditReport {
    const candidate = report as Partial<AuditReport> | undefined;
    if (typeof candidate?.ok !== "boolean" || !Array.isArray(candidate.problems)) throw this.notTheApi("the audit");
    return candidate as AuditReport;
  }

  private eventOf(message: SseMessage): EventEnvelope {
    let event: Partial<EventEnvelope> | null;
    try {
      event = this.json<Partial<EventEnvelope> | null>(message.data, 200);
    } catch (error) {
      throw new Fatal(error as Error);
    }
    const seq = /^\d{1,15}$/.test(message.id ?? "") ? Number(message.id) : event?.seq;
    if (event === null || typeof event !== "object" || typeof seq !== "number" || typeof event.type !== "string")
      throw new Fatal(this.notTheApi("an event of the stream"));
    return { ...event, seq } as EventEnvelope;
  }

  private async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const watch = watchdog(this.options.timeoutMs ?? 30_000, signal);
    try {
      const response = await this.send(method, path, { body, signal: watch.signal });
      if (!response.ok) throw await this.failure(response);
      return await this.parsed<T>(response);
    } finally {
      watch.dispose();
    }
  }

  /** Sends a request; a failure to reach the API (or to read its answer) becomes a KeyledgerConnectionError. */
  private async send(
    method: string,
    path: string,
    init: { body?: unknown; accept?: string; headers?: Record<string, string>; signal: AbortSignal },
  ): Promise<FetchAnswer> {
    try {
      return await this.doFetch(`${this.base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.options.credential}`,
          accept: init.accept ?? "application/json",
          ...(init.body === undefined ? {} : { "content-type": "application/json" }),
          ...init.headers,
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: init.signal,
      });
    } catch (error) {
      throw new KeyledgerConnectionError(`cannot reach keyledger at ${this.base}: ${reason(error)}`, { cause: error });
    }
  }

  private async parsed<T>(response: FetchAnswer): Promise<T> {
    const text = await this.text(response);
    return text === "" ? (undefined as T) : this.json<T>(text, response.status);
  }

  private async text(response: FetchAnswer): Promise<string> {
    try {
      return await response.text();
    } catch (error) {
      throw new KeyledgerConnectionError(`lost the answer of keyledger at ${this.base}: ${reason(error)}`, { cause: error });
    }
  }

  private json<T>(text: string, status: number): T {
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new KeyledgerConnectionError(`${this.base} answered ${status} with something that is not keyledger's API`);
    }
  }

  private notTheApi(what: string): KeyledgerConnectionError {
    return new KeyledgerConnectionError(`${this.base} answered ${what} with something that is not keyledger's API`);
  }

  /** The error an answer that is not 2xx stands for: the API's own, or a connection error when it is not the API. */
  private async failure(response: FetchAnswer): Promise<Error> {
    const text = await this.text(response);
    let parsed: Partial<ErrorBody> | undefined;
    try {
      parsed = JSON.parse(text) as Partial<ErrorBody>;
    } catch {
      parsed = undefined;
    }
    const error = parsed?.error;
    if (error === undefined || typeof error.message !== "string") {
      return new KeyledgerConnectionError(`${this.base} answered ${response.status} without a keyledger error body`);
    }
    const retryAfter = response.headers.get("retry-after");
    return new KeyledgerApiError(
      response.status,
      error.code,
      error.message,
      error.requestId ?? null,
      retryAfter === null ? null : Number(retryAfter),
    );
  }
}

function joined(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A query string of the defined values, or "". */
function search(query: Record<string, string | number | boolean | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

function asOfParam(asOf: AsOf | undefined): string | undefined {
  if (asOf === undefined) return undefined;
  if (asOf instanceof Date) return asOf.toISOString();
  return String(asOf);
}

function segment(value: string): string {
  return encodeURIComponent(value);
}

function reason(error: unknown): string {
  if (error instanceof Error && error.name === "TimeoutError") return "no answer in time";
  // fetch's own messages may quote a header value, which holds the credential: never repeat them.
  if (error instanceof TypeError && /header/i.test(error.message)) return "the request could not be built";
  const cause = (error as { cause?: { code?: string; message?: string; errors?: Array<{ code?: string }> } }).cause;
  return cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
