/** The API answered with an error body; `message` is the API's own sentence. */
export class KeyledgerApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | null,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = "KeyledgerApiError";
  }
}

/** The API could not be reached, or answered with something that is not the API. */
export class KeyledgerConnectionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "KeyledgerConnectionError";
  }
}
