/*
 * Live subscribers for the benchmark, a process of its own (bench.ts starts it, so their sockets
 * and JSON parsing are not the bench's nor the server's): one graphql-ws connection per subscriber,
 * signed in as its person (connection_init) and subscribed to feedChanged. When told ("go" on
 * stdin), it publishes the plan's posts over HTTP at a fixed rate (open-loop: each at its time,
 * whatever became of the ones before) and measures each post's delivery to each subscriber: from
 * the receipt of its publishPost (the commit, as a client sees it) to the feedChanged ADDED message
 * with its id, both on this process's clock.
 *
 *   node --import tsx scripts/bench/subscribers.ts PLAN.json     (written by live.ts; see Plan below)
 *
 * stdout, one JSON object a line: {"type":"ready",...} once every connection is acknowledged and
 * its subscription sent (the server says when it has registered them: server.ts "stats"), then
 * {"type":"receipt",...} per post, then {"type":"done",...} when every expected message came or
 * `waitMs` after the last receipt. It exits when stdin closes.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { FEED_SUBSCRIPTION, MUTATIONS, percentile } from './common.ts';

export interface Plan {
  /** http://127.0.0.1:PORT/graphql */
  url: string;
  /** One token per subscriber (a person may subscribe more than once). */
  subscribers: string[];
  posts: { token: string; body: string }[];
  /** Posts per second. */
  rate: number;
  /** Messages each post should bring (subscribers who may see it): the wait ends when all came. */
  expected: number[];
  /** How long to wait after the last receipt for the messages still expected. */
  waitMs: number;
  /** Connections being opened at once. */
  connectConcurrency: number;
}

export interface Ready {
  type: 'ready';
  connected: number;
  failed: number;
  firstError: string | null;
  connectSeconds: number;
}
export interface Receipt {
  type: 'receipt';
  index: number;
  postId: string;
  /** Epoch milliseconds (fractional): comparable with another process's on this machine. */
  at: number;
}
export interface Done {
  type: 'done';
  posted: number;
  postErrors: number;
  firstPostError: string | null;
  postSeconds: number;
  messages: number;
  expected: number;
  p50: number;
  p99: number;
  max: number;
  /** Per post: messages received and the latency of the last one (ms). */
  perPost: { messages: number; lastMs: number }[];
  subscriptionErrors: number;
  firstSubscriptionError: string | null;
}

const plan = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Plan;
const emit = (line: Ready | Receipt | Done) => process.stdout.write(JSON.stringify(line) + '\n');
const now = () => performance.timeOrigin + performance.now();

// -------------------------------------------------------------------------------------------------
// 1. Connect and subscribe, a window of connections at a time.
// -------------------------------------------------------------------------------------------------
const wsUrl = plan.url.replace(/^http/, 'ws');
const clients: Client[] = [];
/** Message arrival times per post id: a message may come before its post's receipt. */
const arrivals = new Map<string, number[]>();
let subscriptionErrors = 0;
let firstSubscriptionError: string | null = null;
const subscriptionError = (message: string) => {
  subscriptionErrors++;
  firstSubscriptionError ??= message;
};

function connect(token: string): Promise<string | null> {
  return new Promise((resolve) => {
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
      lazy: true,
      // The first of these settles the promise; a close before the acknowledgement is a failure.
      on: {
        connected: () => resolve(null),
        error: (error) => resolve(error instanceof Error ? error.message : String(error)),
        closed: (event) => resolve(`closed ${(event as { code?: number; reason?: string }).code ?? ''} ${(event as { reason?: string }).reason ?? ''}`.trim()),
      },
    });
    clients.push(client);
    client.subscribe<{ feedChanged: { kind: string; postId: string } }>(
      { query: FEED_SUBSCRIPTION },
      {
        next: ({ data, errors }) => {
          if (errors?.length) return subscriptionError(errors[0]!.message);
          const change = data?.feedChanged;
          if (change?.kind !== 'ADDED') return; // entries trimmed from full feeds leave as REMOVED
          const at = now();
          const list = arrivals.get(change.postId);
          if (list) list.push(at);
          else arrivals.set(change.postId, [at]);
        },
        error: (error) => subscriptionError(error instanceof Error ? error.message : JSON.stringify(error)),
        complete: () => {},
      },
    );
  });
}

const connectStarted = performance.now();
let connected = 0;
let failed = 0;
let firstError: string | null = null;
{
  let next = 0;
  const worker = async () => {
    while (next < plan.subscribers.length) {
      const error = await connect(plan.subscribers[next++]!);
      if (error === null) connected++;
      else {
        failed++;
        firstError ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(plan.connectConcurrency, plan.subscribers.length) }, worker));
}
emit({ type: 'ready', connected, failed, firstError, connectSeconds: (performance.now() - connectStarted) / 1000 });

// -------------------------------------------------------------------------------------------------
// 2. On "go": publish at the plan's rate, note each receipt, wait for the messages.
// -------------------------------------------------------------------------------------------------
const receipts: (Receipt | null)[] = plan.posts.map(() => null);
let postErrors = 0;
let firstPostError: string | null = null;

async function publish(index: number): Promise<void> {
  const { token, body } = plan.posts[index]!;
  try {
    const response = await fetch(plan.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: MUTATIONS.publishPost, variables: { input: { body } } }),
    });
    const answer = (await response.json()) as { data?: { publishPost?: { aggregateId: string } }; errors?: { message: string }[] };
    const at = now();
    const postId = answer.data?.publishPost?.aggregateId;
    if (!postId) throw new Error(`HTTP ${response.status}: ${answer.errors?.[0]?.message ?? 'no receipt'}`);
    receipts[index] = { type: 'receipt', index, postId, at };
    emit(receipts[index]);
  } catch (error) {
    postErrors++;
    firstPostError ??= (error as Error).message;
  }
}

async function run(): Promise<void> {
  const started = performance.now();
  const sent: Promise<void>[] = [];
  for (let i = 0; i < plan.posts.length; i++) {
    const due = started + (i * 1000) / plan.rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    sent.push(publish(i));
  }
  await Promise.all(sent);
  const postSeconds = (performance.now() - started) / 1000;

  const expectedTotal = plan.expected.reduce((n, e, i) => n + (receipts[i] ? e : 0), 0);
  const received = () => receipts.reduce((n, r) => n + (r ? (arrivals.get(r.postId)?.length ?? 0) : 0), 0);
  const until = performance.now() + plan.waitMs;
  while (received() < expectedTotal && performance.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));

  const latencies: number[] = [];
  const perPost = receipts.map((r) => {
    const times = r ? (arrivals.get(r.postId) ?? []) : [];
    for (const t of times) latencies.push(t - r!.at);
    return { messages: times.length, lastMs: times.length ? Math.max(...times) - r!.at : NaN };
  });
  latencies.sort((a, b) => a - b);
  emit({
    type: 'done',
    posted: receipts.filter(Boolean).length,
    postErrors,
    firstPostError,
    postSeconds,
    messages: latencies.length,
    expected: expectedTotal,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? NaN,
    perPost,
    subscriptionErrors,
    firstSubscriptionError,
  });
}

createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (line === 'go') run().catch((error: unknown) => process.stderr.write(`subscribers: ${(error as Error).stack}\n`));
  })
  .on('close', () => {
    for (const client of clients) void client.dispose();
    process.exit(0);
  });
