import { expect } from "vitest";

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

/** A decider as Emmett writes it: an initial state, `decide(command, state) → events`, `evolve(state, event) → state`. */
export interface Decider<C, E, S> {
  readonly initialState: () => S;
  readonly decide: (command: C, state: S) => E[];
  readonly evolve: (state: S, event: E) => S;
}

/**
 * `given(history).when(command).then(events)` for any decider: folds the history with `evolve`,
 * runs `decide` and compares what it decides. `then` also folds the decided events, so an event the
 * decider emits but `evolve` cannot apply fails the test, and returns them for chaining.
 */
export function deciderSpec<C, E, S>(decider: Decider<C, E, S>) {
  return function given(history: readonly E[]) {
    const state = history.reduce(decider.evolve, decider.initialState());
    return {
      when(command: C) {
        const run = (): E[] => decider.decide(command, state);
        return {
          then(expected: readonly E[]): E[] {
            const events = run();
            expect(events).toEqual(expected);
            expect(() => events.reduce(decider.evolve, state)).not.toThrow();
            return events;
          },
          thenNothing(): void {
            expect(run()).toEqual([]);
          },
          thenThrows<X extends Error>(errorClass: ErrorClass<X>, messagePart?: string): X {
            let caught: unknown;
            try {
              run();
            } catch (error) {
              caught = error;
            }
            expect(caught, "decide should have thrown").toBeInstanceOf(errorClass);
            const error = caught as X;
            if (messagePart !== undefined) expect(error.message).toContain(messagePart);
            return error;
          },
        };
      },
    };
  };
}
