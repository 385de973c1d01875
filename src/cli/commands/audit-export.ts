import { randomBytes } from "node:crypto";
import { open, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Command } from "commander";
import type { EvidenceBundleSeal, EvidenceExport } from "../../client/http.js";
import { connectedClient } from "../connect.js";
import type { Io } from "../io.js";
import { count, progressLine, type Progress } from "../progress.js";
import { CommandFailed, UsageError } from "../usage-error.js";

/** `keyledger audit export -o FILE`: the evidence bundle, written whole or not at all. */
export function addAuditExportCommand(group: Command, io: Io): void {
  group
    .command("export")
    .description("download the evidence bundle (key statements, events, checkpoints, sealed) to check offline")
    .requiredOption("-o, --output <file>", "the file to write (mode 0600, replaced whole or not at all); - for stdout")
    .addHelpText(
      "after",
      [
        "",
        "The bundle is written to a temporary file beside FILE and renamed into place once its seal has",
        "arrived, so FILE is never left half-written. Check it anywhere, offline, with",
        "  keyledger audit verify --bundle FILE --anchor KID",
        "On a terminal, progress is shown on stderr. The format: docs/evidence-bundle.md.",
      ].join("\n"),
    )
    .action(async (options: { output: string }) => {
      const target = options.output === "-" ? null : options.output;
      if (target !== null) await checkTarget(target);
      const client = await connectedClient(io);
      const interruption = io.interruptible();
      const progress = progressLine(io);
      try {
        const download = await client.exportAudit({ signal: interruption.signal });
        const bytes = target === null ? await toStdout(io, download, progress) : await toFile(target, download, progress);
        progress.clear();
        const seal = download.seal!;
        const line = summary(target ?? "stdout", download, seal, bytes);
        // With the bundle on stdout, the summary goes to stderr.
        if (target === null) io.err(line);
        else io.out(line);
      } catch (error) {
        if (interruption.signal.aborted)
          throw new CommandFailed(
            `interrupted: ${target === null ? "the bundle on stdout is incomplete" : `nothing was written to ${target}`}`,
          );
        throw error;
      } finally {
        progress.clear();
        interruption.release();
      }
    });
}

/** The bundle into a temporary file beside `target` (mode 0600), renamed into place once it is whole. */
async function toFile(target: string, download: EvidenceExport, progress: Progress): Promise<number> {
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.part`);
  let file: FileHandle | null = await open(temp, "wx", 0o600);
  let placed = false;
  try {
    let bytes = 0;
    for await (const chunk of download.chunks()) {
      await file.write(chunk);
      bytes += chunk.length;
      showProgress(progress, download, chunk, bytes);
    }
    await file.sync();
    await file.close();
    file = null;
    await rename(temp, target);
    placed = true;
    return bytes;
  } finally {
    await file?.close().catch(() => undefined);
    if (!placed) await rm(temp, { force: true });
  }
}

async function toStdout(io: Io, download: EvidenceExport, progress: Progress): Promise<number> {
  let bytes = 0;
  for await (const chunk of download.chunks()) {
    await io.writeOut(chunk);
    bytes += chunk.length;
    showProgress(progress, download, chunk, bytes);
  }
  return bytes;
}

/** Where FILE goes must be a directory that exists, and FILE not a directory: said before anything is asked of the daemon. */
async function checkTarget(target: string): Promise<void> {
  const where = `-o ${JSON.stringify(target)}`;
  const kind = async (path: string): Promise<"file" | "directory" | "other" | null> => {
    try {
      const stats = await stat(path);
      return stats.isDirectory() ? "directory" : stats.isFile() ? "file" : "other";
    } catch {
      return null;
    }
  };
  if ((await kind(dirname(target))) !== "directory")
    throw new UsageError(`${where}: the directory ${dirname(target)} does not exist`);
  const existing = await kind(target);
  if (existing === "directory" || existing === "other")
    throw new UsageError(
      `${where} is ${existing === "directory" ? "a directory" : "not a regular file"}: name the bundle's file`,
    );
}

const SEQ_FIELD = Buffer.from('{"seq":');

function showProgress(progress: Progress, download: EvidenceExport, chunk: Uint8Array, bytes: number): void {
  const text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const at = text.lastIndexOf(SEQ_FIELD);
  const seq =
    at === -1 ? null : Number(/^\d+/.exec(text.toString("latin1", at + SEQ_FIELD.length, at + SEQ_FIELD.length + 20))?.[0]);
  const head = download.header.head;
  const where =
    seq === null || !Number.isSafeInteger(seq)
      ? ""
      : `seq ${count(seq)} of ${count(head)} (${head === 0 ? 100 : Math.min(100, Math.floor((seq / head) * 100))}%), `;
  progress.show(`exporting: ${where}${megabytes(bytes)} written…`);
}

function summary(where: string, download: EvidenceExport, seal: EvidenceBundleSeal, bytes: number): string {
  const { header } = download;
  const sealed =
    seal.signingKeyId === null
      ? "NOT sealed: this daemon's signing key is not trusted by the ledger, so a cut-off cannot be told (export through a daemon whose key is)"
      : `sealed by ${seal.signingKeyId}`;
  return (
    `Wrote ${where}: evidence bundle of stream ${header.stream} up to seq ${count(header.head)}, ` +
    `${count(seal.eventCount)} events, ${count(seal.checkpoints)} checkpoint${seal.checkpoints === 1 ? "" : "s"}, ` +
    `${count(seal.statements)} key statement${seal.statements === 1 ? "" : "s"}, ${count(bytes)} bytes (${megabytes(bytes)}); ${sealed}.`
  );
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}
