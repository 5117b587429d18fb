import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RaftNode } from '../lib/raft/node';
import { persistReady } from '../lib/raft/storage';
import type { LogEntry } from '../lib/raft/types';
import { FileStorage } from '../lib/net/file-storage';
import { MAX_JSON_DEPTH, jsonValueProblem, pythonJson } from '../lib/net/python-json';
import {
  RaftFileError,
  fileNamesFor,
  formatLog,
  jsonErrorOffset,
  formatStorage,
  parseLogText,
  parseStateMachineText,
  parseStorageText,
  readRaftosFiles,
  writeRaftosFiles,
} from '../lib/net/raftos-files';

const ID = '127.0.0.1:8000';

describe('net: python-json', () => {
  it('writes like json.dumps: separators ", " and ": ", null/true/false', () => {
    assert.equal(pythonJson({ term: 1, command: { data_id: 1 } }), '{"term": 1, "command": {"data_id": 1}}');
    assert.equal(pythonJson({ term: 11, voted_for: null }), '{"term": 11, "voted_for": null}');
    assert.equal(pythonJson([1, [true, false], {}, [], { a: { b: [null] } }]), '[1, [true, false], {}, [], {"a": {"b": [null]}}]');
    assert.equal(pythonJson('x'), '"x"');
    assert.equal(pythonJson({}), '{}');
  });

  it('escapes like ensure_ascii=True', () => {
    assert.equal(pythonJson('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(pythonJson('\n\r\t\b\f'), '"\\n\\r\\t\\b\\f"');
    assert.equal(pythonJson('\u0001\u001f\u007f'), '"\\u0001\\u001f\\u007f"');
    assert.equal(pythonJson('café'), '"caf\\u00e9"');
    assert.equal(pythonJson('😀'), '"\\ud83d\\ude00"');
    assert.equal(pythonJson({ 'ключ': 'é' }), '{"\\u043a\\u043b\\u044e\\u0447": "\\u00e9"}');
    assert.equal(pythonJson('/ ~'), '"/ ~"');
  });

  it('writes integers as Python ints and other numbers as Python float repr', () => {
    assert.equal(pythonJson(0), '0');
    assert.equal(pythonJson(-0), '0');
    assert.equal(pythonJson(-42), '-42');
    assert.equal(pythonJson(1e21), '1000000000000000000000');
    assert.equal(pythonJson(2 ** 53 + 2), '9007199254740994');
    assert.equal(pythonJson(1.5), '1.5');
    assert.equal(pythonJson(-2.25), '-2.25');
    assert.equal(pythonJson(0.1), '0.1');
    assert.equal(pythonJson(0.0001), '0.0001');
    assert.equal(pythonJson(0.00001), '1e-05');
    assert.equal(pythonJson(1.23e-7), '1.23e-07');
    assert.equal(pythonJson(123456.789), '123456.789');
    assert.equal(pythonJson(1 / 3), '0.3333333333333333');
  });

  it('refuses what JSON cannot hold', () => {
    assert.throws(() => pythonJson(undefined), TypeError);
    assert.throws(() => pythonJson({ a: undefined }), TypeError);
    assert.throws(() => pythonJson(NaN), TypeError);
    assert.throws(() => pythonJson(Infinity), TypeError);
    assert.throws(() => pythonJson(() => 1), TypeError);
    assert.throws(() => pythonJson(new Date(0)), TypeError);
    assert.throws(() => pythonJson(10n), TypeError);
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    assert.throws(() => pythonJson(circular), /circular/);
    let deep: unknown = 1;
    for (let i = 0; i < MAX_JSON_DEPTH + 1; i++) deep = [deep];
    assert.throws(() => pythonJson(deep), /deeper/);
  });

  it('jsonValueProblem says what cannot be stored', () => {
    assert.equal(jsonValueProblem({ a: [1, 'x', null, true, { b: 2.5 }] }), null);
    assert.match(jsonValueProblem({ a: { b: NaN } })!, /a\.b is not a finite number/);
    assert.match(jsonValueProblem({ a: [1, undefined] })!, /a\[1\] is a undefined/);
    assert.match(jsonValueProblem({ d: new Map() })!, /d is not a plain object/);
    const shared = { x: 1 };
    assert.equal(jsonValueProblem({ a: shared, b: shared }), null);
    const circular: Record<string, unknown> = {};
    circular['me'] = { again: circular };
    assert.match(jsonValueProblem(circular)!, /me\.again is circular/);
    let deep: unknown = {};
    for (let i = 0; i < 10000; i++) deep = { d: deep };
    assert.match(jsonValueProblem(deep)!, /deeper than/);
  });
});

describe('net: raftos files', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-net-files-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('names files after the node id like raftos', () => {
    assert.deepEqual(fileNamesFor('/logs', ID), {
      log: path.join('/logs', '127.0.0.1_8000.log'),
      storage: path.join('/logs', '127.0.0.1_8000.storage'),
      stateMachine: path.join('/logs', '127.0.0.1_8000.state_machine'),
    });
    assert.throws(() => fileNamesFor('/logs', '127.0.0.1'), /node id: expected "host:port"/);
    assert.throws(() => fileNamesFor('/logs', '../etc:80'), /expected "host:port"/);
    assert.throws(() => fileNamesFor('/logs', '127.0.0.1:70000'), /out of range/);
  });

  it('reads the files of the lab manual example (python spacing)', () => {
    fs.writeFileSync(path.join(dir, '127.0.0.1_8001.log'), '{"term": 1, "command": {"data_id": 1}}\n{"term": 10, "command": {"data_id": 3}}\n');
    fs.writeFileSync(path.join(dir, '127.0.0.1_8001.storage'), '{"term": 15, "voted_for": "127.0.0.1:8001"}');
    fs.writeFileSync(path.join(dir, '127.0.0.1_8001.state_machine'), '{"data_id": 3}');
    const files = readRaftosFiles(dir, '127.0.0.1:8001');
    assert.deepEqual(files.log, [
      { term: 1, command: { data_id: 1 } },
      { term: 10, command: { data_id: 3 } },
    ]);
    assert.deepEqual(files.hardState, { currentTerm: 15, votedFor: '127.0.0.1:8001' });
    assert.deepEqual(files.stateMachine, { data_id: 3 });
  });

  it('accepts ujson compact spacing, no final newline, trailing blank lines and CRLF', () => {
    const expected = [
      { term: 1, command: { data_id: 1 } },
      { term: 2, command: { url: 'a/b' } },
    ];
    for (const text of [
      '{"term":1,"command":{"data_id":1}}\n{"term":2,"command":{"url":"a\\/b"}}\n',
      '{"term": 1, "command": {"data_id": 1}}\n{"term": 2, "command": {"url": "a/b"}}',
      '{"term": 1, "command": {"data_id": 1}}\n{"term": 2, "command": {"url": "a/b"}}\n\n',
      '{"term": 1, "command": {"data_id": 1}}\r\n{"term": 2, "command": {"url": "a/b"}}\r\n',
      '  {"term": 1, "command": {"data_id": 1}}  \n{"term": 2, "command": {"url": "a/b"}}\n   \n',
    ]) {
      assert.deepEqual(parseLogText(text, 'x.log').entries, expected, JSON.stringify(text));
    }
    assert.deepEqual(parseLogText('', 'x.log').entries, []);
    assert.deepEqual(parseLogText('{"term": 0, "command": null}\n', 'x.log').entries, [{ term: 0, command: null }]);
  });

  it('accepts every .storage raftos leaves behind', () => {
    assert.deepEqual(parseStorageText('{"term": 3, "voted_for": "127.0.0.1:8001"}', 's'), { currentTerm: 3, votedFor: '127.0.0.1:8001' });
    assert.deepEqual(parseStorageText('{"term":11,"voted_for":null}\n', 's'), { currentTerm: 11, votedFor: null });
    // raftos writes one key at a time, and creates the file empty when it looks a key up first.
    assert.deepEqual(parseStorageText('{"term": 0}', 's'), { currentTerm: 0, votedFor: null });
    assert.deepEqual(parseStorageText('', 's'), { currentTerm: 0, votedFor: null });
    assert.deepEqual(parseStateMachineText('{"data_id":2}', 'm'), { data_id: 2 });
    assert.deepEqual(parseStateMachineText('', 'm'), {});
  });

  it('missing files are empty state', () => {
    const files = readRaftosFiles(dir, ID);
    assert.deepEqual(files.log, []);
    assert.equal(files.hardState, null);
    assert.equal(files.stateMachine, null);
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  const corruptLogs: Array<[string, string, number, RegExp]> = [
    ['negative term', '{"term": 1, "command": {"a": 1}}\n{"term": 1, "command": {"a": 2}}\n{"term": -1, "command": {"a": 3}}\n', 3, /"term" must be a non-negative integer/],
    ['fractional term', '{"term": 1.5, "command": null}\n', 1, /"term" must be a non-negative integer/],
    ['string term', '{"term": "1", "command": null}\n', 1, /"term" must be a non-negative integer/],
    ['not JSON', '{"term": 1, "command": {"a": 1}}\n{"term": 1, "command": {\n', 2, /not valid JSON/],
    ['torn last line', '{"term": 1, "command": {"a": 1}}\n{"term": 1, "comm', 2, /not valid JSON/],
    ['blank line inside', '{"term": 1, "command": null}\n\n{"term": 1, "command": null}\n', 2, /empty line/],
    ['decreasing terms', '{"term": 2, "command": null}\n{"term": 3, "command": null}\n{"term": 2, "command": null}\n', 3, /term 2 is lower than term 3 on line 2/],
    ['string command', '{"term": 1, "command": "set x"}\n', 1, /"command" must be an object or null/],
    ['array command', '{"term": 1, "command": [1]}\n', 1, /"command" must be an object or null/],
    ['extra key', '{"term": 1, "command": null, "index": 1}\n', 1, /unexpected key "index"/],
    ['missing command', '{"term": 1}\n', 1, /missing "command"/],
    ['missing term', '{"command": null}\n', 1, /missing "term"/],
    ['array line', '[1, null]\n', 1, /expected an object/],
    ['NaN', '{"term": NaN, "command": null}\n', 1, /not valid JSON/],
  ];
  for (const [what, text, line, problem] of corruptLogs) {
    it(`a corrupt .log (${what}) names file and line ${line} and is left as it is`, () => {
      const file = fileNamesFor(dir, ID).log;
      fs.writeFileSync(file, text);
      const before = fs.readFileSync(file);
      const err = catchError(() => readRaftosFiles(dir, ID));
      assert.ok(err instanceof RaftFileError, String(err));
      assert.equal(err.file, file);
      assert.equal(err.line, line);
      assert.ok(err.message.startsWith(`${file} line ${line}: `), err.message);
      assert.match(err.message, problem);
      assert.deepEqual(fs.readFileSync(file), before);
    });
  }

  it('finds where JSON breaks exactly when JSON.parse refuses it (seeded fuzz)', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const samples = ['{"term": 1, "command": {"data_id": [1, -2.5e3, true, null, "a\\"\\u00e9"]}}', '[{}, [], "x", 0, {"k": {"j": []}}]'];
    const alphabet = '{}[]":,\\ -.0123456789eEtrufalsn\n';
    for (let n = 0; n < 2000; n++) {
      const chars = [...samples[n % samples.length]!];
      for (let k = 1 + Math.floor(random() * 3); k > 0; k--) {
        const at = Math.floor(random() * chars.length);
        const op = random();
        if (op < 0.4) chars.splice(at, 1);
        else if (op < 0.7) chars.splice(at, 0, alphabet[Math.floor(random() * alphabet.length)]!);
        else chars[at] = alphabet[Math.floor(random() * alphabet.length)]!;
      }
      const text = chars.join('');
      let parses = true;
      try {
        JSON.parse(text);
      } catch {
        parses = false;
      }
      const at = jsonErrorOffset(text);
      assert.equal(at === -1, parses, `${JSON.stringify(text)}: offset ${at}`);
      if (!parses) assert.ok(at >= 0 && at <= text.length);
    }
    assert.equal(jsonErrorOffset('{"a": 1,\n "b": nul}'), 15);
  });

  it('invalid UTF-8 is reported on its line', () => {
    const file = fileNamesFor(dir, ID).log;
    fs.writeFileSync(file, Buffer.concat([Buffer.from('{"term": 1, "command": null}\n{"term": 1, "command": {"a": "'), Buffer.of(0xff, 0xfe), Buffer.from('"}}\n')]));
    const err = catchError(() => readRaftosFiles(dir, ID));
    assert.ok(err instanceof RaftFileError);
    assert.equal(err.line, 2);
    assert.match(err.message, /127\.0\.0\.1_8000\.log line 2: not valid UTF-8/);
  });

  const corruptStorage: Array<[string, string, number, RegExp]> = [
    ['voted_for a number', '{"term": 3, "voted_for": 8001}', 1, /"voted_for" must be null or a node id/],
    ['voted_for not an id', '{"term": 3, "voted_for": "me"}', 1, /"voted_for" must be null or a node id/],
    ['term a string', '{"term": "3", "voted_for": null}', 1, /"term" must be a non-negative integer, found "3"/],
    ['no term', '{"voted_for": null}', 1, /missing "term"/],
    ['unknown key', '{"term": 3, "voted_for": null, "commit_index": 2}', 1, /unexpected key "commit_index"/],
    ['array', '[3, null]', 1, /expected an object/],
    ['broken on line 2', '{"term": 3,\n "voted_for": nul}', 2, /not valid JSON/],
  ];
  for (const [what, text, line, problem] of corruptStorage) {
    it(`a corrupt .storage (${what}) names file and line ${line}`, () => {
      const file = fileNamesFor(dir, ID).storage;
      fs.writeFileSync(file, text);
      const err = catchError(() => readRaftosFiles(dir, ID));
      assert.ok(err instanceof RaftFileError, String(err));
      assert.ok(err.message.startsWith(`${file} line ${line}: `), err.message);
      assert.match(err.message, problem);
      assert.equal(fs.readFileSync(file, 'utf8'), text);
    });
  }

  it('a corrupt .state_machine names the file', () => {
    const file = fileNamesFor(dir, ID).stateMachine;
    for (const [text, problem] of [['["data_id", 1]', /expected a JSON object/], ['{"data_id": }', /not valid JSON/]] as const) {
      fs.writeFileSync(file, text);
      const err = catchError(() => readRaftosFiles(dir, ID));
      assert.ok(err instanceof RaftFileError);
      assert.ok(err.message.startsWith(`${file} line 1: `), err.message);
      assert.match(err.message, problem);
    }
  });

  it('writes files that look like raftos files and read back', () => {
    const log: LogEntry[] = [
      { term: 1, command: { data_id: 1 } },
      { term: 10, command: { data_id: 3 } },
    ];
    const files = writeRaftosFiles(dir, ID, { log, hardState: { currentTerm: 15, votedFor: '127.0.0.1:8001' }, stateMachine: { data_id: 3 } });
    assert.equal(fs.readFileSync(files.log, 'utf8'), '{"term": 1, "command": {"data_id": 1}}\n{"term": 10, "command": {"data_id": 3}}\n');
    assert.equal(fs.readFileSync(files.storage, 'utf8'), '{"term": 15, "voted_for": "127.0.0.1:8001"}');
    assert.equal(fs.readFileSync(files.stateMachine, 'utf8'), '{"data_id": 3}');
    assert.equal(formatStorage({ currentTerm: 11, votedFor: null }), '{"term": 11, "voted_for": null}');
    assert.equal(formatLog([]), '');
    const back = readRaftosFiles(dir, ID);
    assert.deepEqual(back.log, log);
    assert.deepEqual(back.hardState, { currentTerm: 15, votedFor: '127.0.0.1:8001' });
    assert.deepEqual(back.stateMachine, { data_id: 3 });
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
  });
});

describe('net: FileStorage', () => {
  let dir: string;
  const opened: FileStorage[] = [];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-net-storage-'));
  });
  afterEach(() => {
    for (const s of opened.splice(0)) s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  function open(options?: { fsync?: boolean }): FileStorage {
    const s = new FileStorage(dir, ID, options);
    opened.push(s);
    return s;
  }
  const e = (term: number, v: number | null): LogEntry => ({ term, command: v === null ? null : { data_id: v } });

  it('starts empty and round-trips term, vote and log across a restart', () => {
    const s = open();
    assert.deepEqual(s.load(), { currentTerm: 0, votedFor: null, log: [] });
    s.saveHardState({ currentTerm: 3, votedFor: '127.0.0.1:8001' });
    s.writeLog(1, [e(1, 1), e(2, 2)]);
    s.writeLog(3, [e(3, 3)]);
    s.close();
    const files = fileNamesFor(dir, ID);
    assert.equal(fs.readFileSync(files.storage, 'utf8'), '{"term": 3, "voted_for": "127.0.0.1:8001"}');
    assert.equal(
      fs.readFileSync(files.log, 'utf8'),
      '{"term": 1, "command": {"data_id": 1}}\n{"term": 2, "command": {"data_id": 2}}\n{"term": 3, "command": {"data_id": 3}}\n',
    );
    assert.equal(fs.existsSync(files.stateMachine), false, 'raftos creates .state_machine only once something is applied');
    const again = open();
    assert.deepEqual(again.load(), { currentTerm: 3, votedFor: '127.0.0.1:8001', log: [e(1, 1), e(2, 2), e(3, 3)] });
    assert.equal(s.stats.logAppends, 2);
    assert.ok(s.stats.fsyncs >= 4);
  });

  it('truncates by rewriting the file, and the result survives a restart', () => {
    const s = open();
    s.load();
    s.writeLog(1, [e(1, 1), e(1, 2), e(1, 3)]);
    s.writeLog(2, [e(2, 20)]);
    assert.deepEqual(s.log, [e(1, 1), e(2, 20)]);
    s.writeLog(3, [e(2, 30)]);
    s.writeLog(2, []);
    assert.equal(s.stats.logRewrites, 2);
    s.close();
    assert.equal(fs.readFileSync(fileNamesFor(dir, ID).log, 'utf8'), '{"term": 1, "command": {"data_id": 1}}\n');
    assert.deepEqual(open().load().log, [e(1, 1)]);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['127.0.0.1_8000.log']);
  });

  it('refuses a write that would leave a gap', () => {
    const s = open();
    s.load();
    s.writeLog(1, [e(1, 1)]);
    assert.throws(() => s.writeLog(3, [e(1, 3)]), RangeError);
    assert.throws(() => s.writeLog(0, []), RangeError);
  });

  it('carries on a raftos file: keeps its lines, appends whole lines even without a final newline', () => {
    const files = fileNamesFor(dir, ID);
    fs.writeFileSync(files.log, '{"term":1,"command":{"data_id":1}}\n{"term":1,"command":{"data_id":2}}');
    fs.writeFileSync(files.storage, '{"term":1,"voted_for":"127.0.0.1:8000"}');
    const s = open();
    assert.deepEqual(s.load(), { currentTerm: 1, votedFor: '127.0.0.1:8000', log: [e(1, 1), e(1, 2)] });
    s.writeLog(3, [e(1, 3)]);
    s.writeLog(4, [e(1, 4)]);
    assert.equal(
      fs.readFileSync(files.log, 'utf8'),
      '{"term":1,"command":{"data_id":1}}\n{"term":1,"command":{"data_id":2}}\n{"term": 1, "command": {"data_id": 3}}\n{"term": 1, "command": {"data_id": 4}}\n',
    );
    assert.equal(s.stats.logRewrites, 1, 'the first write normalises the file, the next one appends');
    assert.equal(s.stats.logAppends, 1);
  });

  it('a corrupt file stops load() and is left untouched; nothing is written', () => {
    const files = fileNamesFor(dir, ID);
    const text = '{"term": 1, "command": {"data_id": 1}}\n{"term": "two", "command": {"data_id": 2}}\n';
    fs.writeFileSync(files.log, text);
    const s = open();
    const err = catchError(() => s.load());
    assert.ok(err instanceof RaftFileError);
    assert.match(err.message, /127\.0\.0\.1_8000\.log line 2: "term" must be a non-negative integer/);
    assert.equal(fs.readFileSync(files.log, 'utf8'), text);
    assert.deepEqual(fs.readdirSync(dir), ['127.0.0.1_8000.log']);
    assert.throws(() => s.writeLog(3, [e(1, 3)]), RaftFileError);
    assert.equal(fs.readFileSync(files.log, 'utf8'), text);
  });

  it('refuses a .storage whose term is below the last log term; adopts that term without a .storage', () => {
    const files = fileNamesFor(dir, ID);
    fs.writeFileSync(files.log, '{"term": 1, "command": null}\n{"term": 4, "command": null}\n');
    assert.deepEqual(open().load(), { currentTerm: 4, votedFor: null, log: [e(1, null), e(4, null)] });
    fs.writeFileSync(files.storage, '{"term": 3, "voted_for": null}');
    const err = catchError(() => open().load());
    assert.ok(err instanceof RaftFileError);
    assert.match(err.message, /\.storage line 1: "term" 3 is lower than term 4 of the last entry/);
  });

  it('writes .state_machine whole, without a final newline', () => {
    const s = open({ fsync: false });
    s.load();
    assert.equal(s.loadStateMachine(), null);
    s.saveStateMachine({ data_id: 1 });
    s.saveStateMachine({ data_id: 2, name: 'é' });
    assert.equal(fs.readFileSync(s.files.stateMachine, 'utf8'), '{"data_id": 2, "name": "\\u00e9"}');
    assert.deepEqual(s.loadStateMachine(), { data_id: 2, name: 'é' });
    assert.equal(s.stats.fsyncs, 0);
  });

  it('refuses writes once closed', () => {
    const s = open();
    s.load();
    s.close();
    assert.throws(() => s.saveHardState({ currentTerm: 1, votedFor: null }), /closed/);
    assert.throws(() => s.writeLog(1, []), /closed/);
  });

  it('persists what a RaftNode decides (persistReady), and a new RaftNode carries on from it', () => {
    const s = open();
    const options = { id: ID, peers: [], random: () => 0.5 };
    const node = new RaftNode(options, s.load(), 0);
    persistReady(s, node.tick(1000));
    assert.equal(node.role, 'leader');
    const outcome = node.propose({ data_id: 1 }, 1001);
    assert.ok(outcome.accepted);
    persistReady(s, outcome.ready);
    assert.deepEqual(outcome.ready.apply.map((a) => a.index), [1]);
    s.close();
    const files = fileNamesFor(dir, ID);
    assert.equal(fs.readFileSync(files.log, 'utf8'), '{"term": 1, "command": {"data_id": 1}}\n');
    assert.equal(fs.readFileSync(files.storage, 'utf8'), '{"term": 1, "voted_for": "127.0.0.1:8000"}');
    const restarted = new RaftNode(options, open().load(), 0);
    assert.equal(restarted.currentTerm, 1);
    assert.deepEqual(restarted.log, [e(1, 1)]);
  });

  it('a snapshot goes to a .snapshot file beside the others, and the log is cut after it, naming it on its first line', () => {
    const s = open();
    s.load();
    s.saveHardState({ currentTerm: 3, votedFor: null });
    s.writeLog(1, [e(1, 1), e(1, 2), e(2, 3), e(2, 4)]);
    s.saveSnapshot({ index: 3, term: 2, state: JSON.stringify({ data_id: 3 }) });
    const files = fileNamesFor(dir, ID);
    assert.equal(fs.readFileSync(`${dir}/127.0.0.1_8000.snapshot`, 'utf8'), '{"last_included_index": 3, "last_included_term": 2, "state": {"data_id": 3}}');
    assert.equal(fs.readFileSync(files.log, 'utf8'), '{"snapshot": {"last_included_index": 3, "last_included_term": 2}}\n{"term": 2, "command": {"data_id": 4}}\n');
    s.writeLog(5, [e(2, 5)]);
    s.writeLog(5, [e(3, 6)]); // a truncation after the snapshot keeps the header
    assert.equal(parseLogText(fs.readFileSync(files.log, 'utf8'), files.log).snapshot?.index, 3);
    s.close();
    const again = open().load();
    assert.deepEqual(again, { currentTerm: 3, votedFor: null, log: [e(2, 4), e(3, 6)], snapshot: { index: 3, term: 2, state: '{"data_id":3}' } });
    assert.throws(() => open().writeLog(3, [e(2, 9)]), /entries up to 3 are in the snapshot/);
  });

  it('a crash after the snapshot was written and before the log was cut: load() cuts it', () => {
    const files = fileNamesFor(dir, ID);
    fs.writeFileSync(files.log, formatLog([e(1, 1), e(1, 2), e(2, 3)]));
    fs.writeFileSync(`${dir}/127.0.0.1_8000.snapshot`, '{"last_included_index": 2, "last_included_term": 1, "state": {"data_id": 2}}');
    const s = open();
    assert.deepEqual(s.load().log, [e(2, 3)]);
    s.writeLog(4, [e(2, 4)]);
    assert.equal(fs.readFileSync(files.log, 'utf8'), '{"snapshot": {"last_included_index": 2, "last_included_term": 1}}\n' + formatLog([e(2, 3), e(2, 4)]));
  });

  it('a corrupt or missing snapshot is refused at start with the file named, and left untouched', () => {
    const files = fileNamesFor(dir, ID);
    const snapshotFile = `${dir}/127.0.0.1_8000.snapshot`;
    fs.writeFileSync(files.log, '{"snapshot": {"last_included_index": 2, "last_included_term": 1}}\n' + formatLog([e(1, 3)]));
    let err = catchError(() => open().load());
    assert.ok(err instanceof RaftFileError);
    assert.match(err.message, /127\.0\.0\.1_8000\.log line 1: the entries up to 2 are said to be in a snapshot, but .*\.snapshot does not exist/);
    for (const [text, problem] of [
      ['{"last_included_index": 2, "last_included_term": 1, "state": {"data_id": 2}', /snapshot line 1/],
      ['{"last_included_index": 0, "last_included_term": 1, "state": {}}', /"last_included_index" must be a positive integer/],
      ['{"last_included_index": 2, "last_included_term": 1, "state": [1]}', /"state" must be an object/],
      ['{"last_included_index": 2, "last_included_term": 1}', /"state" must be an object/],
      ['{"last_included_index": 1, "last_included_term": 1, "state": {}}', /the snapshot ends at index 1, but .*\.log starts after index 2/],
    ] as const) {
      fs.writeFileSync(snapshotFile, text);
      err = catchError(() => open().load());
      assert.ok(err instanceof RaftFileError, String(err));
      assert.match(err.message, problem);
      assert.ok(err.message.includes(err.message.includes('.log starts') ? '.snapshot' : '127.0.0.1_8000.snapshot'));
      assert.equal(fs.readFileSync(snapshotFile, 'utf8'), text, 'left as it was');
    }
    fs.writeFileSync(files.log, '{"snapshot": {"last_included_index": 2}}\n');
    assert.match(catchError(() => parseLogText(fs.readFileSync(files.log, 'utf8'), files.log)).message, /line 1: "snapshot" must be/);
  });
});

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new assert.AssertionError({ message: 'expected an error' });
}
