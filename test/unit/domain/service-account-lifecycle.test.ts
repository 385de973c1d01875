import { describe, it } from "vitest";
import { SYSTEM_BOOTSTRAP } from "../../../src/domain/actor.js";
import { ConflictError, NotFoundError } from "../../../src/domain/errors.js";
import type { Role } from "../../../src/domain/rules.js";
import { accountCreated, command, fact, SELF, T0, T1 } from "./fixtures.js";
import { given } from "./given.js";

const deactivated = fact("ServiceAccountDeactivated", T0, {});
const deleted = fact("ServiceAccountDeleted", T0, {});
const activate = command("ActivateServiceAccount", {});
const deactivate = command("DeactivateServiceAccount", {});
const remove = command("DeleteServiceAccount", {});

describe("ActivateServiceAccount", () => {
  it("activates an inactive account, and repeating it appends nothing", () => {
    const appended = given([accountCreated, deactivated])
      .when(activate)
      .then([fact("ServiceAccountActivated", T1, {})]);
    given([accountCreated, deactivated, ...appended])
      .when(activate)
      .thenNothing();
  });

  it("appends nothing on an account that is already active", () => {
    given([accountCreated]).when(activate).thenNothing();
  });

  it("refuses a deleted or missing account", () => {
    given([accountCreated, deleted]).when(activate).thenThrows(NotFoundError);
    given([]).when(activate).thenThrows(NotFoundError);
  });
});

describe("DeactivateServiceAccount", () => {
  it("deactivates an active account, and repeating it appends nothing", () => {
    const appended = given([accountCreated])
      .when(deactivate)
      .then([fact("ServiceAccountDeactivated", T1, { epoch: 1 })]);
    given([accountCreated, ...appended])
      .when(deactivate)
      .thenNothing();
  });

  it("refuses a deleted or missing account", () => {
    given([accountCreated, deleted]).when(deactivate).thenThrows(NotFoundError);
    given([]).when(deactivate).thenThrows(NotFoundError);
  });
});

describe("DeleteServiceAccount", () => {
  it("deletes an active or inactive account", () => {
    given([accountCreated])
      .when(remove)
      .then([fact("ServiceAccountDeleted", T1, { epoch: 1 })]);
    given([accountCreated, deactivated])
      .when(remove)
      .then([fact("ServiceAccountDeleted", T1, { epoch: 2 })]);
  });

  it("refuses an account that is already deleted, or never existed", () => {
    given([accountCreated, deleted]).when(remove).thenThrows(NotFoundError, "service account not found");
    given([]).when(remove).thenThrows(NotFoundError);
  });
});

describe("an account acting on itself", () => {
  const self = { actor: SELF };

  it("cannot deactivate itself, by either command", () => {
    given([accountCreated])
      .when(command("DeactivateServiceAccount", {}, self))
      .thenThrows(ConflictError, "cannot deactivate the service account you are authenticated as");
    given([accountCreated])
      .when(command("UpdateServiceAccount", { active: false }, self))
      .thenThrows(ConflictError, "cannot deactivate");
  });

  it("cannot delete itself", () => {
    given([accountCreated])
      .when(command("DeleteServiceAccount", {}, self))
      .thenThrows(ConflictError, "cannot delete");
  });

  it("cannot remove its own admin role", () => {
    given([accountCreated])
      .when(command("UpdateServiceAccount", { roles: ["verifier"] }, self))
      .thenThrows(ConflictError, "cannot remove the admin role");
  });

  it("can change its own description and add roles while keeping admin", () => {
    const roles: Role[] = ["admin", "auditor", "verifier"];
    given([accountCreated])
      .when(command("UpdateServiceAccount", { description: "Mine", roles }, self))
      .then([fact("ServiceAccountUpdated", T1, { description: "Mine", roles })]);
  });

  it("is not refused when the change would not lock it out", () => {
    const notAdmin = fact("ServiceAccountCreated", T0, { ...accountCreated.data, roles: ["verifier"] });
    given([notAdmin])
      .when(command("UpdateServiceAccount", { roles: ["auditor"] }, self))
      .then([fact("ServiceAccountUpdated", T1, { roles: ["auditor"], epoch: 1 })]);
    given([accountCreated, deactivated])
      .when(command("DeactivateServiceAccount", {}, self))
      .thenNothing();
  });

  it("leaves other actors free to deactivate, demote and delete the account", () => {
    given([accountCreated])
      .when(command("UpdateServiceAccount", { roles: ["verifier"], active: false }, { actor: SYSTEM_BOOTSTRAP }))
      .then([
        fact("ServiceAccountDeactivated", T1, { epoch: 1 }),
        fact("ServiceAccountUpdated", T1, { roles: ["verifier"], epoch: 2 }),
      ]);
    given([accountCreated])
      .when(remove)
      .then([fact("ServiceAccountDeleted", T1, { epoch: 1 })]);
  });
});
