/**
 * What the verifier logs through: pino's signature (details first, then the message), which
 * `console` also accepts. Every method is optional; by default nothing is logged. The verifier
 * never passes a presented key, its own API key or NATS credentials to it.
 */
export interface VerifierLogger {
  debug?(details: Record<string, unknown>, message: string): void;
  info?(details: Record<string, unknown>, message: string): void;
  warn?(details: Record<string, unknown>, message: string): void;
  error?(details: Record<string, unknown>, message: string): void;
}
