/** The 6.5840 harness lives in lib/course (the scenario grader runs on it too). */
export * from '../../lib/course/harness';
