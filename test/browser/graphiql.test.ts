import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { useTestApp, type Person } from '../support/app.ts';
import { editorText, launchChromium, replaceEditorText, waitFor, waitForEditorText, watchPage, type PageWatch } from './support.ts';

/**
 * GraphiQL at /graphql, driven in headless Chromium as a person would use it: the docs, the
 * example operations, signing in, the token in the Headers tab, the feed, and a live wall over
 * WebSocket, against a real server (PGlite, or PostgreSQL with DATABASE_URL).
 */

/** `artifacts/` is git-ignored. */
const SCREENSHOT = resolve(import.meta.dirname, '../../artifacts/browser/graphiql-live.png');
/** Taken when the test fails, to see what GraphiQL showed. */
const FAILURE_SCREENSHOT = resolve(import.meta.dirname, '../../artifacts/browser/graphiql-failure.png');

const t = useTestApp({ livePollMs: 200 });
let url: string;
let browser: Browser | undefined;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;

beforeAll(async () => {
  const { port } = await t.app.listen(0, '127.0.0.1');
  url = `http://127.0.0.1:${port}/graphql`;
});

afterAll(async () => {
  await browser?.close();
});

/**
 * The result pane wraps long lines (a token, an id) onto several screen lines, and only screen
 * lines are in the page: results are compared with all white space left out.
 */
const compact = (text: string) => text.replace(/\s+/g, '');

/** Clicks the run button and waits for GraphiQL to POST the operation holding `marker` (GraphiQL sends it printed compactly). */
async function runOverHttp(marker: string, timeout = 10_000) {
  const wanted = compact(marker);
  const sent = page.waitForRequest((request) => request.method() === 'POST' && compact(request.postData() ?? '').includes(wanted), { timeout }).catch(() => {
    throw new Error(`Timed out after ${timeout} ms waiting for GraphiQL to send the operation with ${marker} to the server`);
  });
  await page.getByRole('button', { name: /^Execute query/ }).click();
  return sent;
}

