import { vi } from "vitest";
import type { ReadModel } from "../../src/projections/index.js";

/** Holds every write of a daemon's projector until released: its read model falls behind. */
export function holdProjector(node: { readModel: ReadModel }): { release: () => void; restore: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const original = node.readModel.batch.bind(node.readModel);
  const spy = vi.spyOn(node.readModel, "batch").mockImplementation(() => {
    const batch = original();
    const commit = batch.commit.bind(batch);
    batch.commit = async () => {
      await gate;
      return commit();
    };
    return batch;
  });
  return { release, restore: () => spy.mockRestore() };
}
