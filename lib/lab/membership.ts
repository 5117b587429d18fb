import { parseNodeId } from '../net/udp-transport';
import type { NodeId } from '../raft/types';

/** Who this node program is in which cluster. */
export interface Membership {
  /** Every member, in order: member n is node n (task<T>_node<n>.txt). */
  readonly members: readonly NodeId[];
  /** This node's id: the UDP address it binds, and its files' name ('10.0.0.2_8000.log'). */
  readonly self: NodeId;
  readonly peers: readonly NodeId[];
  /** NODE_ID in the manual: 1 for the first member. */
  readonly nodeNumber: number;
  /** --join: a server added to a running cluster (it waits for the leader's AddServer); `peers` are whom it hears from. */
  readonly joining: boolean;
}

export interface MembershipOptions {
  /** --cluster: 'host:port,host:port,...', every member, this node included. */
  readonly cluster?: string;
  /** --listen: this node's 'host:port', one of the cluster's members. */
  readonly listen?: string;
  /** --id: this node's number, 1-based. */
  readonly id?: number;
  /** Without --cluster, the single-machine layout: `nodes` nodes on `host`, ports basePort, basePort + 1, ... */
  readonly nodes: number;
  readonly host: string;
  readonly basePort: number;
  /** Which of nodes, host and basePort the user gave (they cannot be combined with --cluster). */
  readonly given?: { readonly nodes?: boolean; readonly host?: boolean; readonly basePort?: boolean };
  /**
   * --join: this node joins a running cluster. With --cluster, the members listed are the running ones it hears
   * from, and its --listen address may be a new one (it is node members + 1 then, or --id N).
   */
  readonly join?: boolean;
}

/** A command-line mistake, worded for the person who typed it (it names the option and the value). */
export class MembershipError extends Error {
  override readonly name = 'MembershipError';
}

/** The members listed by --cluster, each checked as a node id; a repeated member is an error. */
export function parseCluster(value: string): NodeId[] {
  const members = value.split(',').map((m) => m.trim());
  if (members.length === 0 || members.some((m) => m === '')) throw new MembershipError(`--cluster: expected host:port,host:port,... with no empty member, got ${JSON.stringify(value)}`);
  members.forEach((m, i) => checked(m, `--cluster member ${i + 1}`));
  const seen = new Set<string>();
  for (const m of members) {
    if (seen.has(m)) throw new MembershipError(`--cluster: ${m} is listed twice in ${JSON.stringify(value)}`);
    seen.add(m);
  }
  return members;
}

export function resolveMembership(options: MembershipOptions): Membership {
  if (options.cluster === undefined) {
    if (options.listen !== undefined) throw new MembershipError('--listen needs --cluster (the other members\' addresses)');
    if (options.id === undefined) throw new MembershipError('give --id N (or --cluster and --listen)');
    if (options.id > options.nodes) {
      throw new MembershipError(`--id must be between 1 and ${options.nodes} (--nodes), got ${options.id}` +
        ` (to grow the cluster to ${options.id} nodes or more, start node ${options.id} with --join --nodes ${Math.max(options.id, 5)}, then add it with npm run member)`);
    }
    if (options.basePort + options.nodes - 1 > 65535) throw new MembershipError('--base-port leaves no room for every node below port 65535');
    const members = Array.from({ length: options.nodes }, (_, i) => `${options.host}:${options.basePort + i}`);
    members.forEach((m) => checked(m, '--host'));
    return membership(members, options.id, options.join === true);
  }
  const clash = (['nodes', 'host', 'basePort'] as const).filter((k) => options.given?.[k]);
  if (clash.length > 0) {
    const flag = { nodes: '--nodes', host: '--host', basePort: '--base-port' };
    throw new MembershipError(`${clash.map((k) => flag[k]).join(', ')} cannot be combined with --cluster, which lists every member's address`);
  }
  const members = parseCluster(options.cluster);
  if (options.listen === undefined) {
    if (options.id === undefined) throw new MembershipError('with --cluster, give --listen host:port (this node\'s address) or --id N');
    if (options.id > members.length) {
      throw new MembershipError(`--id must be between 1 and ${members.length} (the members of --cluster), got ${options.id}` +
        (options.join ? '; a new node joining the cluster gives its address with --listen host:port' : ''));
    }
    return membership(members, options.id, options.join === true);
  }
  checked(options.listen, '--listen');
  const at = members.indexOf(options.listen);
  if (at < 0) {
    if (!options.join) {
      throw new MembershipError(`--listen ${options.listen} is not one of --cluster's members (${members.join(', ')}); a new node joining a running cluster takes --join`);
    }
    // A new server: --cluster lists the running members it hears from; it is the next node, or --id N.
    const nodeNumber = options.id ?? members.length + 1;
    if (nodeNumber <= members.length) {
      throw new MembershipError(`--id ${nodeNumber} is member ${nodeNumber} of --cluster (${members[nodeNumber - 1]}), not --listen ${options.listen}: a joining node's --id is above ${members.length}`);
    }
    return { members: [...members, options.listen], self: options.listen, peers: members, nodeNumber, joining: true };
  }
  if (options.id !== undefined && options.id !== at + 1) {
    throw new MembershipError(`--id ${options.id} does not match --listen ${options.listen}, member ${at + 1} of --cluster`);
  }
  return membership(members, at + 1, options.join === true);
}

function membership(members: readonly NodeId[], nodeNumber: number, joining: boolean): Membership {
  const self = members[nodeNumber - 1]!;
  return { members, self, peers: members.filter((m) => m !== self), nodeNumber, joining };
}

function checked(id: string, option: string): string {
  try {
    parseNodeId(id, option);
  } catch (error) {
    throw new MembershipError((error as Error).message);
  }
  return id;
}
