const REDACTED = "[redacted]";

/**
 * A function that takes every given secret (the verifier's API key, a presented key, NATS
 * credentials) and the user part of URLs out of a text, for messages that may quote what they got.
 */
export function redactor(...secrets: Array<string | undefined>): (text: string) => string {
  const known = secrets.filter((secret): secret is string => secret !== undefined && secret.length > 0);
  return (text) => {
    let result = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, `$1${REDACTED}@`);
    for (const secret of known) result = result.split(secret).join(REDACTED);
    return result;
  };
}

/** What an error says, in one line, without its cause (which may quote a request). */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}: ${error.message}${typeof code === "string" && !error.message.includes(code) ? ` (${code})` : ""}`;
  }
  return String(error);
}
