import type { Queryable } from './connect.ts';

/**
 * `make(db)` once per database handle (a transaction is a handle of its own), remembered while
 * the handle lives: drizzle builds a prepared statement's SQL once, and postgres.js prepares it
 * once per connection.
 */
export function perHandle<T>(make: (db: Queryable) => T): (db: Queryable) => T {
  const made = new WeakMap<Queryable, T>();
  return (db) => {
    let found = made.get(db);
    if (found === undefined) made.set(db, (found = make(db)));
    return found;
  };
}
