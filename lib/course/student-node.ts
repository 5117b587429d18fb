import type { Handlers } from '../raft/context';
import type { RaftRules } from '../raft/rules';
import type { ClusterOptions } from '../sim/cluster';

/** A student's Raft: any subset of Figure 2's handlers and rules (the rest are the reference ones). */
export interface StudentImpl {
  readonly handlers?: Partial<Handlers>;
  readonly rules?: Partial<RaftRules>;
}

/** The cluster options that run every node on the student's implementation. */
export function studentClusterOptions(impl: StudentImpl): Pick<ClusterOptions, 'rules'> {
  return impl.rules ? { rules: impl.rules } : {};
}
