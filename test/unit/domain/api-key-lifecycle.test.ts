import { describe, it } from "vitest";
import { NotFoundError } from "../../../src/domain/errors.js";
import { accountCreated, command, fact, KEY_ID, T1, T2, withKey } from "./fixtures.js";
import { given } from "./given.js";

const keyDeleted = fact("ApiKeyDeleted", T1, { keyId: KEY_ID });
const keyDeactivated = fact("ApiKeyDeactivated", T1, { keyId: KEY_ID });
const accountDeleted = fact("ServiceAccountDeleted", T1, {});

describe("ActivateApiKey and DeactivateApiKey", () => {
  const activate = command("ActivateApiKey", { keyId: KEY_ID }, { now: T2 });
  const deactivate = command("DeactivateApiKey", { keyId: KEY_ID }, { now: T2 });

  it("deactivates a key once; repeating appends nothing", () => {
    const appended = given(withKey)
      .when(deactivate)
      .then([fact("ApiKeyDeactivated", T2, { keyId: KEY_ID, epoch: 1 })]);
    given([...withKey, ...appended])
      .when(deactivate)
      .thenNothing();
  });

  it("activates a key once; repeating appends nothing", () => {
    const history = [...withKey, keyDeactivated];
    const appended = given(history)
      .when(activate)
      .then([fact("ApiKeyActivated", T2, { keyId: KEY_ID })]);
    given([...history, ...appended])
      .when(activate)
      .thenNothing();
  });

  it("appends nothing when activating an active key", () => {
    given(withKey).when(activate).thenNothing();
  });

  it("refuses a deleted key or a deleted account", () => {
    given([...withKey, keyDeleted])
      .when(activate)
      .thenThrows(NotFoundError);
    given([...withKey, keyDeleted])
      .when(deactivate)
      .thenThrows(NotFoundError);
    given([...withKey, accountDeleted])
      .when(deactivate)
      .thenThrows(NotFoundError);
  });
});

describe("DeleteApiKey", () => {
  const remove = command("DeleteApiKey", { keyId: KEY_ID }, { now: T2 });

  it("deletes a live key, active or not", () => {
    given(withKey)
      .when(remove)
      .then([fact("ApiKeyDeleted", T2, { keyId: KEY_ID, epoch: 1 })]);
    given([...withKey, keyDeactivated])
      .when(remove)
      .then([fact("ApiKeyDeleted", T2, { keyId: KEY_ID, epoch: 2 })]);
  });

  it("refuses a key that is already deleted, unknown, or in a deleted account", () => {
    given([...withKey, keyDeleted])
      .when(remove)
      .thenThrows(NotFoundError, "API key not found");
    given([accountCreated]).when(remove).thenThrows(NotFoundError, "API key not found");
    given([...withKey, accountDeleted])
      .when(remove)
      .thenThrows(NotFoundError, "service account not found");
  });
});
