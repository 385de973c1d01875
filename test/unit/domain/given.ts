import { expect } from "vitest";
import type { ServiceAccountCommand } from "../../../src/domain/commands.js";
import { decide } from "../../../src/domain/decide.js";
import type { DomainEvent } from "../../../src/domain/events.js";
import { evolve } from "../../../src/domain/evolve.js";
import { initialState, type State } from "../../../src/domain/state.js";

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

/**
 * `given(history).when(command).then(events)`: folds the history with `evolve`, runs `decide`
 * and compares what it appends. `then` also folds the new events, so an event the decider
 * emits but `evolve` cannot apply fails the test, and returns them for chaining.
 */
export function given(history: readonly DomainEvent[]) {
  const state: State = history.reduce(evolve, initialState());
  return {
    when(command: ServiceAccountCommand) {
      const run = (): DomainEvent[] => decide(command, state);
      return {
        then(expected: readonly DomainEvent[]): DomainEvent[] {
          const events = run();
          expect(events).toEqual(expected);
          expect(() => events.reduce(evolve, state)).not.toThrow();
          return events;
        },
        thenNothing(): void {
          expect(run()).toEqual([]);
        },
        thenThrows<E extends Error>(errorClass: ErrorClass<E>, messagePart?: string): E {
          let caught: unknown;
          try {
            run();
          } catch (error) {
            caught = error;
          }
          expect(caught, "decide should have thrown").toBeInstanceOf(errorClass);
          const error = caught as E;
          if (messagePart !== undefined) expect(error.message).toContain(messagePart);
          return error;
        },
      };
    },
  };
}
