import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { printSchemaSDL, schema } from '../../src/graphql/schema.ts';

describe('schema.graphql', () => {
  it('is the printed Pothos schema (run `npm run schema:print` after changing the schema)', async () => {
    const committed = await readFile(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(printSchemaSDL());
  });

  it('keeps the public names of API.md', () => {
    const mutation = schema.getMutationType()!.getFields();
    for (const name of [
      'registerUser', 'updateProfile', 'sendFriendRequest', 'acceptFriendRequest', 'declineFriendRequest', 'removeFriend',
      'publishPost', 'editPost', 'deletePost', 'addComment', 'deleteComment', 'likePost', 'unlikePost',
    ]) {
      const field = mutation[name];
      expect(field, name).toBeDefined();
      expect(String(field!.type)).toBe('CommandReceipt!');
      expect(field!.args.map((a) => `${a.name}: ${String(a.type)}`).sort()).toEqual([
        'idempotencyKey: String',
        `input: ${name[0]!.toUpperCase()}${name.slice(1)}Input!`,
      ]);
    }
    expect(String(mutation['signIn']!.type)).toBe('Session!');
    const subscription = schema.getSubscriptionType()!.getFields();
    const signature = (name: string) => {
      const field = subscription[name]!;
      // Arguments are named, so their order is not part of the contract.
      return `${name}(${field.args.map((a) => `${a.name}: ${String(a.type)}`).sort().join(', ')}): ${String(field.type)}`;
    };
    expect(['wallChanged', 'feedChanged', 'postChanged'].map(signature)).toEqual([
      'wallChanged(since: String, userId: ID!): PostChange!',
      'feedChanged(since: String): PostChange!',
      'postChanged(postId: ID!, since: String): PostChange!',
    ]);
    const change = schema.getType('PostChange') as import('graphql').GraphQLObjectType;
    expect(Object.values(change.getFields()).map((f) => `${f.name}: ${String(f.type)}`).sort()).toEqual([
      'cursor: String!',
      'kind: ChangeKind!',
      'position: String!',
      'post: Post',
      'postId: ID!',
    ]);
    const kinds = schema.getType('ChangeKind') as import('graphql').GraphQLEnumType;
    expect(kinds.getValues().map((v) => v.name).sort()).toEqual(['ADDED', 'REMOVED', 'UPDATED']);
    const query = schema.getQueryType()!.getFields();
    expect(String(query['me']!.type)).toBe('User!');
    expect(String(query['user']!.type)).toBe('User');
  });

  it('describes every type, field and argument', () => {
    const missing: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__') || ['String', 'Int', 'Float', 'Boolean', 'ID'].includes(type.name)) continue;
      if (!type.description) missing.push(type.name);
      if ('getFields' in type) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
          for (const arg of 'args' in field ? field.args : []) if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});
