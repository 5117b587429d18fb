import { MembershipError, NotLeaderError, TransferError } from '../errors';
import type { Configuration } from '../raft/membership';
import type { NodeId, Role } from '../raft/types';
import type { AdminReply, AdminRequest, AdminStatus } from './codec';

/** What the service needs of its node (RealNode's public API). */
export interface AdminTarget {
  readonly id: NodeId;
  readonly role: Role | 'down';
  readonly leader: NodeId | null;
  readonly configuration: Configuration;
  read(options?: { timeoutMs?: number }): Promise<void>;
  addServer(id: NodeId, options?: { timeoutMs?: number }): Promise<void>;
  removeServer(id: NodeId, options?: { timeoutMs?: number }): Promise<void>;
  transferLeadership(to: NodeId, options?: { timeoutMs?: number }): Promise<void>;
}

/** Where a reply goes: the address the request came from. */
export interface ReplyAddress {
  readonly host: string;
  readonly port: number;
}

/** Replies kept for retried requests (a lost OK must not turn into a second change or a FAILED). */
const REMEMBERED_REPLIES = 64;

/**
 * The AddServer and RemoveServer RPCs of the dissertation's Figure 4.1 on one node. A non-leader answers NOT_LEADER
 * with the leader it knows; the leader makes the change and answers once it is committed. A retry of a request in
 * progress (same requestId) is answered with it; a retry of a finished one gets the same answer again. Removing the
 * leader itself: it hands the leadership to another voter and answers NOT_LEADER naming it, so the client asks
 * the new leader, which removes the old one.
 */
export class AdminService {
  private readonly inProgress = new Map<number, Set<ReplyAddress>>();
  private readonly finished = new Map<number, AdminReply>();

  constructor(
    private readonly node: AdminTarget,
    private readonly send: (to: ReplyAddress, reply: AdminReply) => void,
    private readonly changeTimeoutMs: number,
  ) {}

  handle(request: AdminRequest, from: ReplyAddress): void {
    const done = this.finished.get(request.requestId);
    if (done !== undefined && done.type === replyType(request)) {
      this.send(from, done);
      return;
    }
    const waiting = this.inProgress.get(request.requestId);
    if (waiting !== undefined) {
      waiting.add(from);
      return;
    }
    if (this.node.role !== 'leader') {
      this.send(from, this.reply(request, 'NOT_LEADER', `${this.node.id} is not the leader`));
      return;
    }
    const targets = new Set([from]);
    this.inProgress.set(request.requestId, targets);
    void this.carryOut(request).then((reply) => {
      this.inProgress.delete(request.requestId);
      // NOT_LEADER is not remembered: the next retry should hear who leads by then.
      if (reply.status !== 'NOT_LEADER') this.remember(reply);
      for (const to of targets) this.send(to, reply);
    });
  }

  private async carryOut(request: AdminRequest): Promise<AdminReply> {
    const node = this.node;
    try {
      // A leader changes the configuration only once it has committed an entry of its term; read() makes sure
      // it has (appending an empty entry if it must) and confirms it still leads.
      await node.read({ timeoutMs: this.changeTimeoutMs });
      if (request.type === 'AddServer') {
        if (node.configuration.voters.includes(request.newServer)) return this.reply(request, 'OK', `${request.newServer} is already a voter`);
        await node.addServer(request.newServer, { timeoutMs: this.changeTimeoutMs });
        return this.reply(request, 'OK');
      }
      if (request.oldServer === node.id) return await this.handOver(request);
      await node.removeServer(request.oldServer, { timeoutMs: this.changeTimeoutMs });
      return this.reply(request, 'OK');
    } catch (error) {
      return this.failure(request, error);
    }
  }

  /** The leader is to be removed: transfer the leadership first (to the first voter that takes it). */
  private async handOver(request: AdminRequest): Promise<AdminReply> {
    const others = this.node.configuration.voters.filter((v) => v !== this.node.id);
    if (others.length === 0) return this.reply(request, 'FAILED', `${this.node.id} is the only voter: a cluster keeps at least one`);
    const refusals: string[] = [];
    for (const to of others) {
      try {
        await this.node.transferLeadership(to);
        return this.reply(request, 'NOT_LEADER', `${this.node.id} handed the leadership to ${to}, which removes it`, to);
      } catch (error) {
        if (!(error instanceof TransferError)) throw error;
        refusals.push(error.reason);
        if (this.node.role !== 'leader') break;
      }
    }
    return this.role() === 'leader'
      ? this.reply(request, 'FAILED', `could not hand the leadership over before removing ${this.node.id}: ${refusals.join('; ')}`)
      : this.reply(request, 'NOT_LEADER', `${this.node.id} stopped leading while handing the leadership over`);
  }

  private failure(request: AdminRequest, error: unknown): AdminReply {
    if (error instanceof NotLeaderError || this.role() !== 'leader') {
      return this.reply(request, 'NOT_LEADER', `${this.node.id} stopped leading: ${(error as Error).message}`);
    }
    const message = error instanceof MembershipError ? error.reason : (error as Error).message;
    return this.reply(request, /within \d+ ms/.test(message) ? 'TIMEOUT' : 'FAILED', message);
  }

  /** Read afresh: the role changes while a change is carried out. */
  private role(): Role | 'down' {
    return this.node.role;
  }

  private reply(request: AdminRequest, status: AdminStatus, reason?: string, leaderHint: NodeId | null = this.node.leader): AdminReply {
    return { type: replyType(request), requestId: request.requestId, status, leaderHint, ...(reason === undefined ? {} : { reason }) };
  }

  private remember(reply: AdminReply): void {
    this.finished.set(reply.requestId, reply);
    if (this.finished.size > REMEMBERED_REPLIES) this.finished.delete(this.finished.keys().next().value!);
  }
}

function replyType(request: AdminRequest): AdminReply['type'] {
  return request.type === 'AddServer' ? 'AddServerReply' : 'RemoveServerReply';
}
