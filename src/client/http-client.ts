import { KeyledgerApiError, KeyledgerConnectionError } from "./errors.js";
import type {
  AccessToken,
  ApiKey,
  ApiKeyWithSecret,
  CreateApiKeyBody,
  CreateServiceAccountBody,
  ErrorBody,
  ListServiceAccountsQuery,
  Page,
  ServiceAccount,
  ServiceAccountWithKeys,
  UpdateApiKeyBody,
  UpdateServiceAccountBody,
  VerifyResult,
  Whoami,
} from "./types.js";

export interface ClientOptions {
  /** The daemon's base URL, such as http://127.0.0.1:8080. */
  readonly url: string;
  /** An API key or an access token. */
  readonly credential: string;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
}

/**
 * A typed client of keyledger's HTTP API, version 1: one method per route. It uses only `fetch`
 * and `URL`, so it runs in any JavaScript runtime.
 */
export class KeyledgerClient {
  private readonly base: string;
  private readonly doFetch: typeof fetch;

  constructor(private readonly options: ClientOptions) {
    this.base = options.url.replace(/\/+$/, "");
    this.doFetch = options.fetch ?? fetch;
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

  listServiceAccounts(query: ListServiceAccountsQuery = {}): Promise<Page<ServiceAccount>> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
    const search = params.toString();
    return this.request("GET", `/v1/service-accounts${search === "" ? "" : `?${search}`}`);
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

  getServiceAccount(account: string): Promise<ServiceAccountWithKeys> {
    return this.request("GET", `/v1/service-accounts/${segment(account)}`);
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

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await this.doFetch(`${this.base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.options.credential}`,
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      throw new KeyledgerConnectionError(`cannot reach keyledger at ${this.base}: ${reason(error)}`, { cause: error });
    }
    const text = await response.text();
    if (response.ok) {
      if (text === "") return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new KeyledgerConnectionError(`${this.base} answered ${response.status} with something that is not keyledger's API`);
      }
    }
    let parsed: Partial<ErrorBody> | undefined;
    try {
      parsed = JSON.parse(text) as Partial<ErrorBody>;
    } catch {
      parsed = undefined;
    }
    const error = parsed?.error;
    if (error === undefined || typeof error.message !== "string") {
      throw new KeyledgerConnectionError(`${this.base} answered ${response.status} without a keyledger error body`);
    }
    const retryAfter = response.headers.get("retry-after");
    throw new KeyledgerApiError(
      response.status,
      error.code,
      error.message,
      error.requestId ?? null,
      retryAfter === null ? null : Number(retryAfter),
    );
  }
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