/** Waits until the server's live hub has `n` subscribers (the subscription is registered). */
async function subscribers(n: number, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  while (t.app.live.size < n) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeout} ms waiting for GraphiQL's subscription to reach the server (${t.app.live.size} live subscribers)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('GraphiQL in a browser', () => {
  it('shows the schema and the examples, signs in, reads the feed with the token from the Headers tab, and follows a wall live over WebSocket', async () => {
    const started = Date.now();
    // Launched in the test, not in a hook: without Chromium the test fails (a failing hook would
    // show it as skipped).
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1500, height: 950 } });
    page = await context.newPage();
    watch = await watchPage(context, page);
    onTestFailed(async () => {
      mkdirSync(resolve(FAILURE_SCREENSHOT, '..'), { recursive: true });
      await page.screenshot({ path: FAILURE_SCREENSHOT, fullPage: true }).catch(() => undefined);
      console.log(`[graphiql] failed; screenshot: ${FAILURE_SCREENSHOT}`);
      console.log('[graphiql] page errors:', watch.pageErrors, 'console errors:', watch.consoleErrors, 'non-local requests:', watch.nonLocalRequests);
    });
    const step = (name: string) => console.log(`[graphiql] ${((Date.now() - started) / 1000).toFixed(1)} s: ${name}`);

    // 1. Data, through GraphQL: demo, a friend of demo's, and a post on the friend's wall.
    const demo: Person = await t.register('demo', 'Demo Person');
    const grace: Person = await t.register('grace', 'Grace Hopper');
    await t.befriend(demo, grace);
    const firstBody = `Compilers are friends (${process.pid})`;
    await t.command('publishPost', { body: firstBody }, grace.token);
    await t.settle();
    step('data prepared');

    // 2. GraphiQL renders from the server alone (a large inline bundle: give it time).
    const response = await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
    expect(response?.status(), 'GET /graphql from a browser').toBe(200);
    expect(await page.title()).toBe('Wall');
    const operationEditor = await waitFor(page.getByRole('region', { name: 'Operation Editor' }), "GraphiQL's operation editor", 60_000);
    const run = await waitFor(page.getByRole('button', { name: /^Execute query/ }), 'the run button');
    const result = page.getByRole('region', { name: 'Result Window' });
    const headers = page.getByRole('region', { name: 'Headers' });
    step('GraphiQL rendered');

    // The preloaded examples are in the editor, one tab named after the first operation.
    const examples = await waitForEditorText(operationEditor, 'the example operations in the editor', (text) => text.includes('subscription WatchWall'), 30_000);
    for (const name of ['mutation SignIn', 'mutation Register', 'query Feed', 'mutation Publish', 'subscription WatchWall']) expect(examples).toContain(name);
    await waitFor(page.getByRole('tab', { name: 'SignIn' }), 'the tab of the example operations');
    // The Headers tab starts with the token's place.
    await waitFor(page.getByRole('button', { name: 'Headers' }), 'the Headers tab').then((tab) => tab.click());
    expect(await waitForEditorText(headers, "the Headers tab's starting text", (text) => text.includes('Authorization'))).toContain('Bearer <token from SignIn>');

    // The docs explorer shows the schema (loaded by introspection from this server).
    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    const docs = await waitFor(page.locator('.graphiql-doc-explorer'), 'the documentation explorer');
    await waitFor(docs.getByText('Root Types'), 'the root types in the docs', 30_000);
    await waitFor(docs.getByRole('link', { name: 'Subscription' }), 'the Subscription root type in the docs');
    await docs.getByRole('link', { name: 'Query' }).first().click();
    await waitFor(docs.getByRole('link', { name: 'feed' }), 'the feed field under Query in the docs');
    await waitFor(docs.getByRole('link', { name: 'wall' }), 'the wall field under Query in the docs');
    await page.getByRole('button', { name: 'Hide Documentation Explorer' }).click();
    step('docs and examples seen');

    // 3. Sign in: a signIn mutation in the editor, run, the token read from the result pane.
    await replaceEditorText(page, operationEditor, 'mutation SignIn {\n  signIn(handle: "demo", password: "correct horse battery") { token user { id handle } }\n}', 'the operation editor');
    await runOverHttp('signIn(');
    const signedIn = compact(await waitForEditorText(result, 'the signIn result with a token', (text) => /"token":"[^"]+"/.test(compact(text))));
    const token = /"token":"([^"]+)"/.exec(signedIn)![1]!;
    expect(signedIn).toContain(`"id":"${demo.userId}"`);
    expect(await t.app.identity.tokens.verify(token), 'the token GraphiQL shows is demo\'s').toBe(demo.userId);
    step('signed in');

    // 4. The token in the Headers tab; the feed shows the friend's post.
    await replaceEditorText(page, headers, `{ "Authorization": "Bearer ${token}" }`, 'the Headers tab');
    await replaceEditorText(
      page,
      operationEditor,
      'query Feed {\n  feed(first: 10) { edges { node { body author { handle } } } }\n}',
      'the operation editor',
    );
    const feedRequest = await runOverHttp('feed(first: 10)');
    expect(feedRequest.headers()['authorization'], 'the Authorization header from the Headers tab').toBe(`Bearer ${token}`);
    const feed = compact(await waitForEditorText(result, "the feed with grace's post", (text) => compact(text).includes(compact(firstBody)), 20_000));
    expect(feed).toContain('"handle":"grace"');
    expect(feed).not.toContain('"errors"');
    step('feed read');

    // 5. A live wall: wallChanged in GraphiQL over WebSocket; another client publishes on that wall.
    await replaceEditorText(
      page,
      operationEditor,
      `subscription WatchWall {\n  wallChanged(userId: "${grace.userId}") {\n    kind postId position\n    post { body author { handle } }\n  }\n}`,
      'the operation editor',
    );
    const before = t.app.live.size;
    await run.click();
    await subscribers(before + 1);
    await waitFor(page.getByRole('button', { name: /^Stop/ }), 'the run button to turn into a stop button while the subscription runs');
    step('subscribed');

    const liveBody = `Live from another client at ${new Date().toISOString()}`;
    const published = await t.command('publishPost', { body: liveBody }, grace.token);
    const live = compact(
      await waitForEditorText(result, 'the new post to arrive in the result pane over the subscription', (text) => compact(text).includes(compact(liveBody)), 20_000),
    );
    expect(live).toContain('"kind":"ADDED"');
    expect(live).toContain(`"postId":"${published.aggregateId}"`);
    expect(live).toContain(`"position":"${published.position}"`);
    step('live post arrived');

    // The subscription went over GraphiQL's WebSocket, authenticated by the Headers tab.
    const socket = `ws://${new URL(url).host}/graphql`;
    expect(watch.webSockets, 'GraphiQL opened a WebSocket to this server').toContain(socket);
    const messages = watch.sentFrames.flatMap((f) => {
      try {
        return [JSON.parse(f.payload) as { type?: string; payload?: any }];
      } catch {
        return [];
      }
    });
    const subscribe = messages.find((m) => m.type === 'subscribe' && String(m.payload?.query).includes('wallChanged'));
    expect(subscribe, 'a graphql-ws subscribe message for wallChanged').toBeDefined();
    const init = messages.find((m) => m.type === 'connection_init');
    const sentToken = [JSON.stringify(subscribe!.payload.extensions ?? {}), JSON.stringify(init?.payload ?? {})].some((s) => s.includes(token));
    expect(sentToken, 'the token from the Headers tab went with the subscription').toBe(true);
    const route = JSON.stringify(subscribe!.payload.extensions ?? {}).includes(token) ? "the subscribe message's extensions.headers" : "connection_init's payload";
    console.log(`[graphiql] the subscription's token went in ${route}`);

    // 6. A screenshot of GraphiQL showing the live result.
    mkdirSync(resolve(SCREENSHOT, '..'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    const size = statSync(SCREENSHOT).size;
    expect(size, 'the screenshot is a real image').toBeGreaterThan(20_000);
    expect(readFileSync(SCREENSHOT).subarray(0, 8).toString('hex'), 'the screenshot is a PNG').toBe('89504e470d0a1a0a');
    console.log(`[graphiql] screenshot (${size} bytes): ${SCREENSHOT}`);

    // Stop the subscription from GraphiQL.
    await page.getByRole('button', { name: /^Stop/ }).click();
    await waitFor(page.getByRole('button', { name: /^Execute query/ }), 'the run button after stopping the subscription');
    for (const deadline = Date.now() + 10_000; t.app.live.size > before; await new Promise((r) => setTimeout(r, 50))) {
      if (Date.now() > deadline) throw new Error(`Timed out after 10000 ms waiting for the server to end the subscription GraphiQL stopped (${t.app.live.size} live subscribers)`);
    }
    step('done');

    // Nothing went wrong on the page, and nothing left this machine.
    expect(watch.nonLocalRequests, 'requests to hosts other than 127.0.0.1/localhost (GraphiQL must work offline)').toEqual([]);
    expect(watch.pageErrors, 'uncaught errors in the page').toEqual([]);
    expect(watch.consoleErrors, 'errors in the browser console').toEqual([]);
    expect(compact(await editorText(result))).toContain(compact(liveBody));
  });
});
