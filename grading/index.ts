/**
 * The grader's public API: the instructor's command line uses it, and the notebooks' autograder cells call
 * checkTask2/checkTask3 on in-memory files and print formatChecklist(result).
 */
export { type Check, type TaskResult, formatChecklist, formatPoints, taskResult } from './checks';
export { type SubmissionFiles, type Cluster, inferCluster, clusterAt, GRADED_NAME } from './lab-files';
export { checkTask2, type Task2Options } from './task2';
export { checkTask3, type Task3Options } from './task3';
export { loadSubmission, SubmissionError, defaultLimits, type LoadedSubmission, type LoadLimits } from './submission';
export { gradeFiles, gradeSubmission, gradeBatch, listBatch, submissionJson, type SubmissionGrade, type BatchOptions } from './grade';
export { gradebookCsv, feedbackMarkdown, feedbackHtml, writeReports } from './gradebook';
export { gradeNotebook, withHiddenTests, notebookRunnerProblem, type NotebookGradeOptions } from './notebook-grader';
export type { NotebookGrading } from './grade';
export { readPython, type PythonProgram, type PythonParse } from './python';
export { findSimilar, fingerprintArtifacts, compareFingerprints, similarityMarkdown, similarityCsv, writeSimilarity, type SimilarityReport, type SimilarPair } from './similarity';
