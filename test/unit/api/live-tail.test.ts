import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { LiveTail, type TailEnd, type TailMessages } from "../../../src/api/routes/live-tail.js";
import { SCHEMA_VERSION } from "../../../src/format/index.js";
import { waitUntil } from "../../helpers/http.js";
import { openSse } from "../../helpers/sse.js";

type Message = { readonly seq: number; readonly data: Uint8Array };

/** A consumer the test drives: it hands out what is pushed, fails or stops when told, and records its close. */
class ScriptedMessages implements TailMessages {
  closed = 0;
  private readonly queue: Array<Message | Error | "stop"> = [];
  private wake: (() => void) | undefined;

  push(item: Message | Error | "stop"): void {
    this.queue.push(item);
    this.wake?.();
  }

  async close(): Promise<void> {
    this.closed += 1;
    this.push("stop");
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Message> {
    for (;;) {
      const item = this.queue.shift();
      if (item === undefined) await new Promise<void>((resolve) => (this.wake = resolve));
      else if (item === "stop") return;
      else if (item instanceof Error) throw item;
      else yield item;
    }
  }
}

const event = (seq: number): Message => ({
  seq,
  // An envelope of the right shape (the tail passes over what is not a readable event); its content is no matter here.
  data: new TextEncoder().encode(
    JSON.stringify({
      id: `evt_${seq}`,
      type: "ApiKeyCreated",
      schemaVersion: SCHEMA_VERSION,
      accountId: "sa_x",
      occurredAt: "2026-01-01T00:00:00.000Z",
      actor: { kind: "system", reason: "bootstrap" },
      requestId: null,
      data: { n: seq },
      accountVersion: seq,
      prevHash: null,
      hash: "h",
      signingKeyId: "k",
      signature: "s",
    }),
  ),
});

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A server whose every answer is one live tail on `messages`; the tail and its endings are handed back. */
async function serve(messages: ScriptedMessages) {
  const ends: TailEnd[] = [];
  let tail: LiveTail | undefined;
  server = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "text/event-stream" });
    tail = new LiveTail(response, messages, undefined, (end) => ends.push(end));
    void tail.run();
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { url, ends, tail: () => tail! };
}

describe("a live tail", () => {
  it("ends once with the reason 'error' and what failed when its consumer fails, counting what it sent", async () => {
    const messages = new ScriptedMessages();
    const { url, ends } = await serve(messages);
    const sse = await openSse(url);
    messages.push(event(7));
    messages.push(event(8));
    await sse.waitFor(2);
    const failure = new Error("consumer gone");
    messages.push(failure);
    expect(await sse.ended).toBe("end");
    await waitUntil(() => ends.length > 0);
    expect(ends).toEqual([{ reason: "error", sent: 2, durationMs: expect.any(Number), error: failure }]);
  });

  it("ends once with the reason 'error' when its consumer stops on its own (no client asked for it)", async () => {
    const messages = new ScriptedMessages();
    const { url, ends } = await serve(messages);
    const sse = await openSse(url);
    messages.push("stop");
    expect(await sse.ended).toBe("end");
    await waitUntil(() => ends.length > 0);
    expect(ends).toEqual([{ reason: "error", sent: 0, durationMs: expect.any(Number) }]);
  });

  it("ends once with the reason 'client_closed' when the client leaves, and closes its consumer", async () => {
    const messages = new ScriptedMessages();
    const { url, ends } = await serve(messages);
    const sse = await openSse(url);
    messages.push(event(1));
    await sse.waitFor(1);
    sse.close();
    await waitUntil(() => ends.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ends).toEqual([{ reason: "client_closed", sent: 1, durationMs: expect.any(Number) }]);
    expect(messages.closed).toBe(1);
  });

  it("ends once with the first reason it is given, however many endings follow", async () => {
    const messages = new ScriptedMessages();
    const { url, ends, tail } = await serve(messages);
    const sse = await openSse(url);
    await waitUntil(() => tail() !== undefined);
    tail().end("shutdown");
    expect(await sse.ended).toBe("end");
    tail().end("error", new Error("late"));
    messages.push(new Error("later"));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ends).toEqual([{ reason: "shutdown", sent: 0, durationMs: expect.any(Number) }]);
    expect(messages.closed).toBe(1);
  });
});
