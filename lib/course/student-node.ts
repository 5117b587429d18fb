import type { Handlers } from '../raft/context';
import { createRaftNode, type CreateNode } from '../raft/node';
import type { RaftRules } from '../raft/rules';
import type { ClusterOptions } from '../sim/cluster';

/** A student's Raft: any subset of Figure 2's handlers and rules (the rest are the reference ones). */
export interface StudentImpl {
  readonly handlers?: Partial<Handlers>;
  readonly rules?: Partial<RaftRules>;
}

/**
 * The one place where servers are built from a student's implementation: every scenario, replay and lab run on
 * a student's code goes through this factory (Cluster's `createNode`). Today: a RaftNode in this process with
 * the student's handlers and rules plugged in (a handler that throws or breaks the contract becomes a
 * HandlerError). Nothing here assumes the handlers are plain closures, so they may stand for functions run in an
 * Isolate (lib/course/isolate.ts).
 */
export function studentNodeFactory(impl: StudentImpl): CreateNode {
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
