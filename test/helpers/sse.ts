import { request, type IncomingMessage } from "node:http";

/** One Server-Sent Event as a client sees it. */
export interface SseEvent {
  readonly id: string | undefined;
  readonly event: string | undefined;
  readonly data: string;
}

export interface SseConnection {
  readonly status: number;
  readonly headers: Headers;
  /** Every event dispatched so far, in order. */
  readonly events: SseEvent[];
  /** The last `retry:` the server sent, if any. */
  retry(): number | undefined;
  /** Resolves once at least `count` events arrived (all events so far), or fails after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<SseEvent[]>;
  /** Resolves once the answer is over: "end" when the server ended it, "error" when it broke or the client hung up. */
  readonly ended: Promise<"end" | "error">;
  /** The body of a non-2xx answer (JSON when it is JSON). */
  errorBody(): Promise<unknown>;
  /** The client hangs up: its connection is closed (no keep-alive, no pool). */
  close(): void;
}

/**
 * Opens `GET url` on a connection of its own (node:http, no agent) and parses the body of a 2xx
 * answer as an event stream by the WHATWG rules: lines end with LF, CR or CRLF; a blank line
 * dispatches; `:` starts a comment; `data` lines join with LF; `id` and `retry` are remembered.
 */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  const req = request(url, { headers: { accept: "text/event-stream", ...headers }, agent: false });
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    req.once("response", resolve);
    req.once("error", reject);
    req.end();
  });
  req.on("error", () => undefined); // a hang-up after the answer started shows in `ended`
  response.setEncoding("utf8");

  const responseHeaders = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) responseHeaders.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  const status = response.statusCode ?? 0;
  const events: SseEvent[] = [];
  let retry: number | undefined;
  let finished = false;
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const listener of listeners) listener();
  };

  let text = "";
  let buffer = "";
  let data: string[] = [];
  let id: string | undefined;
  let event: string | undefined;
  const line = (content: string): void => {
    if (content === "") {
      if (data.length > 0) events.push({ id, event, data: data.join("\n") });
      data = [];
      event = undefined;
      return;
    }
    if (content.startsWith(":")) return;
    const colon = content.indexOf(":");
    const field = colon < 0 ? content : content.slice(0, colon);
    let value = colon < 0 ? "" : content.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") event = value;
    else if (field === "id" && !value.includes("\0")) id = value;
    else if (field === "retry" && /^\d+$/.test(value)) retry = Number(value);
  };
  const ok = status >= 200 && status < 300;
  response.on("data", (chunk: string) => {
    if (!ok) {
      text += chunk;
      return;
    }
    buffer += chunk;
    let match: RegExpExecArray | null;
    while ((match = /\r\n|\r|\n/.exec(buffer)) !== null) {
      // A lone CR at the end of what arrived may be the first half of a CRLF.
      if (match[0] === "\r" && match.index === buffer.length - 1) break;
      line(buffer.slice(0, match.index));
      buffer = buffer.slice(match.index + match[0].length);
    }
    notify();
  });
  const ended = new Promise<"end" | "error">((resolve) => {
    response.once("end", () => resolve("end"));
    response.once("error", () => resolve("error"));
    response.once("aborted", () => resolve("error"));
    response.once("close", () => resolve(response.complete ? "end" : "error"));
  }).then((outcome) => {
    finished = true;
    notify();
    return outcome;
  });

  return {
    status,
    headers: responseHeaders,
    events,
    retry: () => retry,
    ended,
    close: () => req.destroy(),
    errorBody: async () => {
      await ended;
      try {
        return JSON.parse(text);
      } catch {
        return text;
      }
    },
    waitFor: (count, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (events.length >= count) {
            cleanup();
            resolve([...events]);
          } else if (finished) {
            cleanup();
            reject(new Error(`the stream ended after ${events.length} of ${count} events`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`only ${events.length} of ${count} events arrived in ${timeoutMs} ms`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      }),
  };
}
