import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** The largest request body accepted, in bytes: a GraphQL request is an operation and its variables. */
export const MAX_REQUEST_BYTES = 1_000_000;

const refusal = (status: number, message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', http: { status } } });
const tooLarge = (limit: number) => refusal(413, `A request body may have at most ${limit} bytes.`);

/**
 * Refuses request bodies over `limit` bytes (413, BAD_USER_INPUT). Yoga's own limit pipes every
 * body through a TransformStream to count it, which cost a tenth of a feed page's server CPU
 * (stream plumbing, and an AbortError made per request). A body with a Content-Length cannot be
 * longer than it says (Node's HTTP parser reads exactly that many bytes), so the length is
 * checked up front; only a body without one (chunked) is counted as it arrives.
 */
export function useRequestBodyLimit(limit = MAX_REQUEST_BYTES): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      if (request.body == null || requestParser == null) return;
      const declared = request.headers.get('content-length');
      if (declared !== null) {
        if (!/^\d+$/.test(declared)) throw refusal(400, 'Content-Length must be a number of bytes.');
        if (Number(declared) > limit) throw tooLarge(limit);
        return;
      }
      setRequestParser(async (unmeasured) => {
        const body = await readAtMost(unmeasured, limit);
        return requestParser(new fetchAPI.Request(unmeasured.url, { method: unmeasured.method, headers: unmeasured.headers, signal: unmeasured.signal, body }));
      });
    },
  };
}

/** The body as text, or BAD_USER_INPUT (413) as soon as it passes `limit` bytes. */
async function readAtMost(request: Request, limit: number): Promise<string> {
  const reader = request.body!.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks).toString('utf8');
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
}
