import type { IncomingHttpHeaders } from "node:http";
import { newRequestId } from "../application/index.js";

const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The request's id: the client's `X-Request-Id` when it is a plain one, else a new one. */
export function requestIdOf(request: { readonly headers: IncomingHttpHeaders }): string {
  const given = request.headers["x-request-id"];
  return typeof given === "string" && REQUEST_ID.test(given) ? given : newRequestId();
}
