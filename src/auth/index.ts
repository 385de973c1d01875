export { Authenticator, hasRole } from "./authenticator.js";
export type { KeyVerification, Principal, TokenKeys, TokenPolicy } from "./authenticator.js";
export { FailedAuthLimiter, MAX_BUCKETS } from "./failed-auth-limiter.js";
export { VerifiedTokenCache } from "./token-cache.js";
export { issueToken } from "./token-issuer.js";
export type { IssuedToken } from "./token-issuer.js";
export { ISSUER, looksLikeToken, signToken, tokenKeyId, verifyToken } from "./tokens.js";
export type { TokenClaims, TokenLimits } from "./tokens.js";
export { USAGE_BUCKET, UsageTracker } from "./usage.js";
