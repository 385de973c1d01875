import { request as httpRequest, type IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import type { FetchAnswer, FetchLike } from "../client/http.js";

/**
 * The CLI's transport: the client's requests on `node:http`/`node:https` instead of the global
 * `fetch`, whose first use loads undici (about 0.2 s of a command that otherwise takes as long).
 * It does what the client asks of `fetch` and no more: one request, headers, a text body, an
 * abort signal (rejecting with its reason, as `fetch` does), the answer as text or as a stream.
 * Redirects are not followed: a daemon never sends one, and a credential goes nowhere else.
 * Errors carry Node's own (`cause.code`: ECONNREFUSED, …), as `fetch` failures do.
 */
export const nodeFetch: FetchLike = async (url, init) => {
  const target = new URL(url);
  // node:https (and TLS with it) is loaded only for an https URL.
  const send =
    target.protocol === "https:" ? (await import("node:https")).request : target.protocol === "http:" ? httpRequest : null;
  if (send === null) throw new TypeError(`unsupported protocol ${target.protocol}`);
  return new Promise<FetchAnswer>((resolve, reject) => {
    const { signal } = init;
    if (signal.aborted) return reject(signal.reason);
    const headers: Record<string, string | number> = { ...init.headers };
    if (init.body !== undefined) headers["content-length"] = Buffer.byteLength(init.body);
    const request = send(target, { method: init.method, headers });
    const onAbort = (): void => {
      request.destroy(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    request.once("error", (error) => {
      signal.removeEventListener("abort", onAbort);
      reject(signal.aborted ? signal.reason : new TypeError("fetch failed", { cause: error }));
    });
    request.once("response", (response) => {
      signal.removeEventListener("abort", onAbort);
      resolve(answer(response, signal));
    });
    request.end(init.body);
  });
};

function answer(response: IncomingMessage, signal: AbortSignal): FetchAnswer {
  const status = response.statusCode ?? 0;
  // An abort after the answer began ends its body with the signal's reason, as with `fetch`.
  signal.addEventListener("abort", () => response.destroy(signal.reason instanceof Error ? signal.reason : undefined), {
    once: true,
  });
  let stream: ReadableStream<Uint8Array> | undefined;
  return {
    ok: status >= 200 && status < 300,
    status,
    headers: {
      get: (name) => {
        const value = response.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
      },
    },
    get body() {
      return (stream ??= Readable.toWeb(response) as ReadableStream<Uint8Array>);
    },
    text: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of response) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    },
  };
}
