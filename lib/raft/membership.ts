import type { Command, LogEntry, NodeId } from './types';

/**
 * Cluster membership (dissertation chapter 4): a configuration is an entry in the log, in effect on a server as
 * soon as it is in its log (committed or not). Voters elect and count toward majorities; learners only receive the
 * log (a new server catching up before it votes, section 4.2.1). One server is added or removed at a time
 * (section 4.1), so the majorities of two consecutive configurations always overlap.
 */
export interface Configuration {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/** The command of a configuration entry: one reserved key, so the entry travels and is stored like any other. */
export const CONFIG_KEY = 'raftlab.config';

export function configCommand(config: Configuration): Command {
  return { [CONFIG_KEY]: { voters: [...config.voters].sort(), learners: [...config.learners].sort() } };
}

/** The configuration an entry sets, or null for an ordinary entry. */
export function configOf(entry: LogEntry | { readonly command: Command }): Configuration | null {
  const command = entry.command;
  if (command === null || !Object.prototype.hasOwnProperty.call(command, CONFIG_KEY)) return null;
  const value = command[CONFIG_KEY] as { voters?: unknown; learners?: unknown } | null;
  if (typeof value !== 'object' || value === null || !Array.isArray(value.voters) || !Array.isArray(value.learners)) return null;
  if (!value.voters.every((v) => typeof v === 'string') || !value.learners.every((v) => typeof v === 'string')) return null;
  return { voters: value.voters as NodeId[], learners: value.learners as NodeId[] };
}

export function sameConfig(a: Configuration, b: Configuration): boolean {
  const key = (c: Configuration) => JSON.stringify([[...c.voters].sort(), [...c.learners].sort()]);
  return key(a) === key(b);
}

export function describeConfig(c: Configuration): string {
  return `voters ${c.voters.join(', ') || '(none)'}${c.learners.length > 0 ? `; learners ${c.learners.join(', ')}` : ''}`;
}
