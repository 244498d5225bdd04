/**
 * A strategy name that is not one of `StrategyName`. User input (the `sync` settings'
 * `conflict_strategies`) should be checked with `isStrategyName` before it gets here, so
 * this signals a bug, not a bad request.
 */
export class UnknownStrategyError extends Error {
  constructor(readonly strategy: unknown) {
    super(`Conflict strategy must be one of the known names: got ${JSON.stringify(strategy)}`);
    this.name = "UnknownStrategyError";
  }
}
