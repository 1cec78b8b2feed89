/**
 * Lookups by a user-supplied name. Config sections are plain objects, so `forwards['constructor']`
 * or `groups['toString']` would find `Object.prototype` members, and `x['__proto__'] = v` would
 * set the prototype instead of an entry: every lookup and store keyed by a name the user wrote
 * goes through these own-key helpers.
 */

/** The entry `key` of `record` if it is an own property, else undefined. */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Store `value` under `key` as an own, enumerable property (safe for `__proto__`). */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}
