import { randomInt } from 'node:crypto';
import * as dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { NodeId } from '../raft/types';
import { decodeAdminReply, encodeAdminRequest, type AdminReply, type AdminRequest, type DropReason, type Security } from './codec';
import { parseNodeId } from './udp-transport';

export interface AdminClientOptions {
  /** The servers to ask first (any of the cluster's members); the replies' leaderHint leads to the leader. */
  readonly members: readonly NodeId[];
  /** The cluster's --secret, when it has one. */
  readonly security?: Security;
  /** Give up after this long (default 30000 ms). */
  readonly timeoutMs?: number;
  /** Send again after this long without an answer (default 500 ms). */
  readonly retryMs?: number;
  /** Sends to one server without an answer before asking the next member (default 4). */
  readonly triesPerServer?: number;
  /** At most this many datagrams in all (default 200). */
  readonly maxSends?: number;
  /** Each step, for a command's --verbose. */
  readonly log?: (line: string) => void;
}

export interface AdminOutcome {
  /** The leader that committed the change. */
  readonly leader: NodeId;
  readonly reply: AdminReply;
}

/** The change was refused, timed out on the leader, or nobody answered; `message` says which and who. */
export class AdminClientError extends Error {
  override readonly name = 'AdminClientError';
  constructor(message: string, readonly reply: AdminReply | null) {
    super(message);
  }
}

export function addServer(newServer: NodeId, options: AdminClientOptions): Promise<AdminOutcome> {
  parseNodeId(newServer, 'server to add');
  return requestChange({ type: 'AddServer', requestId: randomInt(1, 2 ** 47), newServer }, options);
}

export function removeServer(oldServer: NodeId, options: AdminClientOptions): Promise<AdminOutcome> {
  parseNodeId(oldServer, 'server to remove');
  return requestChange({ type: 'RemoveServer', requestId: randomInt(1, 2 ** 47), oldServer }, options);
}

/**
 * Send `request` (AddServer or RemoveServer) to the cluster's leader: start with the first member, follow each
 * NOT_LEADER's leaderHint, move to the next member when a server stays silent or knows no leader, and resend the
 * same requestId (the leader answers a retry without changing the configuration twice). Resolves on OK.
 */
export async function requestChange(request: AdminRequest, options: AdminClientOptions): Promise<AdminOutcome> {
  if (!Array.isArray(options.members) || options.members.length === 0) throw new TypeError('members: give at least one "host:port" server of the cluster');
  options.members.forEach((m, i) => parseNodeId(m, `members[${i}]`));
  const timeoutMs = positive(options.timeoutMs ?? 30_000, 'timeoutMs');
  const retryMs = positive(options.retryMs ?? 500, 'retryMs');
  const triesPerServer = positive(options.triesPerServer ?? 4, 'triesPerServer');
  const maxSends = positive(options.maxSends ?? 200, 'maxSends');
  const log = options.log ?? (() => undefined);
  const what = request.type === 'AddServer' ? `adding ${request.newServer}` : `removing ${request.oldServer}`;

  const sockets = new Map<'udp4' | 'udp6', dgram.Socket>();
  /** Answers not yet looked at, with the address each came from. */
  const replies: { reply: AdminReply; from: NodeId }[] = [];
  const dropped = new Map<DropReason, number>();
  let wake: (() => void) | null = null;
  const socketFor = async (family: 'udp4' | 'udp6'): Promise<dgram.Socket> => {
    let socket = sockets.get(family);
    if (socket) return socket;
    socket = dgram.createSocket(family);
    socket.on('message', (buf, rinfo) => {
      const decoded = decodeAdminReply(buf, { security: options.security, maxBytes: 65507 });
      if (!decoded.ok) dropped.set(decoded.reason, (dropped.get(decoded.reason) ?? 0) + 1);
      else if (decoded.reply.requestId === request.requestId) replies.push({ reply: decoded.reply, from: rinfo.family === 'IPv6' ? `[${rinfo.address}]:${rinfo.port}` : `${rinfo.address}:${rinfo.port}` });
      wake?.();
    });
    socket.on('error', () => undefined);
    sockets.set(family, socket);
    await new Promise<void>((resolve) => socket.bind(0, resolve));
    return socket;
  };
  /** The next reply, or null after `ms`. */
  const nextReply = (ms: number) =>
    new Promise<{ reply: AdminReply; from: NodeId } | null>((resolve) => {
      const take = () => {
        const reply = replies.shift();
        if (reply === undefined) return false;
        clearTimeout(timer);
        wake = null;
        resolve(reply);
        return true;
      };
      const timer = setTimeout(() => {
        wake = null;
        resolve(null);
      }, ms);
      wake = () => void take();
      take();
    });

  const deadline = Date.now() + timeoutMs;
  const asked = new Set<NodeId>();
  let memberIndex = 0;
  let target: NodeId = options.members[0]!;
  let silent = 0;
  let sends = 0;
  let last: AdminReply | null = null;
  let lastFrom: NodeId | null = null;
  const nextMember = () => {
    memberIndex = (memberIndex + 1) % options.members.length;
    target = options.members[memberIndex]!;
    silent = 0;
  };
  try {
    while (Date.now() < deadline && sends < maxSends) {
      const { host, port } = parseNodeId(target, 'leaderHint');
      const socket = await socketFor(isIPv6(host) ? 'udp6' : 'udp4');
      socket.send(encodeAdminRequest(request, options.security), port, host);
      sends++;
      asked.add(target);
      log(`asked ${target} (${what}, request ${request.requestId})`);
      const answer = await nextReply(Math.min(retryMs, Math.max(1, deadline - Date.now())));
      if (answer === null) {
        if (++silent >= triesPerServer) nextMember();
        continue;
      }
      const { reply, from } = answer;
      last = reply;
      lastFrom = from;
      log(`${from}: ${reply.status}${reply.leaderHint ? ` (leader ${reply.leaderHint})` : ''}${reply.reason ? `: ${reply.reason}` : ''}`);
      if (reply.status === 'OK') return { leader: reply.leaderHint ?? from, reply };
      if (reply.status === 'TIMEOUT') throw new AdminClientError(`${what}: the leader ${from} could not commit the change: ${reply.reason ?? 'timed out'}`, reply);
      if (reply.status === 'FAILED') throw new AdminClientError(`${what}: the leader ${from} refused: ${reply.reason ?? 'no reason given'}`, reply);
      // NOT_LEADER: go where it points, else (no leader known, or it names itself) give an election a moment.
      if (reply.leaderHint !== null && reply.leaderHint !== from) {
        target = reply.leaderHint;
        silent = 0;
      } else {
        await new Promise((resolve) => setTimeout(resolve, Math.min(retryMs, Math.max(1, deadline - Date.now()))));
        nextMember();
      }
    }
  } finally {
    await Promise.all([...sockets.values()].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
  const unauthenticated = dropped.get('unauthenticated') ?? 0;
  const hint = unauthenticated > 0 ? `; ${unauthenticated} replies failed authentication: give the cluster's --secret (and --encrypt if it uses it)` : '';
  const lastWord = last
    ? `; last answer: ${last.status} from ${lastFrom}${last.reason ? ` (${last.reason})` : ''}`
    : `; no server answered: are they running, and if the cluster has a --secret, was the same one given here?`;
  const why = sends >= maxSends ? `${maxSends} requests` : `${timeoutMs} ms`;
  throw new AdminClientError(`${what}: no leader committed the change after ${why} (asked ${[...asked].join(', ')})${lastWord}${hint}`, last);
}

function positive(value: number, name: string): number {
  if (!(Number.isInteger(value) && value > 0)) throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}
