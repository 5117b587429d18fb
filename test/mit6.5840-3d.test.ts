/**
 * MIT 6.5840's Raft tests for part 3D (log compaction), one `it` per Go test with the same name (raft/test_test.go,
 * snapcommon and the two crash tests), on the in-process Cluster in virtual time. Go's tester takes a snapshot
 * every SnapShotInterval = 10 applied entries; so does the Cluster here (snapshotEvery). The safety monitor
 * checks Figure 3 on every event, snapshots installed from the leader included.
 */
import { strict as assert } from 'node:assert';
import { makeConfig, type Harness } from './helpers/harness';

const SnapShotInterval = 10;
const MAXLOGSIZE = 2000;

function config(unreliable: boolean, seed = 1): Harness {
  return makeConfig(3, unreliable, { seed, snapshotEvery: SnapShotInterval });
}

function randInt(h: Harness): number {
  return h.rng.int(1, 1_000_000_000);
}

/** snapcommon(): 30 rounds of writes past a snapshot, with a follower or the leader cut off or crashed. */
function snapcommon(disconnect: boolean, reliable: boolean, crash: boolean, seed = 1): Harness {
  const iters = 30;
  const servers = 3;
  const h = config(!reliable, seed);
  h.one(randInt(h), servers, true);
  let leader1 = h.checkOneLeader();
  for (let i = 0; i < iters; i++) {
    let victim = (leader1 + 1) % servers;
    let sender = leader1;
    if (i % 3 === 1) {
      sender = (leader1 + 1) % servers;
      victim = leader1;
    }
    if (disconnect) {
      h.disconnect(victim);
      h.one(randInt(h), servers - 1, true);
    }
    if (crash) {
      h.crash1(victim);
      h.one(randInt(h), servers - 1, true);
    }
    // perhaps send enough to get a snapshot
    const nn = SnapShotInterval / 2 + h.rng.int(0, SnapShotInterval - 1);
    for (let k = 0; k < nn; k++) if (h.isAlive(sender)) h.start(sender, randInt(h));
    // let applier threads catch up with the Start()'s; without faults every follower catches up, so
    // SnapshotBasic needs no InstallSnapshot.
    if (!disconnect && !crash) h.one(randInt(h), servers, true);
    else h.one(randInt(h), servers - 1, true);
    assert.ok(h.logSize() < MAXLOGSIZE, `log size too large: ${h.logSize()} bytes`);
    if (disconnect) {
      // reconnect a follower, who maybe behind and needs to receive a snapshot to catch up.
      h.connect(victim);
      h.one(randInt(h), servers, true);
      leader1 = h.checkOneLeader();
    }
    if (crash) {
      h.start1(victim);
      h.connect(victim);
      h.one(randInt(h), servers, true);
      leader1 = h.checkOneLeader();
    }
  }
  return h;
}

/** How many InstallSnapshot messages the run delivered. */
function installs(h: Harness): number {
  return h.cluster.trace.events.filter((e) => e.kind === 'deliver' && e.message.type === 'InstallSnapshot').length;
}

describe('MIT 6.5840 Raft tests, 3D: log compaction', function () {
  this.timeout(120_000);

  it('SnapshotBasic', () => {
    const h = snapcommon(false, true, false);
    for (const id of h.ids) assert.ok(h.cluster.raft(id)!.snapshotIndex > 0, `${id} took snapshots`);
  });

  it('SnapshotInstall', () => {
    const h = snapcommon(true, true, false);
    assert.ok(installs(h) > 0, 'a follower behind the snapshot caught up through InstallSnapshot');
  });

  it('SnapshotInstallUnreliable', () => {
    snapcommon(true, false, false);
  });

  it('SnapshotInstallCrash', () => {
    const h = snapcommon(false, true, true);
    assert.ok(installs(h) > 0);
  });

  it('SnapshotInstallUnCrash', () => {
    snapcommon(false, false, true);
  });

  it('SnapshotAllCrash', () => {
    const servers = 3;
    const iters = 5;
    const h = config(false);
    h.one(randInt(h), servers, true);
    for (let i = 0; i < iters; i++) {
      // perhaps enough to get a snapshot
      const nn = SnapShotInterval / 2 + h.rng.int(0, SnapShotInterval - 1);
      for (let k = 0; k < nn; k++) h.one(randInt(h), servers, true);
      const index1 = h.one(randInt(h), servers, true);
      for (let s = 0; s < servers; s++) h.crash1(s);
      for (let s = 0; s < servers; s++) {
        h.start1(s);
        h.connect(s);
      }
      const index2 = h.one(randInt(h), servers, true);
      assert.ok(index2 >= index1 + 1, `index decreased from ${index1} to ${index2}`);
    }
  });

  it('SnapshotInit', () => {
    const servers = 3;
    const h = config(false);
    h.one(randInt(h), servers, true);
    // enough ops to make a snapshot
    for (let k = 0; k < SnapShotInterval + 1; k++) h.one(randInt(h), servers, true);
    const crashAll = () => {
      for (let s = 0; s < servers; s++) h.crash1(s);
      for (let s = 0; s < servers; s++) {
        h.start1(s);
        h.connect(s);
      }
    };
    crashAll();
    // a single op, to get something to be written back to persistent storage.
    h.one(randInt(h), servers, true);
    crashAll();
    // do another op to trigger potential bug
    h.one(randInt(h), servers, true);
  });

  it('a restarted server comes back with its snapshot: the state machine holds what the snapshot holds', () => {
    const h = config(false, 7);
    for (let k = 0; k < 25; k++) h.one(k + 1, 3, true);
    const id = h.ids[0]!;
    const snapshot = h.cluster.persisted(id).snapshot!;
    assert.ok(snapshot.index >= 20);
    h.start1(0);
    assert.deepEqual(h.cluster.stateMachine(id).toJSON(), JSON.parse(snapshot.state));
    assert.equal(h.cluster.raft(id)!.snapshotIndex, snapshot.index);
    assert.equal(h.cluster.raft(id)!.lastApplied, snapshot.index);
  });
});
