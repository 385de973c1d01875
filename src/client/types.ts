/**
 * The resources of keyledger's HTTP API, version 1, as a client sees them. Plain types with no
 * runtime dependency, so that the SDK runs in any JavaScript runtime.
 */
export type Role = "admin" | "auditor" | "verifier";

export interface ServiceAccount {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly active: boolean;
  readonly roles: string[];
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly version: number;
}

export interface ApiKey {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly active: boolean;
  readonly serviceAccountId: string;
  readonly hint: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastRotatedAt: string | null;
  readonly lastUsedAt: string | null;
  readonly expiresAt: string | null;
  readonly retainedUntil: string | null;
}

/** A key as answered by create and rotate: the only time its secret is shown. */
export interface ApiKeyWithSecret extends ApiKey {
  readonly key: string;
}

export interface ServiceAccountWithKeys extends ServiceAccount {
  readonly apiKeys: ApiKey[];
}

export interface CreateServiceAccountBody {
  readonly name: string;
  readonly description?: string;
  readonly roles?: Role[];
  readonly active?: boolean;
  readonly createApiKey?: boolean;
}

export interface UpdateServiceAccountBody {
  readonly name?: string;
  readonly description?: string;
  readonly active?: boolean;
  readonly roles?: Role[];
}

export interface CreateApiKeyBody {
  readonly name: string;
  readonly description?: string;
  readonly expiresAt?: string | null;
}

export interface UpdateApiKeyBody {
  readonly name?: string;
  readonly description?: string;
  readonly active?: boolean;
  readonly expiresAt?: string | null;
}

export interface ListServiceAccountsQuery {
  readonly active?: boolean;
  readonly name?: string;
  readonly limit?: number;
  readonly cursor?: string;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

export interface Whoami {
  readonly serviceAccount: ServiceAccount;
  readonly apiKey: ApiKey;
  readonly credential: "current" | "retained" | "token";
}

export type VerifyResult =
  | {
      readonly valid: true;
      readonly serviceAccount: { readonly id: string; readonly name: string; readonly roles: string[] };
      readonly apiKey: { readonly id: string; readonly name: string };
      readonly credential: "current" | "retained";
    }
  | { readonly valid: false; readonly code: string };

export interface AccessToken {
  readonly accessToken: string;
  readonly tokenType: "Bearer";
  readonly expiresIn: number;
  readonly expiresAt: string;
}

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly requestId: string };
}
