import { strict as assert } from 'node:assert';
import type { Message, NodeId } from '../lib/raft/types';
import {
  decodeAdminReply, decodeDatagram, decodeIncoming, encodeAdminReply, encodeAdminRequest, encodeDatagram, sealDatagram, validateAdminReply, validateAdminRequest, validateMessage,
  type AdminReply, type AdminRequest, type DecodeResult, type DropReason, type Security,
} from '../lib/net/codec';

const A = '127.0.0.1:8000';
const B = '127.0.0.1:8001';
const peersOfB: ReadonlySet<NodeId> = new Set([A, '127.0.0.1:8002']);
const MAX = 60000;

const messages: Message[] = [
  { type: 'RequestVote', term: 3, candidateId: A, lastLogIndex: 7, lastLogTerm: 2 },
  { type: 'RequestVote', term: 4, candidateId: A, lastLogIndex: 0, lastLogTerm: 0, preVote: true },
  { type: 'RequestVoteReply', term: 3, voteGranted: true },
  { type: 'RequestVoteReply', term: 4, voteGranted: false, preVote: true },
  { type: 'AppendEntries', term: 5, leaderId: A, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0 },
  {
    type: 'AppendEntries',
    term: 5,
    leaderId: A,
    prevLogIndex: 9,
    prevLogTerm: 4,
    entries: [
      { term: 4, command: { data_id: 1 } },
      { term: 5, command: null },
      { term: 5, command: { name: 'café 😀', nested: { list: [1, 2.5, 'x', null, true], empty: {} } } },
    ],
    leaderCommit: 9,
  },
  { type: 'AppendEntriesReply', term: 5, success: true, matchIndex: 12 },
  { type: 'AppendEntriesReply', term: 5, success: false, matchIndex: 0, conflictIndex: 4 },
  { type: 'AppendEntriesReply', term: 5, success: false, matchIndex: 0, conflictIndex: 3, conflictTerm: 2 },
];

const modes: Array<[string, Security | undefined]> = [
  ['no secret', undefined],
  ['HMAC', { secret: 'correct horse battery staple' }],
  ['AES-GCM', { secret: 'correct horse battery staple', encrypt: true }],
];

function decodeAtB(buf: Uint8Array, security?: Security, maxBytes = MAX): DecodeResult {
  return decodeDatagram(buf, { security, peers: peersOfB, maxBytes });
}

function reasonOf(result: DecodeResult): DropReason | 'ok' {
  return result.ok ? 'ok' : result.reason;
}

