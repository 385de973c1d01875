import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply } from "fastify";
import type { ConsoleFiles } from "../console-files.js";
import { HttpError } from "../errors.js";

/**
 * What a console page may do: its own scripts, styles and API, nothing inline, nothing from another
 * origin, inside no frame.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

function secured(reply: FastifyReply): FastifyReply {
  return reply
    .header("content-security-policy", CONSOLE_CSP)
    .header("x-frame-options", "DENY")
    .header("x-content-type-options", "nosniff")
    .header("referrer-policy", "no-referrer")
    .header("cross-origin-opener-policy", "same-origin");
}

/** `GET /console`: the web console's page and its files (public: everything it shows comes from the API). */
export function consoleRoutes(files: ConsoleFiles | null): FastifyPluginAsyncTypebox {
  return async (app) => {
    const page = async (_request: unknown, reply: FastifyReply) => {
      if (files === null) throw new HttpError("not_found", "the web console is not built: run npm run build");
      return secured(reply).header("cache-control", "no-cache").type("text/html; charset=utf-8").send(files.index);
    };
    app.get("/console", { schema: { hide: true } }, page);
    app.get("/console/", { schema: { hide: true } }, page);
    app.get<{ Params: { file: string } }>("/console/assets/:file", { schema: { hide: true } }, async (request, reply) => {
      const asset = files?.assets.get(request.params.file);
      // The error answer carries the console's headers too.
      if (asset === undefined) {
        secured(reply);
        throw new HttpError("not_found", "no such console file");
      }
      // Vite names each file by its content: it never changes under the same name.
      return secured(reply).header("cache-control", "public, max-age=31536000, immutable").type(asset.type).send(asset.body);
    });
  };
}
