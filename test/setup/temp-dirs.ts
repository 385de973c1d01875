import { afterAll } from "vitest";
import { removeTempDirs } from "../helpers/nats.js";

// Registered before any test file's own hooks, so it runs after them: daemons and servers the
// file started are stopped by then, and the directories they used go with it.
afterAll(async () => {
  await removeTempDirs();
});
