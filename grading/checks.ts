/** The grader's checks and checklists are the course's (lib/course/checklist.ts): one format for the gradebook and the notebooks. */
export * from '../lib/course/checklist';
