import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeFetch } from "../../../src/cli/node-fetch.js";
import { freePort } from "../../helpers/ports.js";

let server: Server;
let base: string;
const seen: Array<{ method: string; headers: IncomingMessage["headers"]; body: string }> = [];
const closed: string[] = [];

const routes: Record<string, (request: IncomingMessage, response: ServerResponse) => void> = {
  "/echo": (_request, response) => {
    response.setHeader("set-cookie", ["a=1", "b=2"]);
    response.setHeader("content-type", "application/json");
    response.end('{"hello":"wörld"}');
  },
  "/stream": (_request, response) => {
    response.writeHead(200, { "content-type": "application/x-ndjson" });
    response.write('{"n":1}\n');
    setTimeout(() => response.end('{"n":2}\n'), 200);
  },
  "/never": (request) => {
    request.socket.once("close", () => closed.push("/never"));
  },
  "/half": (request, response) => {
    request.socket.once("close", () => closed.push("/half"));
    response.writeHead(200);
    response.write("part");
  },
  "/moved": (_request, response) => {
    response.writeHead(302, { location: "/echo" });
    response.end();
  },
};

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    request.on("end", () => {
      seen.push({ method: request.method!, headers: request.headers, body });
      routes[request.url!]!(request, response);
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
});

const init = (signal = new AbortController().signal, body?: string) => ({
  method: body === undefined ? "GET" : "POST",
  headers: { authorization: "Bearer kl_x", accept: "application/json" },
  body,
  signal,
});

describe("the CLI's transport (node:http in place of fetch)", () => {
  it("sends the method, headers and body, and answers status, headers (several joined) and text", async () => {
    const answer = await nodeFetch(`${base}/echo`, init(undefined, '{"name":"é"}'));
    expect(answer.ok).toBe(true);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("Content-Type")).toBe("application/json");
    expect(answer.headers.get("set-cookie")).toBe("a=1, b=2");
    expect(answer.headers.get("retry-after")).toBeNull();
    expect(await answer.text()).toBe('{"hello":"wörld"}');
    expect(seen.at(-1)).toMatchObject({ method: "POST", body: '{"name":"é"}' });
    expect(seen.at(-1)!.headers).toMatchObject({ authorization: "Bearer kl_x", "content-length": "13" });
  });

  it("gives the body as a stream whose first part arrives before the answer ends", async () => {
    const answer = await nodeFetch(`${base}/stream`, init());
    const reader = answer.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('{"n":1}\n');
    let rest = "";
    for (let part = await reader.read(); !part.done; part = await reader.read()) rest += new TextDecoder().decode(part.value);
    expect(rest).toBe('{"n":2}\n');
  });

  it("rejects with the signal's reason when aborted before the answer, and closes the connection", async () => {
    const controller = new AbortController();
    const pending = nodeFetch(`${base}/never`, init(controller.signal));
    await new Promise((done) => setTimeout(done, 50));
    controller.abort(new DOMException("no answer in time", "TimeoutError"));
    await expect(pending).rejects.toMatchObject({ name: "TimeoutError" });
    await expect.poll(() => closed).toContain("/never");
    const already = new AbortController();
    already.abort(new DOMException("done", "AbortError"));
    await expect(nodeFetch(`${base}/echo`, init(already.signal))).rejects.toMatchObject({ name: "AbortError" });
  });

  it("ends a body being read when aborted during the answer", async () => {
    const controller = new AbortController();
    const answer = await nodeFetch(`${base}/half`, init(controller.signal));
    const text = answer.text();
    controller.abort(new DOMException("no answer in time", "TimeoutError"));
    await expect(text).rejects.toBeDefined();
    await expect.poll(() => closed).toContain("/half");
  });

  it("fails as fetch does when nothing listens: a TypeError whose cause has the system's code", async () => {
    const port = await freePort();
    const failure = await nodeFetch(`http://127.0.0.1:${port}/`, init()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as TypeError & { cause: { code: string } }).cause.code).toBe("ECONNREFUSED");
    await expect(nodeFetch("ftp://127.0.0.1/", init())).rejects.toThrow("unsupported protocol");
  });

  it("does not follow a redirect: the credential goes nowhere else", async () => {
    const count = seen.length;
    const answer = await nodeFetch(`${base}/moved`, init());
    expect(answer.status).toBe(302);
    expect(answer.ok).toBe(false);
    expect(seen.length).toBe(count + 1);
  });
});
