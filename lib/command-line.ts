import { InvalidArgumentError } from 'commander';

/** Commander's argument parsers for the project's commands: the error names what was expected. */
export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!(n > 0 && Number.isFinite(n))) throw new InvalidArgumentError('expected a positive number');
  return n;
}
