import { describe, expect, it } from 'vitest';
import { Loader } from '../../src/graphql/loader.ts';

/** A loader over a value per key that the test changes, counting the batches it runs. */
function versioned() {
  const values = new Map<string, number>([['a', 1], ['b', 1]]);
  const batches: string[][] = [];
  const loader = new Loader<string, number>(async (keys) => {
    batches.push([...keys]);
    const read = keys.map((k) => values.get(k)!);
    await new Promise((r) => setTimeout(r, 5));
    return read;
  });
  return { values, batches, loader };
}

describe('Loader', () => {
  it('batches what it does not hold, then answers from memory without a promise', async () => {
    const { batches, loader } = versioned();
    const [a, b] = [loader.load('a'), loader.load('b')];
    expect(a).toBeInstanceOf(Promise);
    expect(await Promise.all([a, b])).toEqual([1, 1]);
    expect(batches).toEqual([['a', 'b']]);
    expect(loader.load('a')).toBe(1);
    loader.prime('c', 7);
    expect(loader.load('c')).toBe(7);
    expect(loader.peek('c')).toBe(7);
    expect(() => loader.peek('d')).toThrow(/nothing is held/);
  });

  it('does not hold a value whose load was in flight when its key was cleared', async () => {
    const { values, loader } = versioned();
    const stale = loader.load('a');
    await new Promise((r) => setTimeout(r, 1)); // the batch has read 1 and is in flight
    loader.clear('a');
    values.set('a', 2);
    expect(await stale).toBe(1);
    expect(await loader.load('a')).toBe(2);
    expect(loader.load('a')).toBe(2);
  });

  it('loadAll loads the keys it does not hold in one batch', async () => {
    const { batches, loader } = versioned();
    loader.prime('a', 5);
    await loader.loadAll(['a', 'b']);
    expect(batches).toEqual([['b']]);
    expect([loader.load('a'), loader.load('b')]).toEqual([5, 1]);
  });
});
