import { strict as assert } from 'node:assert';
import { Cluster } from '../lib';
import { zooVariants } from '../lib/fuzz/zoo';
import { replayTo, ScopeRun } from '../lib/scope/driver';
import { scopeHtml, specFromCluster } from '../lib/scope/notebook';
import { ScopeSession } from '../lib/scope/session';
import { decodeLink, decodeSpec, defaultSpec, encodeLink, encodeSpec, SpecError, type ScopeSpec } from '../lib/scope/spec';

/** Everything the page draws about the nodes, as one comparable string. */
function picture(run: ScopeRun): string {
  return JSON.stringify({ now: run.now, nodes: run.nodes(), messages: run.messages(), count: run.cluster.trace.count });
}

describe('Raft Scope: runs as seed + actions', () => {
  it('a link round-trips every kind of action and setting', () => {
    const spec: ScopeSpec = {
      ...defaultSpec, seed: 42, nodes: 7, preVote: true, checkQuorum: true, zoo: 'vote-twice', chaos: true, loss: 0.1,
      latency: [3, 9], electionTimeout: [200, 400], heartbeat: 40,
      rules: [{ name: 'logIsUpToDate', source: '() => true' }],
      actions: [
        { after: 10, at: 101.25, op: 'crash', node: 2 }, { after: 11, at: 150, op: 'restart', node: 2 },
        { after: 12, at: 160, op: 'timeout', node: 1 }, { after: 13, at: 170, op: 'request' },
        { after: 14, at: 171, op: 'request', node: 3, command: { data_id: 1, 'a,b': '&=#' } },
        { after: 15, at: 180, op: 'cut', a: 0, b: 4 }, { after: 16, at: 190, op: 'split', groups: [[0, 1], [2, 3, 4, 5, 6]] },
        { after: 17, at: 200, op: 'heal' }, { after: 18, at: 210, op: 'links', cut: [[0, 1], [6, 5]] },
        { after: 19, at: 220, op: 'links', cut: [] }, { after: 20, at: 230, op: 'drop', message: 77 },
        { after: 21, at: 240, op: 'delay', message: 78, ms: 100 }, { after: 22, at: 250, op: 'net', loss: 0.2, min: 5, max: 50 },
      ],
    };
    const { spec: back, time } = decodeLink(encodeLink(spec, 1234.5));
    assert.deepEqual(back, spec);
    assert.equal(time, 1234.5);
  });

  it('bad links are refused with the field named', () => {
    assert.throws(() => decodeSpec('seed=x'), (e: Error) => e instanceof SpecError && /seed/.test(e.message));
    assert.throws(() => decodeSpec('n=9'), /n \(nodes\): expected 3 to 7, got 9/);
    assert.throws(() => decodeSpec('n=3&a=1@2:c5'), /no node 5 in a 3-node cluster/);
    assert.throws(() => decodeSpec('a=1@2:z'), /action 1 .*unknown action/);
    assert.throws(() => decodeSpec('loss=2'), /loss: expected a probability/);
    assert.throws(() => decodeSpec('bogus=1'), /bogus: unknown field/);
  });

  it('the same spec replays to the same state, and going back in time is exact', () => {
    const session = new ScopeSession({ ...defaultSpec, seed: 3 });
    session.seek(800);
    const leader = session.run.leaderIndex();
    assert.notEqual(leader, null);
    session.act({ op: 'crash', node: leader! });
    session.seek(1600);
    session.act({ op: 'request' });
    session.seek(2000);
    const at2000 = picture(session.run);
    const earlier = picture(replayTo(session.spec, 700));
    session.seek(700); // backward: replayed from the seed
    assert.equal(picture(session.run), earlier);
    assert.equal(session.run.leaderIndex(), leader, 'before the crash the first leader leads');
    session.seek(2000); // forward again through the same actions
    assert.equal(picture(session.run), at2000);
    assert.notEqual(session.run.leaderIndex(), leader);
    assert.equal(picture(replayTo(decodeLink(encodeLink(session.spec, 2000)).spec, 2000)), at2000, 'a link gives the same run');
  });

  it('acting in the past forks a new branch and keeps the old one', () => {
    const session = new ScopeSession({ ...defaultSpec, seed: 5 });
    session.seek(1000);
    session.act({ op: 'crash', node: 0 });
    session.seek(1500);
    const first = session.branch;
    session.seek(500);
    session.act({ op: 'crash', node: 1 });
    assert.equal(session.branches.length, 2);
    assert.notEqual(session.branch.id, first.id);
    assert.deepEqual(session.spec.actions.map((a) => a.op), ['crash']);
    assert.equal(session.branch.parent?.id, first.id);
    session.select(first.id);
    assert.deepEqual(session.spec.actions.map((a) => `${a.op}${'node' in a ? a.node : ''}`), ['crash0']);
  });

  it('drops and delays a chosen message in flight', () => {
    const run = new ScopeRun({ ...defaultSpec, seed: 2 });
    run.advanceTo(600);
    run.stepEvent();
    const inFlight = run.messages();
    assert.ok(inFlight.length >= 2, 'a leader sends heartbeats');
    const [a, b] = inFlight;
    run.act({ op: 'drop', message: a!.id });
    assert.ok(!run.messages().some((m) => m.id === a!.id));
    assert.ok(run.recentDrops(1).some((d) => d.reason === 'manual'));
    run.act({ op: 'delay', message: b!.id, ms: 100 });
    const delayed = run.messages().find((m) => m.from === b!.from && m.to === b!.to && m.deliverAt === b!.deliverAt + 100);
    assert.ok(delayed, 'the message arrives 100 ms later');
    run.advanceTo(b!.deliverAt + 50);
    assert.ok(run.messages().some((m) => m.deliverAt === b!.deliverAt + 100), 'still in flight after its first arrival time');
  });

  it('the safety monitor stops a bug-zoo run with chaos, naming the property', () => {
    const run = new ScopeRun({ ...defaultSpec, seed: 1, zoo: 'vote-twice', chaos: true });
    run.advanceTo(60_000);
    assert.ok(run.violation, 'vote-twice is caught');
    assert.equal(run.violation!.property, 'Election Safety');
    assert.ok(run.now <= run.violation!.time + 1e-9, 'the run stops at the violation');
    const reference = new ScopeRun({ ...defaultSpec, seed: 1, chaos: true });
    reference.advanceTo(run.violation!.time + 5000);
    assert.equal(reference.violation, null, 'the same chaos against Figure 2 is safe');
    assert.ok(zooVariants.length >= 6);
  });

  it('scope(cluster) carries a notebook run, rules included, and replays it exactly', async () => {
    const cluster = new Cluster({
      nodes: 5, seed: 4, rules: { grantVote: (ctx) => ctx.request.term >= ctx.currentTerm && ctx.candidateLogUpToDate },
    });
    cluster.runUntil((c) => c.leader() !== null);
    const leader = cluster.leader()!;
    cluster.propose({ data_id: 1 });
    cluster.runFor(100);
    cluster.partition([leader], cluster.ids.filter((id) => id !== leader));
    cluster.propose({ data_id: 2 }, leader);
    cluster.runFor(600);
    cluster.propose({ data_id: 3 });
    cluster.runFor(200);
    cluster.heal();
    cluster.crash(cluster.ids[0]!);
    cluster.runFor(300);
    const spec = specFromCluster(cluster);
    assert.equal(spec.rules.length, 1);
    const run = replayTo(decodeSpec(encodeSpec(spec)), cluster.now);
    assert.deepEqual(run.cluster.statuses(), cluster.statuses());
    const html = await scopeHtml(cluster);
    assert.match(html, /^<iframe [^>]*srcdoc="&lt;!DOCTYPE html&gt;/);
    assert.ok(!/<\/script>\s*<\/script>/.test(html));
  });

  it('scope(cluster) refuses a run it cannot replay, saying why', () => {
    const cluster = new Cluster({ nodes: 3, seed: 1 });
    cluster.runFor(500);
    cluster.campaign(cluster.ids[1]!);
    cluster.runFor(100);
    assert.throws(() => specFromCluster(new Cluster({ nodes: 3, trace: 'state' })), /trace level is 'state'/);
    assert.throws(() => specFromCluster(new Cluster({ nodes: 9 })), /9 nodes/);
    return scopeHtml(cluster).then(
      () => assert.fail('campaign() is not in the trace'),
      (e: Error) => assert.match(e.message, /does not give the same cluster/),
    );
  });
});
