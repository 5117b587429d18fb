import type { Command } from './types';

/** Copies made by copyCommand, with the UTF-8 size of their JSON. */
const copies = new WeakMap<object, number>();

/**
 * A private deep copy of a client's command, made once on the way in (through JSON, the form every log and
 * datagram holds), so later changes to the caller's object cannot reach the log. The copy remembers its JSON size:
 * a driver that meets it again neither copies nor serializes it a second time (commandBytes).
 */
export function copyCommand(value: Command): Command {
  if (value === null) return null;
  const json = JSON.stringify(value);
  const copy = JSON.parse(json) as Exclude<Command, null>;
  copies.set(copy, Buffer.byteLength(json, 'utf8'));
  return copy;
}

/** The UTF-8 size of the command's JSON if it is a copy made by copyCommand, else undefined. */
export function copiedCommandBytes(command: Command): number | undefined {
  return command === null ? 4 : copies.get(command);
}
