export { canonicalJson } from "./canonical-json.js";
export { keyIdOfPublicKey, signerFromSeed, verifySignature } from "./ed25519.js";
export type { Signer } from "./ed25519.js";
export { loadSigner, SIGNING_KEY_FILE } from "./key-file.js";
export { inThreadChecker, SignatureWorkerPool } from "./signature-pool.js";
export type { SignatureChecker, SignatureJob } from "./signature-pool.js";
