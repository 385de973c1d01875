import { constants, createReadStream } from "node:fs";
import { access, stat } from "node:fs/promises";
import type { AuditReport } from "../../client/http.js";
import type { Io } from "../io.js";
import { count, progressLine } from "../progress.js";
import { CommandFailed, UsageError } from "../usage-error.js";

/**
 * `keyledger audit verify --bundle FILE`: checks an evidence bundle offline, with nothing but the
 * file and the anchor (no daemon, no NATS, no login), reading it once from start to end.
 */
export async function checkBundleFile(
  io: Io,
  file: string,
  options: { readonly anchor?: string; readonly maxProblems?: number },
): Promise<AuditReport> {
  await readable(file);
  // The checking code loads only here, so that the other client commands start fast.
  const { verifyBundle } = await import("../../audit/index.js");
  const progress = progressLine(io);
  const input = createReadStream(file, { highWaterMark: 1024 * 1024 });
  try {
    return await verifyBundle(input, {
      anchor: options.anchor,
      maxProblems: options.maxProblems,
      onProgress: ({ seq, head, checked, problems }) =>
        progress.show(
          `checking bundle: seq ${count(seq)} of ${count(head)} (${head === 0 ? 100 : Math.min(100, Math.floor((seq / head) * 100))}%), ` +
            `${count(checked)} events checked, ${count(problems)} problem${problems === 1 ? "" : "s"}…`,
        ),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== undefined) throw new CommandFailed(`cannot read the bundle ${file} to its end (${code})`);
    throw error;
  } finally {
    progress.clear();
    input.destroy();
  }
}

/** A file the user named: there, a file, and readable; otherwise a usage error saying which. */
async function readable(file: string): Promise<void> {
  const where = `--bundle ${JSON.stringify(file)}`;
  let isFile: boolean;
  try {
    isFile = (await stat(file)).isFile();
    await access(file, constants.R_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === "ENOENT" || code === "ENOTDIR"
        ? `${where}: no such file`
        : code === "EACCES"
          ? `${where}: permission denied`
          : `${where} cannot be read (${code ?? "unknown error"})`,
    );
  }
  if (!isFile) throw new UsageError(`${where} is not a file (an evidence bundle from keyledger audit export -o FILE)`);
}
