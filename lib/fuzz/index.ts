/** Randomized fault simulation and the bug zoo (npm run fuzz; the notebooks' bug zoo imports from here). */
export { generateSchedule, describeSchedule, describeFault, networkFor, calmPhase, type Schedule, type Fault, type FaultKind, type NetworkPhase, type ScheduleOptions } from './schedule';
export { runSchedule, defaultLivenessBoundMs, type RunOptions, type RunResult, type Failure } from './run';
export { shrinkSchedule, sameFailure, type ShrinkResult } from './shrink';
export { zooVariants, zooVariant, type ZooVariant } from './zoo';
export { runSeed, runOptionsFor, fuzzSeeds, seedsToCatch, type SeedOptions, type FuzzSummary, type FailedSeed } from './campaign';
export { fuzzParallel, defaultWorkers } from './parallel';
