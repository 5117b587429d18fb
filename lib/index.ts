/**
 * Raft Lab's public API. Notebooks, the lab's programs and the grader import from here only.
 */
export type {
  AppendEntries, AppendEntriesReply, Command, CoreNote, HardState, InstallSnapshot, InstallSnapshotReply, LogEntry, Message, NodeId,
  Outbound, PersistentState, ReadResult, Ready, RequestVote, RequestVoteReply, Role, Snapshot, TimeoutNow,
} from './raft/types';
export {
  RaftNode, createRaftNode, defaultTimings, type RaftOptions, type Timings, type ProposeOutcome, type RaftCore, type CreateNode,
  type ReadOutcome, type TransferOutcome, type MembershipOutcome,
} from './raft/node';
export { configCommand, configOf, describeConfig, CONFIG_KEY, type Configuration } from './raft/membership';
export type { TrackedRead } from './raft/reads';
export { HandlerError, handlerNames, type Handlers, type HandlerName, type NodeContext, type NodeConfig, type RaftLog } from './raft/context';
export { figure2Handlers } from './raft/handlers';
export * as handlers from './raft/handlers';
export { MemoryLog } from './raft/log';
export * as rules from './raft/rules';
export { figure2Rules, type RaftRules, type LogView } from './raft/rules';
export { MemoryStorage, persistReady, type Storage } from './raft/storage';
export { KeyValueStateMachine } from './raft/state-machine';
export { SafetyMonitor, SafetyViolation, type SafetyProperty } from './raft/safety';

export { Cluster, InvariantViolation, labNodeIds, type ClusterOptions, type NodeStatus, type ClusterProposal } from './sim/cluster';
export { Rng } from './sim/rng';
export { reliableNetwork, unreliableNetwork, type NetworkOptions, type Latency } from './sim/network';
export { Trace, formatEvent, describeMessage, type TraceEvent, type TraceKind, type TraceLevel } from './sim/trace';
export { formatStatusTable } from './sim/report';

export * from './errors';
export type { ConsensusNode, Committed, ProposeOptions } from './raft/consensus-node';
export { SimNode } from './api/sim-node';
export { Replicated, ReplicatedDict, ReplicatedList, type ReplicatedOptions } from './api/replicated';
export { getLeader, waitUntilLeader, useNode, defaultNode } from './api/registry';
export { configure, register, stop, resetConfiguration, type RaftosConfig } from './api/raftos';
export { runVirtual, type SimNodeOptions } from './api/sim-node';

export { RealNode, type RealNodeOptions, type RealNodeStats } from './net/real-node';
export { FileStorage } from './net/file-storage';
export { RaftFileError, readRaftosFiles, writeRaftosFiles, fileNamesFor, parseLogText, parseStorageText, parseStateMachineText, formatLog, formatStorage } from './net/raftos-files';
export { encodeDatagram, decodeDatagram, type Security, type DropReason } from './net/codec';

export { task2, task3, taskFileName, manualPollMs, type TaskIO, type TaskOptions } from './lab/tasks';
export { runLabInSim, type SimLabOptions, type SimLabRun } from './lab/sim-lab';

export * from './fuzz/index';
export type { ClusterBugs } from './sim/cluster';

export { gradeScenarios, replayScenario, runScenarioChecks, scenarioNames, ScenarioReplay, type GradeOptions, type ReplayOptions } from './course/scenarios/grade';

// What the notebooks use (they import from this file only, and from grading/index for the instructor's grader).
export { termTimeline, logGrid, electionCdf, messageDiagram, display, saveSvg } from './viz/index';
export { check, autograder, reportResult, type NotebookCheck } from './course/autograder';
export { fakeNode, fakePeers, type FakeNode, type FakeEvent as FakeNodeEvent, type FakeNodeState } from './course/fake-node';
export { saveImpl, implementationModule, type SaveResult, type SavedImplementation } from './course/save-impl';
export { assembleHandIn, HandInError, type HandIn, type HandInOptions } from './course/hand-in';
export { loadImplementation, ImplementationError, type Implementation } from './lab/impl';
export { writeSimulatedRun, RunFolderError } from './lab/run-folder';
export * as nb01 from './course/notebook-01';
export * as nb02 from './course/notebook-02';
export * as nb03 from './course/notebook-03';
export * as nb04 from './course/notebook-04';
export * as nb05 from './course/notebook-05';
export type { CompactedLog, SnapshotChunk, ChunkResult } from './course/notebook-05';
export * as nb06 from './course/notebook-06';
export type { ClientSession, SessionTable, PendingRead, LeaderReadView } from './course/notebook-06';

export { scenarios, type Scenario } from './course/scenarios/catalog';
export type { Fault as ScenarioFault } from './course/scenarios/plan';
export type { ScenarioFailure } from './course/scenarios/run';
export type { FailureReport } from './course/failure-report';
export { fakeContext, type FakeContext, type FakeState, type FakeEvent, type FakeOptions } from './course/fake-context';
export { studentNodeFactory, type StudentImpl } from './course/student-node';
export { requestVoteChecks, requestVoteReplyChecks } from './course/handler-checks';
export { scope, scopeHtml, specFromCluster, type ScopeOptions } from './scope/notebook';
export type { ScopeAction } from './scope/spec';
// Linearizability: check a history against a model, draw the violation (lib/check/linearizability.ts).
export { checkLinearizability, checkHistory, checkHistoryParallel, type KvOperation, type LinearizabilityResult } from './check/linearizability';
export { kvModel, registerModel, setModel } from './check/models/index';
export { readHistory } from './check/histories';
export { generateHistory } from './check/linearizability/generate';
export { linearizabilityPicture, linearizabilitySvg } from './check/linearizability-picture';
