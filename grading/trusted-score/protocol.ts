import type { TaskResult } from '../checks';
import type { StudentFunctionsOptions } from './student-functions';

/** What the grader sends the harness (stdin). */
export interface HarnessJob {
  readonly notebook: string;
  /** The reference notebook's code cells, in order (from the instructor's copy). */
  readonly cells: readonly { readonly id: string | null; readonly role: 'exercise' | 'autograder' | null; readonly source: string }[];
  /** The submission's exercise cells by id (TypeScript source); null when the submission has none of that id. */
  readonly exercises: Readonly<Record<string, string | null>>;
  readonly options: StudentFunctionsOptions;
}

/** What the harness sends back, one JSON object a line, on fd 3. */
export type HarnessEvent =
  | { readonly type: 'exercise'; readonly id: string; readonly names: readonly string[]; readonly status: 'ok' | 'missing' | 'raised' | 'skipped'; readonly message: string }
  | { readonly type: 'cell-start'; readonly index: number; readonly id: string | null; readonly role: string | null }
  | { readonly type: 'result'; readonly cell: string | null; readonly title: string; readonly result: TaskResult }
  | { readonly type: 'cell-end'; readonly index: number; readonly id: string | null; readonly role: string | null; readonly status: 'ok' | 'error'; readonly error: string | null }
  | { readonly type: 'done' }
  | { readonly type: 'fatal'; readonly error: string };
