/** The fuzzing library: seeded mutation of capture files and the harness that runs each case. */
export { Rng } from './rng.js';
export { captureStructure, trimCapture, type CaptureStructure, type CaptureUnit, type LengthField } from './structure.js';
export { mutate, MUTATION_KINDS, type Mutant, type MutationKind, type Seed } from './mutate.js';
export { runCase, type CaseOptions, type CaseOutcome } from './harness.js';
export { packetProblem, type Limits } from './invariants.js';
export { minimise, type StillFails } from './minimise.js';
export { runFuzz, makeCase, loadSeeds, crashSignature, type Finding, type FuzzOptions, type FuzzReport } from './run.js';
export { malformedCases, type MalformedCase } from './malformed.js';