/** Deterministic PRNG (mulberry32) so fuzz failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('net: codec', () => {
  for (const [mode, security] of modes) {
    it(`round-trips every message type (${mode})`, () => {
      for (const message of messages) {
        const decoded = decodeAtB(encodeDatagram(A, message, security), security);
        assert.ok(decoded.ok, `${message.type}: ${decoded.ok ? '' : decoded.detail}`);
        assert.equal(decoded.from, A);
        assert.deepEqual(decoded.message, message);
      }
    });

    it(`refuses a sender that is not a peer (${mode})`, () => {
      const result = decodeAtB(encodeDatagram('10.0.0.9:8000', { type: 'RequestVoteReply', term: 1, voteGranted: true }, security), security);
      assert.equal(reasonOf(result), 'unknown-sender');
    });

    it(`refuses oversized datagrams before looking inside (${mode})`, () => {
      const buf = encodeDatagram(A, messages[5]!, security);
      assert.equal(reasonOf(decodeAtB(buf, security, buf.length)), 'ok');
      assert.equal(reasonOf(decodeAtB(buf, security, buf.length - 1)), 'oversized');
      assert.equal(reasonOf(decodeAtB(Buffer.alloc(70000, 0x7b), security)), 'oversized');
    });
  }

  it('without a secret, a datagram is the JSON of {from, message}', () => {
    const buf = encodeDatagram(A, { type: 'RequestVoteReply', term: 2, voteGranted: false, preVote: false });
    assert.deepEqual(JSON.parse(buf.toString('utf8')), { from: A, message: { type: 'RequestVoteReply', term: 2, voteGranted: false } });
  });

  it('encryption hides the content and uses a fresh IV every time', () => {
    const security = { secret: 's3cret', encrypt: true };
    const a = encodeDatagram(A, messages[5]!, security);
    const b = encodeDatagram(A, messages[5]!, security);
    assert.notDeepEqual(a, b);
    assert.equal(a.includes('data_id'), false);
    assert.equal(a.includes(A), false);
    assert.equal(encodeDatagram(A, messages[5]!, { secret: 's3cret' }).includes('data_id'), true, 'HMAC only authenticates');
  });

  it('a node with a secret refuses what is not authenticated with it', () => {
    const hmac = { secret: 'one' };
    const gcm = { secret: 'one', encrypt: true };
    const msg = messages[0]!;
    assert.equal(reasonOf(decodeAtB(encodeDatagram(A, msg), hmac)), 'unauthenticated');
    assert.equal(reasonOf(decodeAtB(encodeDatagram(A, msg), gcm)), 'unauthenticated');
    assert.equal(reasonOf(decodeAtB(encodeDatagram(A, msg, { secret: 'two' }), hmac)), 'unauthenticated');
    assert.equal(reasonOf(decodeAtB(encodeDatagram(A, msg, { secret: 'two', encrypt: true }), gcm)), 'unauthenticated');
    assert.equal(reasonOf(decodeAtB(encodeDatagram(A, msg, gcm), hmac)), 'unauthenticated');
    assert.equal(reasonOf(decodeAtB(encodeDatagram(A, msg, hmac), gcm)), 'unauthenticated');
    assert.equal(reasonOf(decodeAtB(Buffer.alloc(0), hmac)), 'unauthenticated');
    assert.equal(reasonOf(decodeAtB(Buffer.of(0x01, 1, 2, 3), hmac)), 'unauthenticated');
    assert.equal(reasonOf(decodeAtB(Buffer.of(0x02, 1, 2, 3), gcm)), 'unauthenticated');
  });

  it('a node without a secret refuses authenticated or encrypted datagrams as malformed', () => {
    assert.equal(reasonOf(decodeAtB(encodeDatagram(A, messages[0]!, { secret: 'x' }))), 'malformed');
    assert.equal(reasonOf(decodeAtB(encodeDatagram(A, messages[0]!, { secret: 'x', encrypt: true }))), 'malformed');
  });

  for (const [mode, security] of modes.slice(1)) {
    it(`any tampered byte makes a datagram unauthenticated (${mode})`, () => {
      const buf = encodeDatagram(A, messages[5]!, security);
      for (let i = 0; i < buf.length; i++) {
        for (const flip of [0x01, 0x80]) {
          const copy = Buffer.from(buf);
          copy[i]! ^= flip;
          assert.equal(reasonOf(decodeAtB(copy, security)), 'unauthenticated', `byte ${i} ^ ${flip}`);
        }
      }
      assert.equal(reasonOf(decodeAtB(buf.subarray(0, buf.length - 1), security)), 'unauthenticated');
      assert.equal(reasonOf(decodeAtB(Buffer.concat([buf, Buffer.of(0)]), security)), 'unauthenticated');
    });
  }

  it('refuses malformed messages with the reason "malformed"', () => {
    const cases: Array<[string, unknown]> = [
      ['not an object', [1, 2]],
      ['unknown type', { type: 'InstallSnapshot', term: 1 }],
      ['negative term', { type: 'RequestVoteReply', term: -1, voteGranted: true }],
      ['fractional term', { type: 'RequestVoteReply', term: 1.5, voteGranted: true }],
      ['string term', { type: 'RequestVoteReply', term: '1', voteGranted: true }],
      ['unsafe integer', { type: 'RequestVoteReply', term: 2 ** 60, voteGranted: true }],
      ['missing field', { type: 'RequestVoteReply', term: 1 }],
      ['extra field', { type: 'RequestVoteReply', term: 1, voteGranted: true, sneaky: 1 }],
      ['flag not boolean', { type: 'RequestVoteReply', term: 1, voteGranted: 1 }],
      ['preVote not boolean', { type: 'RequestVote', term: 1, candidateId: A, lastLogIndex: 0, lastLogTerm: 0, preVote: 'yes' }],
      ['candidate is not the sender', { type: 'RequestVote', term: 1, candidateId: B, lastLogIndex: 0, lastLogTerm: 0 }],
      ['lastLogTerm above term', { type: 'RequestVote', term: 1, candidateId: A, lastLogIndex: 3, lastLogTerm: 2 }],
      ['empty log with a term', { type: 'RequestVote', term: 1, candidateId: A, lastLogIndex: 0, lastLogTerm: 1 }],
      ['leader is not the sender', { type: 'AppendEntries', term: 1, leaderId: B, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0 }],
      ['entries not an array', { type: 'AppendEntries', term: 1, leaderId: A, prevLogIndex: 0, prevLogTerm: 0, entries: {}, leaderCommit: 0 }],
      ['entry without command', { type: 'AppendEntries', term: 1, leaderId: A, prevLogIndex: 0, prevLogTerm: 0, entries: [{ term: 1 }], leaderCommit: 0 }],
      ['entry term above term', { type: 'AppendEntries', term: 1, leaderId: A, prevLogIndex: 0, prevLogTerm: 0, entries: [{ term: 2, command: null }], leaderCommit: 0 }],
      ['entry terms decrease', { type: 'AppendEntries', term: 3, leaderId: A, prevLogIndex: 0, prevLogTerm: 0, entries: [{ term: 2, command: null }, { term: 1, command: null }], leaderCommit: 0 }],
      ['entry below prevLogTerm', { type: 'AppendEntries', term: 3, leaderId: A, prevLogIndex: 1, prevLogTerm: 2, entries: [{ term: 1, command: null }], leaderCommit: 0 }],
      ['command an array', { type: 'AppendEntries', term: 1, leaderId: A, prevLogIndex: 0, prevLogTerm: 0, entries: [{ term: 1, command: [1] }], leaderCommit: 0 }],
      ['command a string', { type: 'AppendEntries', term: 1, leaderId: A, prevLogIndex: 0, prevLogTerm: 0, entries: [{ term: 1, command: 'x' }], leaderCommit: 0 }],
      ['negative commit', { type: 'AppendEntries', term: 1, leaderId: A, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: -1 }],
      ['conflictTerm alone', { type: 'AppendEntriesReply', term: 1, success: false, matchIndex: 0, conflictTerm: 1 }],
      ['conflictIndex 0', { type: 'AppendEntriesReply', term: 1, success: false, matchIndex: 0, conflictIndex: 0 }],
      ['success with a hint', { type: 'AppendEntriesReply', term: 1, success: true, matchIndex: 1, conflictIndex: 2 }],
    ];
    for (const [security] of [[undefined], [{ secret: 'k' }], [{ secret: 'k', encrypt: true }]] as const) {
      for (const [what, message] of cases) {
        const buf = sealDatagram(Buffer.from(JSON.stringify({ from: A, message })), security);
        const result = decodeAtB(buf, security);
        assert.equal(reasonOf(result), 'malformed', `${what} (${security ? 'secret' : 'plain'})`);
        assert.equal(typeof validateMessage(message, A), 'string', what);
      }
    }
  });

  it('refuses envelopes and commands JSON cannot carry safely, without throwing', () => {
    const raw = (text: string) => reasonOf(decodeAtB(Buffer.from(text, 'utf8')));
    const ae = (command: string) =>
      `{"from":"${A}","message":{"type":"AppendEntries","term":1,"leaderId":"${A}","prevLogIndex":0,"prevLogTerm":0,"entries":[{"term":1,"command":${command}}],"leaderCommit":0}}`;
    assert.equal(raw(ae('{"x":1}')), 'ok');
    assert.equal(raw(ae('{"x":1e999}')), 'malformed');
    assert.equal(raw(ae('{"x":' + '['.repeat(100) + ']'.repeat(100) + '}')), 'malformed');
    assert.equal(raw(ae('{"x":' + '['.repeat(20000) + ']'.repeat(20000) + '}')), 'malformed');
    assert.equal(raw(ae('{"__proto__":{"polluted":true}}')), 'ok');
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal(raw(`{"from":"${A}"}`), 'malformed');
    assert.equal(raw(`{"from":1,"message":{}}`), 'malformed');
    assert.equal(raw(`{"from":"${A}","message":{"type":"RequestVoteReply","term":1,"voteGranted":true},"x":1}`), 'malformed');
    assert.equal(raw(' {}'), 'malformed');
    assert.equal(raw('{'), 'malformed');
    assert.equal(raw('null'), 'malformed');
    assert.equal(reasonOf(decodeAtB(Buffer.of(0x7b, 0xff, 0xfe, 0x7d))), 'malformed');
    assert.equal(reasonOf(decodeDatagram('not a buffer' as unknown as Buffer, { peers: peersOfB, maxBytes: MAX })), 'malformed');
  });

  it('never throws on random bytes, and gives the reason a node of each kind expects (seeded)', () => {
    const random = prng(20240611);
    for (let n = 0; n < 600; n++) {
      const length = Math.floor(random() * 400);
      const buf = Buffer.alloc(length);
      for (let i = 0; i < length; i++) buf[i] = Math.floor(random() * 256);
      if (length > 0 && n % 4 === 1) buf[0] = 0x7b;
      if (length > 0 && n % 4 === 2) buf[0] = 0x01;
      if (length > 0 && n % 4 === 3) buf[0] = 0x02;
      const maxBytes = n % 10 === 0 ? 100 : MAX;
      const expectOversized = length > maxBytes;
      const plain = decodeAtB(buf, undefined, maxBytes);
      assert.equal(reasonOf(plain), expectOversized ? 'oversized' : 'malformed', `case ${n}`);
      for (const security of [{ secret: 'k' }, { secret: 'k', encrypt: true }]) {
        const secured = decodeAtB(buf, security, maxBytes);
        assert.equal(reasonOf(secured), expectOversized ? 'oversized' : 'unauthenticated', `case ${n}`);
      }
    }
  });

  it('never throws on mutated valid datagrams; whatever passes is a well-formed message (seeded)', () => {
    const random = prng(7);
    let accepted = 0;
    for (let n = 0; n < 600; n++) {
      const original = encodeDatagram(A, messages[n % messages.length]!);
      const bytes = [...original];
      for (let k = 1 + Math.floor(random() * 3); k > 0; k--) {
        const at = Math.floor(random() * bytes.length);
        const op = random();
        const byte = random() < 0.5 ? Math.floor(random() * 256) : '0123456789,:{}[]"-.e tfn'.charCodeAt(Math.floor(random() * 24));
        if (op < 0.3) bytes.splice(at, 1);
        else if (op < 0.6) bytes.splice(at, 0, byte);
        else bytes[at] = byte;
      }
      const result = decodeAtB(Buffer.from(bytes));
      if (!result.ok) {
        assert.ok(['malformed', 'unknown-sender'].includes(result.reason), `case ${n}: ${result.reason}`);
        continue;
      }
      accepted++;
      assert.ok(peersOfB.has(result.from));
      assert.deepEqual(validateMessage(JSON.parse(JSON.stringify(result.message)), result.from), result.message);
      assert.deepEqual(decodeAtB(encodeDatagram(result.from, result.message)), result);
    }
    assert.ok(accepted < 600);
  });

  it('never throws on structurally random messages (seeded)', () => {
    const random = prng(99);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const values: unknown[] = [0, 1, -1, 1.5, 2 ** 53, '1', '', A, B, true, false, null, [], {}, [{ term: 1, command: null }], { data_id: 1 }];
    const fields = ['type', 'term', 'candidateId', 'leaderId', 'lastLogIndex', 'lastLogTerm', 'preVote', 'voteGranted', 'prevLogIndex', 'prevLogTerm', 'entries', 'leaderCommit', 'success', 'matchIndex', 'conflictIndex', 'conflictTerm'];
    const types = ['RequestVote', 'RequestVoteReply', 'AppendEntries', 'AppendEntriesReply', 'Other', 1];
    for (let n = 0; n < 1000; n++) {
      const message: Record<string, unknown> = { type: pick(types) };
      for (const field of fields) if (random() < 0.5) message[field] = pick(values);
      const result = decodeAtB(Buffer.from(JSON.stringify({ from: random() < 0.9 ? A : pick(values), message })));
      if (result.ok) assert.deepEqual(validateMessage(result.message, result.from), result.message);
      else assert.ok(['malformed', 'unknown-sender'].includes(result.reason));
    }
  });

  it('refuses an empty secret', () => {
    assert.throws(() => encodeDatagram(A, messages[0]!, { secret: '' }), /security\.secret must be a non-empty string/);
  });
});

describe('net: codec, membership requests from an admin client (AddServer / RemoveServer)', () => {
  const requests: AdminRequest[] = [
    { type: 'AddServer', requestId: 1, newServer: '127.0.0.1:8003' },
    { type: 'RemoveServer', requestId: 2 ** 47, oldServer: '[::1]:8004' },
  ];
  const replies: AdminReply[] = [
    { type: 'AddServerReply', requestId: 1, status: 'OK', leaderHint: A },
    { type: 'RemoveServerReply', requestId: 5, status: 'NOT_LEADER', leaderHint: null, reason: 'no leader known' },
    { type: 'AddServerReply', requestId: 6, status: 'TIMEOUT', leaderHint: B, reason: 'not committed within 10 ms' },
    { type: 'RemoveServerReply', requestId: 7, status: 'FAILED', leaderHint: A, reason: 'café 😀 is not a member' },
  ];
  const atB = (buf: Uint8Array, security?: Security) => decodeIncoming(buf, { security, peers: peersOfB, maxBytes: MAX });
  const reply = (buf: Uint8Array, security?: Security) => decodeAdminReply(buf, { security, maxBytes: MAX });

  for (const [mode, security] of modes) {
    it(`round-trips requests from any address, and replies (${mode})`, () => {
      for (const request of requests) {
        const decoded = atB(encodeAdminRequest(request, security), security);
        assert.ok(decoded.ok && 'admin' in decoded, JSON.stringify(decoded));
        assert.deepEqual(decoded.admin, request);
      }
      for (const r of replies) {
        const decoded = reply(encodeAdminReply(r, security), security);
        assert.ok(decoded.ok, JSON.stringify(decoded));
        assert.deepEqual(decoded.reply, r);
      }
    });
  }

  it('a request is authenticated like a Raft message, and is not a Raft message', () => {
    const request = requests[0]!;
    const gcm = { secret: 'one', encrypt: true };
    for (const [buf, security] of [[encodeAdminRequest(request), { secret: 'one' }], [encodeAdminRequest(request, { secret: 'two' }), { secret: 'one' }], [encodeAdminRequest(request, { secret: 'one' }), gcm]] as const) {
      assert.equal(reasonOf(atB(buf, security) as DecodeResult), 'unauthenticated');
    }
    assert.equal(reasonOf(reply(encodeAdminReply(replies[0]!, { secret: 'two' }), { secret: 'one' }) as DecodeResult), 'unauthenticated');
    const asRaft = decodeAtB(encodeAdminRequest(request));
    assert.ok(!asRaft.ok && asRaft.reason === 'malformed' && /a membership request, not a Raft message/.test(asRaft.detail));
    assert.equal(reasonOf(reply(encodeAdminRequest(request)) as DecodeResult), 'malformed', 'a request is not a reply');
    assert.equal(reasonOf(reply(encodeAdminReply(replies[0]!), undefined) as DecodeResult), 'ok');
  });

  it('refuses malformed requests and replies as "malformed", naming the field', () => {
    const badRequests: Array<[unknown, RegExp]> = [
      [[1], /admin must be an object/],
      [{ type: 'AddServers', requestId: 1, newServer: A }, /admin\.type must be "AddServer" or "RemoveServer", got "AddServers"/],
      [{ type: 'AddServer', requestId: 1, oldServer: A }, /AddServer has missing or unexpected fields/],
      [{ type: 'AddServer', requestId: 1, newServer: A, extra: true }, /AddServer has missing or unexpected fields/],
      [{ type: 'AddServer', requestId: 0, newServer: A }, /AddServer\.requestId must be a positive integer/],
      [{ type: 'AddServer', requestId: 1.5, newServer: A }, /AddServer\.requestId must be a positive integer/],
      [{ type: 'RemoveServer', requestId: 1, oldServer: 'laptop' }, /RemoveServer\.oldServer must be a "host:port" server id/],
      [{ type: 'RemoveServer', requestId: 1, oldServer: '127.0.0.1:70000' }, /RemoveServer\.oldServer must be a "host:port" server id/],
      [{ type: 'AddServer', requestId: 1, newServer: 8003 }, /AddServer\.newServer must be a "host:port" server id/],
    ];
    for (const [admin, detail] of badRequests) {
      const result = atB(Buffer.from(JSON.stringify({ admin })));
      assert.ok(!result.ok && result.reason === 'malformed' && detail.test(result.detail), `${JSON.stringify(admin)}: ${JSON.stringify(result)}`);
      assert.match(String(validateAdminRequest(admin)), detail);
    }
    const extraEnvelope = atB(Buffer.from(JSON.stringify({ admin: requests[0], from: A })));
    assert.ok(!extraEnvelope.ok && extraEnvelope.reason === 'malformed');
    const badReplies: Array<[unknown, RegExp]> = [
      [{ type: 'AddServer', requestId: 1, status: 'OK', leaderHint: null }, /adminReply\.type must be/],
      [{ type: 'AddServerReply', requestId: 1, status: 'MAYBE', leaderHint: null }, /AddServerReply\.status must be one of OK, NOT_LEADER, TIMEOUT, FAILED/],
      [{ type: 'AddServerReply', requestId: 1, status: 'OK' }, /AddServerReply has missing or unexpected fields/],
      [{ type: 'AddServerReply', requestId: 1, status: 'OK', leaderHint: 'nowhere' }, /AddServerReply\.leaderHint must be a "host:port" server id or null/],
      [{ type: 'RemoveServerReply', requestId: 1, status: 'FAILED', leaderHint: null, reason: 7 }, /RemoveServerReply\.reason must be a string of at most 1000 characters/],
      [{ type: 'RemoveServerReply', requestId: 1, status: 'FAILED', leaderHint: null, reason: 'x'.repeat(1001) }, /at most 1000 characters/],
    ];
    for (const [adminReply, detail] of badReplies) {
      const result = reply(Buffer.from(JSON.stringify({ adminReply })));
      assert.ok(!result.ok && result.reason === 'malformed' && detail.test(result.detail), `${JSON.stringify(adminReply)}: ${JSON.stringify(result)}`);
      assert.match(String(validateAdminReply(adminReply)), detail);
    }
    assert.equal(encodeAdminReply({ ...replies[3]!, reason: 'y'.repeat(5000) }).length < 1200, true, 'a long reason is cut to fit');
  });

  it('never throws on structurally random requests (seeded)', () => {
    const random = prng(4242);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const values: unknown[] = [0, 1, -1, 2 ** 60, '1', '', A, 'x:y', true, null, [], {}];
    for (let n = 0; n < 500; n++) {
      const admin: Record<string, unknown> = { type: pick(['AddServer', 'RemoveServer', 'Other', 3]) };
      for (const field of ['requestId', 'newServer', 'oldServer']) if (random() < 0.6) admin[field] = pick(values);
      const result = atB(Buffer.from(JSON.stringify({ admin })));
      if (result.ok) assert.ok('admin' in result && typeof validateAdminRequest(result.admin) !== 'string');
      else assert.equal(result.reason, 'malformed');
    }
  });
});
