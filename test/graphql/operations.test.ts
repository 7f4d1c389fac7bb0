import { describe, expect, it } from 'vitest';
import { useTestApp } from '../support/app.ts';

const t = useTestApp();

/*
 * A document may hold several operations, and the request names the one to run (GraphiQL's
 * example document holds five). The same text arrives as the same parsed document (Yoga's parse
 * cache), so anything kept per document must still run the operation that was asked for.
 */
describe('documents with several operations', () => {
  const DOCUMENT = `
    query Who { me { handle } }
    query Type { __typename }
    mutation Publish { publishPost(input: { body: "from a document of three" }) { aggregateId } }`;

  const run = async (operationName: string, token: string, method: 'POST' | 'GET' = 'POST') => {
    const url = new URL('http://wall.test/graphql');
    const headers = { authorization: `Bearer ${token}`, accept: 'application/graphql-response+json, application/json', 'content-type': 'application/json' };
    if (method === 'GET') {
      url.searchParams.set('query', DOCUMENT);
      url.searchParams.set('operationName', operationName);
      return t.app.yoga.fetch(url, { method, headers });
    }
    return t.app.yoga.fetch(url, { method, headers, body: JSON.stringify({ query: DOCUMENT, operationName }) });
  };

  it('run the operation named in each request, whichever ran before', async () => {
    const ann = await t.register();
    await t.settle();
    for (const name of ['Type', 'Who', 'Type', 'Who']) {
      const body = await (await run(name, ann.token)).json();
      expect(body.data).toEqual(name === 'Who' ? { me: { handle: ann.handle } } : { __typename: 'Query' });
    }
  });

  it('never run a mutation for a query asked over GET, even after that mutation ran on the same document', async () => {
    const ann = await t.register();
    const published = await (await run('Publish', ann.token)).json();
    expect(published.errors).toBeUndefined();
    await t.settle();
    const before = await t.writeDigest();
    const response = await run('Who', ann.token, 'GET');
    expect(await response.json()).toMatchObject({ data: { me: { handle: ann.handle } } });
    expect(await t.writeDigest()).toEqual(before);
  });
});
