/**
 * Groups name forwards and other groups. Expansion and cycle detection visit each group once
 * (iteratively, so deep nesting cannot overflow the stack): a config of 61 groups each
 * `[next, next]` names 2^61 paths but only 61 groups, and is handled in linear time.
 */
import { own } from './own.js';

/**
 * Forward names reached from `name` (a forward, or a group expanded recursively), each once, in
 * depth-first config order. Members that are neither are skipped (the config check reports them);
 * undefined when `name` is neither a forward nor a group.
 */
export function expandGroup(
  forwards: Readonly<Record<string, unknown>>,
  groups: Readonly<Record<string, readonly string[]>>,
  name: string,
): string[] | undefined {
  if (own(forwards, name) !== undefined) return [name];
  if (own(groups, name) === undefined) return undefined;
  const out: string[] = [];
  const seenForwards = new Set<string>();
  const seenGroups = new Set<string>([name]);
  // Explicit stack of (group members, next index): depth-first, config order.
  const stack: Array<{ members: readonly string[]; i: number }> = [{ members: own(groups, name) ?? [], i: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top === undefined || top.i >= top.members.length) {
      stack.pop();
      continue;
    }
    const m = top.members[top.i++] ?? '';
    if (own(forwards, m) !== undefined) {
      if (!seenForwards.has(m)) out.push(m);
      seenForwards.add(m);
      continue;
    }
    const sub = own(groups, m);
    if (sub === undefined || seenGroups.has(m)) continue;
    seenGroups.add(m);
    stack.push({ members: sub, i: 0 });
  }
  return out;
}

/**
 * Every cycle among groups, each reported once as the path from the group where it closes back
 * to itself (`a → b → a`). Three-colour depth-first search: linear in groups plus members.
 */
export function findGroupCycles(groups: Readonly<Record<string, readonly string[]>>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[][] = [];
  for (const start of Object.keys(groups)) {
    if (state.has(start)) continue;
    const path: string[] = [start];
    const stack: Array<{ members: readonly string[]; i: number }> = [{ members: own(groups, start) ?? [], i: 0 }];
    state.set(start, 'open');
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top === undefined || top.i >= top.members.length) {
        stack.pop();
        const done = path.pop();
        if (done !== undefined) state.set(done, 'done');
        continue;
      }
      const m = top.members[top.i++] ?? '';
      const sub = own(groups, m);
      if (sub === undefined) continue;
      const s = state.get(m);
      if (s === 'open') cycles.push([...path.slice(path.indexOf(m)), m]);
      if (s !== undefined) continue;
      state.set(m, 'open');
      path.push(m);
      stack.push({ members: sub, i: 0 });
    }
  }
  return cycles;
}
