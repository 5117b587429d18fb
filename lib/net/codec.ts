import { createCipheriv, createDecipheriv, createHmac, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type {
  AppendEntries,
  AppendEntriesReply,
  Command,
  LogEntry,
  Message,
  NodeId,
  RequestVote,
  RequestVoteReply,
  TimeoutNow,
  InstallSnapshot,
  InstallSnapshotReply,
} from '../raft/types';
import { isPlainObject, jsonValueProblem } from './python-json';
import { parseNodeId } from './udp-transport';

/**
 * One Raft message per UDP datagram.
 *
 *   no secret:        {"from":"127.0.0.1:8000","message":{...}}          (UTF-8 JSON, first byte '{')
 *   secret (HMAC):    0x01 | HMAC-SHA256(0x01 | json) (32 bytes) | json
 *   secret + encrypt: 0x02 | IV (12 bytes) | GCM tag (16 bytes) | AES-256-GCM(json), AAD = 0x02
 *
 * The sender's id travels inside the authenticated part. Replays are not detected: Raft's messages are
 * safe to deliver twice or late (terms and indexes make stale ones harmless).
 *
 * Membership requests from an admin client (dissertation Figure 4.1), sealed the same way, from any address:
 *   {"admin": {"type": "AddServer", "requestId": 7, "newServer": "127.0.0.1:8003"}}
 *   {"admin": {"type": "RemoveServer", "requestId": 8, "oldServer": "127.0.0.1:8004"}}
 * answered to the datagram's source address with
 *   {"adminReply": {"type": "AddServerReply", "requestId": 7, "status": "OK", "leaderHint": "127.0.0.1:8000"}}
 * (status OK, NOT_LEADER, TIMEOUT or FAILED; "reason" says why when not OK). A retry carries the same requestId,
 * so the leader answers it without making the change twice.
 */

export type DropReason = 'oversized' | 'malformed' | 'unauthenticated' | 'unknown-sender';
export const dropReasons: readonly DropReason[] = ['oversized', 'malformed', 'unauthenticated', 'unknown-sender'];

export interface Security {
  /** Shared by the whole cluster; a passphrase is fine (the key is derived with scrypt). */
  readonly secret: string;
  /** Also encrypt (AES-256-GCM) instead of only authenticating (HMAC-SHA256). */
  readonly encrypt?: boolean;
}

export type DecodeResult =
  | { readonly ok: true; readonly from: NodeId; readonly message: Message }
  | Dropped;

export interface Dropped {
  readonly ok: false;
  readonly reason: DropReason;
  readonly detail: string;
}

export interface AddServerRequest {
  readonly type: 'AddServer';
  /** Chosen by the client, the same on every retry of one request. */
  readonly requestId: number;
  readonly newServer: NodeId;
}

export interface RemoveServerRequest {
  readonly type: 'RemoveServer';
  readonly requestId: number;
  readonly oldServer: NodeId;
}

export type AdminRequest = AddServerRequest | RemoveServerRequest;

/** OK once the change is committed; NOT_LEADER from any other server (leaderHint names the leader it knows). */
export type AdminStatus = 'OK' | 'NOT_LEADER' | 'TIMEOUT' | 'FAILED';
export const adminStatuses: readonly AdminStatus[] = ['OK', 'NOT_LEADER', 'TIMEOUT', 'FAILED'];

export interface AdminReply {
  readonly type: 'AddServerReply' | 'RemoveServerReply';
  readonly requestId: number;
  readonly status: AdminStatus;
  readonly leaderHint: NodeId | null;
  readonly reason?: string;
}

/** What a node may receive: a Raft message from a peer, or a membership request from an admin client. */
export type IncomingResult = DecodeResult | { readonly ok: true; readonly admin: AdminRequest };

const MAX_REASON_CHARS = 1000;

export interface DecodeOptions {
  readonly security?: Security;
  /** Who may send to this node (not including itself). */
  readonly peers: ReadonlySet<NodeId>;
  readonly maxBytes: number;
}

const PLAIN = 0x7b; // '{'
const MAC = 0x01;
const GCM = 0x02;
const MAC_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface Keys {
  readonly mac: Buffer;
  readonly enc: Buffer;
}

const keyCache = new Map<string, Keys>();
const SALT = 'raft-lab lib/net/codec v1';

/** Derive (once per secret, then cached) the HMAC and AES keys. Throws on an empty secret. */
export function deriveKeys(secret: string): Keys {
  if (typeof secret !== 'string' || secret.length === 0) throw new TypeError('security.secret must be a non-empty string');
  let keys = keyCache.get(secret);
  if (!keys) {
    const material = scryptSync(secret, SALT, 64);
    keys = { mac: material.subarray(0, 32), enc: material.subarray(32) };
    keyCache.set(secret, keys);
  }
  return keys;
}

export function encodeDatagram(from: NodeId, message: Message, security?: Security): Buffer {
  return sealDatagram(Buffer.from(JSON.stringify({ from, message: canonical(message) }), 'utf8'), security);
}

export function encodeAdminRequest(request: AdminRequest, security?: Security): Buffer {
  const { type, requestId } = request;
  const admin = request.type === 'AddServer' ? { type, requestId, newServer: request.newServer } : { type, requestId, oldServer: request.oldServer };
  return sealDatagram(Buffer.from(JSON.stringify({ admin }), 'utf8'), security);
}

export function encodeAdminReply(reply: AdminReply, security?: Security): Buffer {
  const { type, requestId, status, leaderHint, reason } = reply;
  const adminReply = { type, requestId, status, leaderHint, ...(reason === undefined ? {} : { reason: reason.slice(0, MAX_REASON_CHARS) }) };
  return sealDatagram(Buffer.from(JSON.stringify({ adminReply }), 'utf8'), security);
}

/** Wrap an already serialized payload as encodeDatagram would (tools and tests use it to forge datagrams). */
export function sealDatagram(payload: Uint8Array, security?: Security): Buffer {
  const json = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (!security) return Buffer.from(json);
  const keys = deriveKeys(security.secret);
  if (security.encrypt) {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', keys.enc, iv);
    cipher.setAAD(Buffer.of(GCM));
    const body = Buffer.concat([cipher.update(json), cipher.final()]);
    return Buffer.concat([Buffer.of(GCM), iv, cipher.getAuthTag(), body]);
  }
  return Buffer.concat([Buffer.of(MAC), mac(keys.mac, json), json]);
}

function mac(key: Buffer, json: Buffer): Buffer {
  return createHmac('sha256', key).update(Buffer.of(MAC)).update(json).digest();
}

/** Never throws: anything that is not a valid message from a known peer comes back as a reason. */
export function decodeDatagram(buf: Uint8Array, options: DecodeOptions): DecodeResult {
  const result = decodeIncoming(buf, options);
  return 'admin' in result ? drop('malformed', 'a membership request, not a Raft message') : result;
}

/**
 * What a node receives: a Raft message from a known peer, or an admin client's membership request (from any
 * address, but authenticated like the rest when the cluster has a secret). Never throws.
 */
export function decodeIncoming(buf: Uint8Array, options: DecodeOptions): IncomingResult {
  try {
    const opened = open(buf, options.security, options.maxBytes);
    if (!opened.ok) return opened;
    const value = opened.value;
    if (hasExactly(value, ['admin'], [])) {
      const request = validateAdminRequest(value['admin']);
      return typeof request === 'string' ? drop('malformed', request) : { ok: true, admin: request };
    }
    if (!hasExactly(value, ['from', 'message'], [])) return drop('malformed', 'expected {"from", "message"} or {"admin"}');
    const from = value['from'];
    if (typeof from !== 'string') return drop('malformed', '"from" must be a string');
    if (!options.peers.has(from)) return drop('unknown-sender', `${JSON.stringify(from.slice(0, 100))} is not a peer`);
    const checked = validateMessage(value['message'], from);
    if (typeof checked === 'string') return drop('malformed', checked);
    return { ok: true, from, message: checked };
  } catch (err) {
    return drop('malformed', `decoder error: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The admin client's side: a node's answer to its request. Never throws. */
export function decodeAdminReply(buf: Uint8Array, options: { readonly security?: Security; readonly maxBytes: number }): { readonly ok: true; readonly reply: AdminReply } | Dropped {
  try {
    const opened = open(buf, options.security, options.maxBytes);
    if (!opened.ok) return opened;
    if (!hasExactly(opened.value, ['adminReply'], [])) return drop('malformed', 'expected {"adminReply"}');
    const reply = validateAdminReply(opened.value['adminReply']);
    return typeof reply === 'string' ? drop('malformed', reply) : { ok: true, reply };
  } catch (err) {
    return drop('malformed', `decoder error: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Check size and authentication, decrypt, parse: the datagram's JSON object, or why it is dropped. */
function open(input: Uint8Array, security: Security | undefined, maxBytes: number): { readonly ok: true; readonly value: Record<string, unknown> } | Dropped {
  if (!(input instanceof Uint8Array)) return drop('malformed', 'not a byte buffer');
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (buf.length > maxBytes) return drop('oversized', `${buf.length} bytes > ${maxBytes}`);
  if (buf.length === 0) return drop(security ? 'unauthenticated' : 'malformed', 'empty datagram');
  let json: Buffer;
  if (security) {
    const keys = deriveKeys(security.secret);
    if (security.encrypt) {
      if (buf[0] !== GCM) return drop('unauthenticated', buf[0] === MAC ? 'authenticated but not encrypted' : 'not encrypted');
      if (buf.length < 1 + IV_BYTES + TAG_BYTES) return drop('unauthenticated', 'too short to be encrypted');
      try {
        const decipher = createDecipheriv('aes-256-gcm', keys.enc, buf.subarray(1, 1 + IV_BYTES));
        decipher.setAAD(Buffer.of(GCM));
        decipher.setAuthTag(buf.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES));
        json = Buffer.concat([decipher.update(buf.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
      } catch {
        return drop('unauthenticated', 'decryption failed (wrong secret or tampered)');
      }
    } else {
      if (buf[0] !== MAC) return drop('unauthenticated', buf[0] === GCM ? 'encrypted, but this node expects HMAC only' : 'no authentication');
      if (buf.length < 1 + MAC_BYTES) return drop('unauthenticated', 'too short to be authenticated');
      json = buf.subarray(1 + MAC_BYTES);
      if (!timingSafeEqual(mac(keys.mac, json), buf.subarray(1, 1 + MAC_BYTES))) {
        return drop('unauthenticated', 'bad HMAC (wrong secret or tampered)');
      }
    }
  } else {
    if (buf[0] === MAC || buf[0] === GCM) return drop('malformed', 'authenticated datagram, but this node has no secret');
    if (buf[0] !== PLAIN) return drop('malformed', 'not a JSON object');
    json = buf;
  }

  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(json));
  } catch {
    return drop('malformed', 'not UTF-8 JSON');
  }
  if (!isPlainObject(value)) return drop('malformed', 'expected a JSON object');
  return { ok: true, value };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function drop(reason: DropReason, detail: string): Dropped {
  return { ok: false, reason, detail };
}

/**
 * A fresh, well-typed Message built from untrusted `value`, or a description of what is wrong.
 * Beyond types, it checks what every correct sender guarantees (ids match the sender, no log term
 * above the message's term, terms in `entries` never decrease), so the core never sees nonsense.
 */
export function validateMessage(value: unknown, from: NodeId): Message | string {
  if (!isPlainObject(value)) return 'message must be an object';
  switch (value['type']) {
    case 'RequestVote': {
      if (!hasExactly(value, ['type', 'term', 'candidateId', 'lastLogIndex', 'lastLogTerm'], ['preVote', 'transfer'])) return keysProblem(value);
      const { term, candidateId, lastLogIndex, lastLogTerm, preVote, transfer } = value;
      if (!isIndex(term)) return 'RequestVote.term must be a non-negative integer';
      if (candidateId !== from) return 'RequestVote.candidateId must be the sender';
      if (!isIndex(lastLogIndex)) return 'RequestVote.lastLogIndex must be a non-negative integer';
      if (!isIndex(lastLogTerm) || lastLogTerm > term) return 'RequestVote.lastLogTerm must be an integer in 0..term';
      if (lastLogIndex === 0 && lastLogTerm !== 0) return 'RequestVote.lastLogTerm must be 0 for an empty log';
      if (preVote !== undefined && typeof preVote !== 'boolean') return 'RequestVote.preVote must be a boolean';
      if (transfer !== undefined && typeof transfer !== 'boolean') return 'RequestVote.transfer must be a boolean';
      const m: RequestVote = { type: 'RequestVote', term: term + 0, candidateId: from, lastLogIndex: lastLogIndex + 0, lastLogTerm: lastLogTerm + 0 };
      return { ...m, ...(preVote ? { preVote: true } : {}), ...(transfer ? { transfer: true } : {}) };
    }
    case 'RequestVoteReply': {
      if (!hasExactly(value, ['type', 'term', 'voteGranted'], ['preVote'])) return keysProblem(value);
      const { term, voteGranted, preVote } = value;
      if (!isIndex(term)) return 'RequestVoteReply.term must be a non-negative integer';
      if (typeof voteGranted !== 'boolean') return 'RequestVoteReply.voteGranted must be a boolean';
      if (preVote !== undefined && typeof preVote !== 'boolean') return 'RequestVoteReply.preVote must be a boolean';
      const m: RequestVoteReply = { type: 'RequestVoteReply', term: term + 0, voteGranted };
      return preVote ? { ...m, preVote: true } : m;
    }
    case 'AppendEntries': {
      if (!hasExactly(value, ['type', 'term', 'leaderId', 'prevLogIndex', 'prevLogTerm', 'entries', 'leaderCommit'], ['round'])) return keysProblem(value);
      const { term, leaderId, prevLogIndex, prevLogTerm, entries, leaderCommit, round } = value;
      if (!isIndex(term)) return 'AppendEntries.term must be a non-negative integer';
      if (leaderId !== from) return 'AppendEntries.leaderId must be the sender';
      if (!isIndex(prevLogIndex)) return 'AppendEntries.prevLogIndex must be a non-negative integer';
      if (!isIndex(prevLogTerm) || prevLogTerm > term) return 'AppendEntries.prevLogTerm must be an integer in 0..term';
      if (prevLogIndex === 0 && prevLogTerm !== 0) return 'AppendEntries.prevLogTerm must be 0 when prevLogIndex is 0';
      if (!isIndex(leaderCommit)) return 'AppendEntries.leaderCommit must be a non-negative integer';
      if (round !== undefined && !(isIndex(round) && round >= 1)) return 'AppendEntries.round must be a positive integer';
      if (!Array.isArray(entries)) return 'AppendEntries.entries must be an array';
      const checked: LogEntry[] = [];
      let floor = prevLogTerm;
      for (let i = 0; i < entries.length; i++) {
        const e: unknown = entries[i];
        if (!isPlainObject(e) || !hasExactly(e, ['term', 'command'], [])) return `AppendEntries.entries[${i}] must be {"term", "command"}`;
        const t = e['term'];
        if (!isIndex(t) || t < floor || t > term) return `AppendEntries.entries[${i}].term must be an integer in ${floor}..${term}`;
        const command = e['command'];
        if (command !== null && !isPlainObject(command)) return `AppendEntries.entries[${i}].command must be an object or null`;
        const problem = jsonValueProblem(command);
        if (problem !== null) return `AppendEntries.entries[${i}].command ${problem}`;
        checked.push({ term: t + 0, command: command as Command });
        floor = t;
      }
      const m: AppendEntries = {
        type: 'AppendEntries',
        term: term + 0,
        leaderId: from,
        prevLogIndex: prevLogIndex + 0,
        prevLogTerm: prevLogTerm + 0,
        entries: checked,
        leaderCommit: leaderCommit + 0,
        ...(round === undefined ? {} : { round: round + 0 }),
      };
      return m;
    }
    case 'AppendEntriesReply': {
      if (!hasExactly(value, ['type', 'term', 'success', 'matchIndex'], ['conflictIndex', 'conflictTerm', 'round'])) return keysProblem(value);
      const { term, success, matchIndex, conflictIndex, conflictTerm, round } = value;
      if (!isIndex(term)) return 'AppendEntriesReply.term must be a non-negative integer';
      if (typeof success !== 'boolean') return 'AppendEntriesReply.success must be a boolean';
      if (!isIndex(matchIndex)) return 'AppendEntriesReply.matchIndex must be a non-negative integer';
      if (conflictIndex !== undefined && !(isIndex(conflictIndex) && conflictIndex >= 1)) return 'AppendEntriesReply.conflictIndex must be a positive integer';
      if (conflictTerm !== undefined && !isIndex(conflictTerm)) return 'AppendEntriesReply.conflictTerm must be a non-negative integer';
      if (conflictTerm !== undefined && conflictIndex === undefined) return 'AppendEntriesReply.conflictTerm needs conflictIndex';
      if (success && conflictIndex !== undefined) return 'AppendEntriesReply: a success has no conflict hint';
      if (round !== undefined && !(isIndex(round) && round >= 1)) return 'AppendEntriesReply.round must be a positive integer';
      const m: AppendEntriesReply = {
        type: 'AppendEntriesReply',
        term: term + 0,
        success,
        matchIndex: matchIndex + 0,
        ...(conflictIndex === undefined ? {} : { conflictIndex: conflictIndex + 0 }),
        ...(conflictTerm === undefined ? {} : { conflictTerm: conflictTerm + 0 }),
        ...(round === undefined ? {} : { round: round + 0 }),
      };
      return m;
    }
    case 'TimeoutNow': {
      if (!hasExactly(value, ['type', 'term', 'leaderId'], [])) return keysProblem(value);
      const { term, leaderId } = value;
      if (!isIndex(term)) return 'TimeoutNow.term must be a non-negative integer';
      if (leaderId !== from) return 'TimeoutNow.leaderId must be the sender';
      const m: TimeoutNow = { type: 'TimeoutNow', term: term + 0, leaderId: from };
      return m;
    }
    case 'InstallSnapshot': {
      if (!hasExactly(value, ['type', 'term', 'leaderId', 'lastIncludedIndex', 'lastIncludedTerm', 'offset', 'data', 'done'], ['config'])) return keysProblem(value);
      const { term, leaderId, lastIncludedIndex, lastIncludedTerm, offset, data, done, config } = value;
      if (!isIndex(term)) return 'InstallSnapshot.term must be a non-negative integer';
      if (leaderId !== from) return 'InstallSnapshot.leaderId must be the sender';
      if (!(isIndex(lastIncludedIndex) && lastIncludedIndex >= 1)) return 'InstallSnapshot.lastIncludedIndex must be a positive integer';
      if (!(isIndex(lastIncludedTerm) && lastIncludedTerm >= 1 && lastIncludedTerm <= term)) return 'InstallSnapshot.lastIncludedTerm must be an integer in 1..term';
      if (!isIndex(offset)) return 'InstallSnapshot.offset must be a non-negative integer';
      if (typeof data !== 'string') return 'InstallSnapshot.data must be a string';
      if (typeof done !== 'boolean') return 'InstallSnapshot.done must be a boolean';
      const configuration = config === undefined ? undefined : checkConfiguration(config);
      if (typeof configuration === 'string') return `InstallSnapshot.config ${configuration}`;
      const m: InstallSnapshot = {
        type: 'InstallSnapshot', term: term + 0, leaderId: from, lastIncludedIndex: lastIncludedIndex + 0,
        lastIncludedTerm: lastIncludedTerm + 0, offset: offset + 0, data, done,
        ...(configuration === undefined ? {} : { config: configuration }),
      };
      return m;
    }
    case 'InstallSnapshotReply': {
      if (!hasExactly(value, ['type', 'term', 'lastIncludedIndex', 'nextOffset', 'done'], [])) return keysProblem(value);
      const { term, lastIncludedIndex, nextOffset, done } = value;
      if (!isIndex(term)) return 'InstallSnapshotReply.term must be a non-negative integer';
      if (!isIndex(lastIncludedIndex)) return 'InstallSnapshotReply.lastIncludedIndex must be a non-negative integer';
      if (!isIndex(nextOffset)) return 'InstallSnapshotReply.nextOffset must be a non-negative integer';
      if (typeof done !== 'boolean') return 'InstallSnapshotReply.done must be a boolean';
      const m: InstallSnapshotReply = { type: 'InstallSnapshotReply', term: term + 0, lastIncludedIndex: lastIncludedIndex + 0, nextOffset: nextOffset + 0, done };
      return m;
    }
    default:
      return `unknown message type ${JSON.stringify(value['type'])?.slice(0, 40) ?? 'undefined'}`;
  }
}

/** A well-typed membership request built from untrusted `value`, or what is wrong with it. */
export function validateAdminRequest(value: unknown): AdminRequest | string {
  if (!isPlainObject(value)) return 'admin must be an object';
  const type = value['type'];
  if (type !== 'AddServer' && type !== 'RemoveServer') return `admin.type must be "AddServer" or "RemoveServer", got ${JSON.stringify(type)?.slice(0, 40) ?? 'undefined'}`;
  const field = type === 'AddServer' ? 'newServer' : 'oldServer';
  if (!hasExactly(value, ['type', 'requestId', field], [])) return keysProblem(value);
  const requestId = value['requestId'];
  if (!(isIndex(requestId) && requestId >= 1)) return `${type}.requestId must be a positive integer`;
  const server = value[field];
  if (!isNodeId(server)) return `${type}.${field} must be a "host:port" server id`;
  return type === 'AddServer' ? { type, requestId: requestId + 0, newServer: server } : { type, requestId: requestId + 0, oldServer: server };
}

export function validateAdminReply(value: unknown): AdminReply | string {
  if (!isPlainObject(value)) return 'adminReply must be an object';
  const type = value['type'];
  if (type !== 'AddServerReply' && type !== 'RemoveServerReply') return `adminReply.type must be "AddServerReply" or "RemoveServerReply", got ${JSON.stringify(type)?.slice(0, 40) ?? 'undefined'}`;
  if (!hasExactly(value, ['type', 'requestId', 'status', 'leaderHint'], ['reason'])) return keysProblem(value);
  const { requestId, status, leaderHint, reason } = value;
  if (!(isIndex(requestId) && requestId >= 1)) return `${type}.requestId must be a positive integer`;
  if (!adminStatuses.includes(status as AdminStatus)) return `${type}.status must be one of ${adminStatuses.join(', ')}`;
  if (leaderHint !== null && !isNodeId(leaderHint)) return `${type}.leaderHint must be a "host:port" server id or null`;
  if (reason !== undefined && !(typeof reason === 'string' && reason.length <= MAX_REASON_CHARS)) return `${type}.reason must be a string of at most ${MAX_REASON_CHARS} characters`;
  return { type, requestId: requestId + 0, status: status as AdminStatus, leaderHint, ...(reason === undefined ? {} : { reason }) };
}

function isNodeId(value: unknown): value is NodeId {
  try {
    parseNodeId(value);
    return true;
  } catch {
    return false;
  }
}

/** Exactly the fields of the message's type, so nothing else ever goes on the wire. */
function canonical(message: Message): Message {
  switch (message.type) {
    case 'RequestVote': {
      const { type, term, candidateId, lastLogIndex, lastLogTerm, preVote, transfer } = message;
      return { type, term, candidateId, lastLogIndex, lastLogTerm, ...(preVote ? { preVote } : {}), ...(transfer ? { transfer } : {}) };
    }
    case 'RequestVoteReply': {
      const { type, term, voteGranted, preVote } = message;
      return preVote ? { type, term, voteGranted, preVote } : { type, term, voteGranted };
    }
    case 'AppendEntries': {
      const { type, term, leaderId, prevLogIndex, prevLogTerm, entries, leaderCommit, round } = message;
      const m = { type, term, leaderId, prevLogIndex, prevLogTerm, entries: entries.map((e) => ({ term: e.term, command: e.command })), leaderCommit };
      return round === undefined ? m : { ...m, round };
    }
    case 'AppendEntriesReply': {
      const { type, term, success, matchIndex, conflictIndex, conflictTerm, round } = message;
      return {
        type,
        term,
        success,
        matchIndex,
        ...(conflictIndex === undefined ? {} : { conflictIndex }),
        ...(conflictTerm === undefined ? {} : { conflictTerm }),
        ...(round === undefined ? {} : { round }),
      };
    }
    case 'TimeoutNow': {
      const { type, term, leaderId } = message;
      return { type, term, leaderId };
    }
    case 'InstallSnapshot': {
      const { type, term, leaderId, lastIncludedIndex, lastIncludedTerm, offset, data, done, config } = message;
      const m = { type, term, leaderId, lastIncludedIndex, lastIncludedTerm, offset, data, done };
      return config === undefined ? m : { ...m, config: { voters: [...config.voters], learners: [...config.learners] } };
    }
    case 'InstallSnapshotReply': {
      const { type, term, lastIncludedIndex, nextOffset, done } = message;
      return { type, term, lastIncludedIndex, nextOffset, done };
    }
  }
}

/** A configuration from the wire: {"voters": [ids], "learners": [ids]}, or what is wrong with it. */
export function checkConfiguration(value: unknown): { voters: NodeId[]; learners: NodeId[] } | string {
  if (!isPlainObject(value) || !hasExactly(value, ['voters', 'learners'], [])) return 'must be {"voters": [...], "learners": [...]}';
  const lists: NodeId[][] = [];
  for (const key of ['voters', 'learners'] as const) {
    const list = value[key];
    if (!Array.isArray(list) || list.length > 1000 || !list.every((x) => typeof x === 'string' && /^[^\s:]+:\d{1,5}$/.test(x))) return `.${key} must be a list of "host:port" ids`;
    lists.push([...(list as string[])]);
  }
  return { voters: lists[0]!, learners: lists[1]! };
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function hasExactly(obj: Record<string, unknown>, required: readonly string[], optional: readonly string[]): boolean {
  for (const key of required) if (!Object.prototype.hasOwnProperty.call(obj, key)) return false;
  for (const key of Object.keys(obj)) if (!required.includes(key) && !optional.includes(key)) return false;
  return true;
}

function keysProblem(value: Record<string, unknown>): string {
  return `${String(value['type'])} has missing or unexpected fields (${Object.keys(value).slice(0, 10).join(', ')})`;
}
