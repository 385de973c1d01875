import type { Command } from "commander";
import type { SigningKey } from "../../client/http.js";
import { connectedClient } from "../connect.js";
import { fields, table } from "../format.js";
import type { Io } from "../io.js";
import { emit, withOutput, type Format } from "../output.js";
import { UsageError } from "../usage-error.js";

const KID = /^[A-Za-z0-9_-]{16}$/;

function kidArgument(kid: string): string {
  if (!KID.test(kid))
    throw new UsageError(
      `${JSON.stringify(kid)} is not a signing key id: 16 characters of A–Z a–z 0–9 _ -, as \`keyledger signing-keys list\` shows`,
    );
  return kid;
}

/** `keyledger signing-keys list | approve KID | revoke KID --reason TEXT`: the ledger's trust root. */
export function addSigningKeyCommands(program: Command, io: Io): void {
  const group = program
    .command("signing-keys")
    .description("the ledger's trust root: which daemon keys may sign events, checkpoints and tokens");

  withOutput(group.command("list").description("trusted, pending and revoked signing keys; the anchor is marked")).action(
    async (options: { output: Format }) => {
      const list = await (await connectedClient(io)).signingKeys();
      emit(io, options.output, list, () => {
        const anchor = `Trust anchor: ${list.anchor ?? "none"}`;
        if (list.items.length === 0) return anchor;
        const rows = list.items.map((key) => [
          key.anchor ? `${key.kid} (anchor)` : key.kid,
          key.status,
          key.enrolledAtSeq === null ? "-" : String(key.enrolledAtSeq),
          key.revokedAtSeq === null ? "-" : `${key.revokedAtSeq}: ${key.reason ?? ""}`,
          key.legacyEvents > 0 ? `${key.legacyEvents} events before the genesis` : "",
        ]);
        const hint = list.items.some((key) => key.status === "pending")
          ? "\n\nA pending key signs nothing until an admin approves it: keyledger signing-keys approve KID"
          : "";
        return `${anchor}\n\n${table(["KID", "STATUS", "ENROLLED AT", "REVOKED AT", "NOTE"], rows)}${hint}`;
      });
    },
  );

  withOutput(
    group
      .command("approve")
      .description("enrol a pending daemon key: from then on, what it signs counts")
      .argument("<kid>", "the key id, as `signing-keys list` shows it")
      .option("--public-key <base64url>", "the raw public key, when no daemon announced it"),
  ).action(async (kid: string, options: { publicKey?: string; output: Format }) => {
    const key = await (await connectedClient(io)).approveSigningKey(kidArgument(kid), options.publicKey);
    emit(
      io,
      options.output,
      key,
      () => `Signing key ${key.kid} is trusted from sequence ${key.enrolledAtSeq} on.\n\n${keyText(key)}`,
    );
  });

  withOutput(
    group
      .command("revoke")
      .description("revoke a signing key: nothing it signs from now on counts (ask a daemon with another trusted key)")
      .argument("<kid>", "the key id, as `signing-keys list` shows it")
      .requiredOption("--reason <text>", "why (kept in the ledger)"),
  ).action(async (kid: string, options: { reason: string; output: Format }) => {
    if (options.reason.trim() === "") throw new UsageError("--reason must say why the key is revoked");
    const key = await (await connectedClient(io)).revokeSigningKey(kidArgument(kid), options.reason);
    emit(
      io,
      options.output,
      key,
      () => `Signing key ${key.kid} is revoked from sequence ${key.revokedAtSeq} on.\n\n${keyText(key)}`,
    );
  });
}

function keyText(key: SigningKey): string {
  return fields([
    ["kid", key.anchor ? `${key.kid} (trust anchor)` : key.kid],
    ["status", key.status],
    ["enrolled at seq", key.enrolledAtSeq === null ? "-" : String(key.enrolledAtSeq)],
    ["enrolled by", key.enrolledBy ?? "-"],
    ["revoked at seq", key.revokedAtSeq === null ? "-" : String(key.revokedAtSeq)],
    ["reason", key.reason ?? "-"],
    ["public key", key.publicKey ?? "-"],
  ]);
}
