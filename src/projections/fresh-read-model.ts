import { randomBytes } from "node:crypto";
import { rename, rm } from "node:fs/promises";
import { ReadModel } from "./read-model.js";

/**
 * A read model built from scratch beside the one in use (in `<path>.rebuilding`), which it replaces
 * only once complete: a rebuild is all or nothing, the old read model stays as it was until the new
 * one is whole (and a rebuild that fails or is interrupted leaves it so). Emptying the old one in
 * place instead cost a second per 200,000 events, and its deletions then had to be compacted away
 * while the new records went in.
 *
 * The old read model stays open, and so locked, until the new one has taken its place: no daemon can
 * start on either meanwhile. A daemon that starts in the instant between the two renames finds no
 * read model, makes an empty one, and the second rename then fails: nothing is lost (the new read
 * model is left in `<path>.rebuilding`, that daemon projects its own).
 */
export class FreshReadModel {
  private constructor(
    readonly readModel: ReadModel,
    private readonly path: string,
    private readonly freshPath: string,
  ) {}

  /** Opens an empty read model beside `path` (a leftover of a rebuild that crashed is removed first). */
  static async beside(path: string): Promise<FreshReadModel> {
    const freshPath = `${path}.rebuilding`;
    await rm(freshPath, { recursive: true, force: true });
    return new FreshReadModel(await ReadModel.open(freshPath, { bulk: true }), path, freshPath);
  }

  /**
   * Puts the new read model in the place of `current` (open at `path` until then), and closes both.
   * It is compacted first: written in bulk, it would leave compactions for the daemon's start-up.
   */
  async replace(current: ReadModel): Promise<void> {
    await this.readModel.compact();
    await this.readModel.close();
    const replaced = `${this.path}.replaced-${randomBytes(4).toString("hex")}`;
    // Renamed while still open and locked: its files stay where the open database has them.
    await rename(this.path, replaced);
    try {
      await rename(this.freshPath, this.path);
    } finally {
      // Moved away, the old read model leaves no key id filter: it would be saved at the path it
      // was opened at, beside the new read model's files (or a daemon's that started meanwhile),
      // and counted there.
      await current.close({ leaveKeyFilter: false });
    }
    await rm(replaced, { recursive: true, force: true });
  }

  /** Drops the new read model: the one in use stays as it was. */
  async abandon(): Promise<void> {
    if (this.readModel.db.status === "open") await this.readModel.close();
    await rm(this.freshPath, { recursive: true, force: true });
  }
}
