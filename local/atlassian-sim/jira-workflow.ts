/**
 * The one workflow every simulated issue follows, shaped like Jira's simplified software workflow:
 *
 *   11 "Start progress": To Do → In Progress
 *   21 "Resolve":        To Do, In Progress → Done
 *   31 "Stop progress":  In Progress → To Do
 *   41 "Reopen":         Done → To Do
 *
 * Transition names differ from the status they lead to on purpose: clients must match on `to.name`.
 */

export type StatusCategoryKey = 'new' | 'indeterminate' | 'done';

export interface SimStatus {
  id: string;
  name: string;
  category: { id: number; key: StatusCategoryKey; name: string; colorName: string };
}

export interface SimTransition {
  id: string;
  name: string;
  /** Status names this transition starts from. */
  from: readonly string[];
  /** The status it leads to. */
  to: string;
}

const CATEGORIES = {
  new: { id: 2, key: 'new', name: 'To Do', colorName: 'blue-gray' },
  indeterminate: { id: 4, key: 'indeterminate', name: 'In Progress', colorName: 'yellow' },
  done: { id: 3, key: 'done', name: 'Done', colorName: 'green' },
} as const satisfies Record<StatusCategoryKey, SimStatus['category']>;

export const STATUSES: readonly SimStatus[] = [
  { id: '10000', name: 'To Do', category: CATEGORIES.new },
  { id: '3', name: 'In Progress', category: CATEGORIES.indeterminate },
  { id: '10001', name: 'Done', category: CATEGORIES.done },
];

export const TRANSITIONS: readonly SimTransition[] = [
  { id: '11', name: 'Start progress', from: ['To Do'], to: 'In Progress' },
  { id: '21', name: 'Resolve', from: ['To Do', 'In Progress'], to: 'Done' },
  { id: '31', name: 'Stop progress', from: ['In Progress'], to: 'To Do' },
  { id: '41', name: 'Reopen', from: ['Done'], to: 'To Do' },
];

/** A status by name, case-insensitively (JQL and transitions compare names that way). */
export function statusNamed(name: string): SimStatus | undefined {
  const wanted = name.toLowerCase();
  return STATUSES.find((s) => s.name.toLowerCase() === wanted);
}

/** The transitions available from a status, in the order Jira's ops bar would show them. */
export function transitionsFrom(statusName: string): SimTransition[] {
  return TRANSITIONS.filter((t) => t.from.includes(statusName));
}
