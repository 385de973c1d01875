import type { NatsConnection } from "@nats-io/transport-node";

/** Whether the NATS connection is up right now, followed from the client's status events. */
export class ConnectionState {
  private up = true;

  constructor(private readonly nc: NatsConnection) {
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === "disconnect" || status.type === "close") this.up = false;
        else if (status.type === "reconnect") this.up = true;
      }
    })();
  }

  get connected(): boolean {
    return this.up && !this.nc.isClosed() && !this.nc.isDraining();
  }
}
