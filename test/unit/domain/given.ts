import type { ServiceAccountCommand } from "../../../src/domain/commands.js";
import { decide } from "../../../src/domain/decide.js";
import type { DomainEvent } from "../../../src/domain/events.js";
import { evolve } from "../../../src/domain/evolve.js";
import { initialState, type State } from "../../../src/domain/state.js";
import { deciderSpec } from "../decider-spec.js";

/** `given(history).when(command).then(events)` for the service account decider. */
export const given = deciderSpec<ServiceAccountCommand, DomainEvent, State>({
  initialState,
  decide,
  evolve: (state, event) => evolve(state, event),
});
