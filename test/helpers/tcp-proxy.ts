import { createServer, connect, type Server, type Socket } from "node:net";

export interface TcpProxy {
  /** `nats://127.0.0.1:<port>` of the proxy, the same before and after a cut. */
  readonly url: string;
  /** Drops every connection through it and stops accepting new ones: its clients see the server vanish. */
  cut(): Promise<void>;
  /** Accepts connections again, on the same port. */
  restore(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A loopback TCP proxy in front of a real nats-server, so that one client loses its connection
 * while the server (and every other client, such as the daemons) goes on.
 */
export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;

  const listen = async (): Promise<void> => {
    const next = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.once("close", () => sockets.delete(socket));
        socket.on("error", () => socket.destroy());
      }
      client.once("close", () => upstream.destroy());
      upstream.once("close", () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      next.once("error", reject);
      next.listen(port, "127.0.0.1", () => resolve());
    });
    const address = next.address();
    if (typeof address === "object" && address !== null) port = address.port;
    server = next;
  };

  const cut = async (): Promise<void> => {
    const closing = server;
    server = null;
    for (const socket of sockets) socket.destroy();
    if (closing !== null) await new Promise<void>((resolve) => closing.close(() => resolve()));
  };

  await listen();
  return {
    url: `nats://127.0.0.1:${port}`,
    cut,
    restore: listen,
    stop: cut,
  };
}
