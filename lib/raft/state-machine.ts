import { CONFIG_KEY } from './membership';
import type { Command } from './types';

/**
 * The key/value state machine raftos replicates: each command is a dictionary merged into the state,
 * so {"data_id": 1} sets data_id. A null command is a leader's no-op and changes nothing.
 */
export class KeyValueStateMachine {
  private readonly data = new Map<string, unknown>();

  apply(command: Command): void {
    // A no-op, or a configuration entry (membership is Raft's own state, not the application's).
    if (command === null || Object.hasOwn(command, CONFIG_KEY)) return;
    // Object.keys' keys in its order, without building the array (this runs for every entry on every node).
    for (const key in command) if (Object.hasOwn(command, key)) this.data.set(key, command[key]);
  }

  get(key: string): unknown {
    return this.data.get(key);
  }

  has(key: string): boolean {
    return this.data.has(key);
  }

  get size(): number {
    return this.data.size;
  }

  /** The whole dictionary, as raftos writes it to `.state_machine`. */
  toJSON(): Record<string, unknown> {
    return Object.fromEntries(this.data);
  }

  /** The state as a snapshot holds it (JSON text). */
  snapshotState(): string {
    return JSON.stringify(this.toJSON());
  }

  /** A state machine holding what a snapshot's state says. */
  static fromSnapshot(state: string): KeyValueStateMachine {
    const value: unknown = JSON.parse(state);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError('a snapshot of the key/value store is a JSON object');
    const machine = new KeyValueStateMachine();
    machine.apply(value as Record<string, unknown>);
    return machine;
  }
}
