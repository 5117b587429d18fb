import type { Handlers } from '../raft/context';
import { isLibraryCode } from '../raft/library-code';
import { createRaftNode, type CreateNode } from '../raft/node';
import type { RaftRules } from '../raft/rules';
import type { ClusterOptions } from '../sim/cluster';
import { isolatedNodeFactory } from './isolated-node';
import { isolatedRestore, restartThrough, type Restore } from './restore';

/** A student's Raft: any subset of Figure 2's handlers and rules (the rest are the reference ones). */
export interface StudentImpl {
  readonly handlers?: Partial<Handlers>;
  readonly rules?: Partial<RaftRules>;
  /** Notebook 03: every (re)start reads the server's persistent state back from raftos's files through this. */
  readonly restore?: Restore;
  /**
   * Run in this process instead of in isolates: only for the library's own variants (the bug zoo, test fixtures),
   * whose functions call the library and so are not self-contained. A student's code always runs isolated.
   */
  readonly inProcess?: boolean;
}

/**
 * The one place where servers are built from a student's implementation: every scenario, replay and lab run on
 * a student's code goes through this factory (Cluster's `createNode`). Each server is the library's RaftNode
 * with the student's handlers and rules, inside an Isolate of its own (lib/course/isolated-node.ts): a handler
 * that throws, loops or breaks the contract becomes a HandlerError, and the student's functions reach nothing but
 * their arguments. Only their source is used, so each must be self-contained.
 */
export function studentNodeFactory(impl: StudentImpl): CreateNode {
  const nodes = nodeFactory(impl);
  if (!impl.restore) return nodes;
  return restartThrough(impl.inProcess ? impl.restore : isolatedRestore(impl.restore), nodes);
}

function nodeFactory(impl: StudentImpl): CreateNode {
  // The library's own variants (reference, bug zoo, test fixtures) call the library, so they run in process.
  const parts = [...Object.values(impl.handlers ?? {}), ...Object.values(impl.rules ?? {})];
  if (!impl.inProcess && !parts.every(isLibraryCode)) return isolatedNodeFactory(impl);
  const handlers = impl.handlers;
  const rules = impl.rules;
  return (options, persisted, now) =>
    createRaftNode(
      {
        ...options,
        ...(handlers ? { handlers: { ...options.handlers, ...handlers } } : {}),
        ...(rules ? { rules: { ...options.rules, ...rules } } : {}),
      },
      persisted,
      now,
    );
}

/** The cluster options that run every node on the student's implementation. */
export function studentClusterOptions(impl: StudentImpl): Pick<ClusterOptions, 'createNode'> {
  return { createNode: studentNodeFactory(impl) };
}
