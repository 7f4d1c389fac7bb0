/*
 * A set-based builder of the views from the event log, for the benchmark only: what the projector
 * (src/read/views/*.ts) leaves after applying every event up to a position, computed with a few
 * large statements instead of event by event. It knows only the events the bench world holds
 * (registrations, accepted friend requests, posts, comments, likes; no edits, deletes, declines or
 * removals) and refuses a log with anything else. world.ts --check proves it leaves the same rows
 * as the real projector, table by table.
 *
 * Why it exists: the real projector applies a few hundred events per second at best on this
 * machine, so a full-size world (about a million events) would take hours event by event; the
 * projector's own rate is still measured, on the whole log of a small world and on the tail of the
 * full one (world.ts --views sql --tail N).
 */
import type postgres from 'postgres';
import { feedSlack } from '../../src/read/views/feed.ts';

const HANDLED = ['UserRegistered', 'FriendRequestSent', 'FriendRequestAccepted', 'PostPublished', 'CommentAdded', 'PostLiked'];
/** The view tables this builder fills; a view table it does not know makes it refuse (see viewTables). */
const KNOWN_TABLES = ['profiles', 'friends', 'friend_requests', 'posts', 'comments', 'likes', 'feed_entries', 'feed_sizes', 'checkpoints', 'changes'];
/**
 * Tables this builder leaves empty and diffViews does not compare: the live change log (its rows
 * depend on how the projector cut the log into batches, and only subscribers who resume read it;
 * a set-based build starts it empty, as a rebuilt projection would), and with it the change log's
 * trim mark in checkpoints (the row 'change-log-trimmed'; only the 'views' row is compared).
 */
const NOT_BUILT = ['changes'];

/** The tables of the live `read` schema, checked against what this builder knows how to fill. */
export async function viewTables(pg: postgres.Sql): Promise<string[]> {
  const rows = await pg<{ name: string }[]>`
    select table_name as name from information_schema.tables where table_schema = 'read' and table_type = 'BASE TABLE' order by 1`;
  const tables = rows.map((r) => r.name);
  const unknown = tables.filter((t) => !KNOWN_TABLES.includes(t));
  const missing = KNOWN_TABLES.filter((t) => !tables.includes(t));
  if (unknown.length || missing.length) {
    throw new Error(`views-sql.ts is out of date with the read schema (unknown: ${unknown.join(', ') || '-'}; missing: ${missing.join(', ') || '-'})`);
  }
  return tables;
}

/** Empty copies of the read views (same columns, types and indexes) in `schema`. */
export async function createViewCopies(pg: postgres.Sql, schema: string) {
  await pg.unsafe(`drop schema if exists ${schema} cascade; create schema ${schema};`);
  for (const t of await viewTables(pg)) await pg.unsafe(`create table ${schema}.${t} (like read.${t} including all)`);
}

/**
 * Fills the (empty) view tables in `schema` with what the projector would hold after applying
 * every event at or below position `upTo`, and sets the checkpoint to it.
 */
export async function buildViews(pg: postgres.Sql, schema: string, upTo: string, feedLimit: number, say: (line: string) => void) {
  await viewTables(pg);
  const upto = `'${BigInt(upTo).toString()}'::xid8`;
  const ev = `(select * from write.events where tx_id <= ${upto})`;
  const types = await pg.unsafe<{ type: string }[]>(`select distinct type from write.events where tx_id <= ${upto}`);
  const unknown = types.map((r) => r.type).filter((t) => !HANDLED.includes(t));
  if (unknown.length) throw new Error(`views-sql handles only ${HANDLED.join(', ')}; the log holds ${unknown.join(', ')}`);

  await pg.unsafe(`set work_mem = '256MB'`);
  const step = async (what: string, statement: string) => {
    const started = performance.now();
    const result = await pg.unsafe(statement);
    say(`  views (sql): ${what}: ${result.count ?? 0} rows in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  };

  await step(
    'profiles',
    `insert into ${schema}.profiles (user_id, handle, display_name, friend_count, post_count)
     select (u.data->>'userId')::uuid, u.data->>'handle', u.data->>'displayName',
            coalesce(f.n, 0), coalesce(p.n, 0)
     from ${ev} u
     left join (select id, count(*)::int n from (
                  select (data->>'fromUserId')::uuid id from ${ev} a where type = 'FriendRequestAccepted'
                  union all select (data->>'toUserId')::uuid from ${ev} a where type = 'FriendRequestAccepted') s group by id) f
       on f.id = (u.data->>'userId')::uuid
     left join (select (data->>'authorId')::uuid id, count(*)::int n from ${ev} p where type = 'PostPublished' group by 1) p
       on p.id = (u.data->>'userId')::uuid
     where u.type = 'UserRegistered'`,
  );
  await step(
    'friends',
    `insert into ${schema}.friends (user_id, friend_id, since)
     select (data->>'fromUserId')::uuid, (data->>'toUserId')::uuid, occurred_at from ${ev} e where type = 'FriendRequestAccepted'
     union all
     select (data->>'toUserId')::uuid, (data->>'fromUserId')::uuid, occurred_at from ${ev} e where type = 'FriendRequestAccepted'`,
  );
  await step(
    'friend_requests',
    `insert into ${schema}.friend_requests (to_user_id, from_user_id, created_at)
     select (s.data->>'toUserId')::uuid, (s.data->>'fromUserId')::uuid, s.occurred_at from ${ev} s
     where s.type = 'FriendRequestSent'
       and not exists (select 1 from ${ev} a where a.type = 'FriendRequestAccepted' and a.aggregate_id = s.aggregate_id and a.version > s.version)`,
  );
  await step(
    'comments',
    `insert into ${schema}.comments (comment_id, post_id, author_id, body, created_at)
     select (data->>'commentId')::uuid, (data->>'postId')::uuid, (data->>'authorId')::uuid, data->>'body', occurred_at
     from ${ev} e where type = 'CommentAdded'`,
  );
  await step(
    'likes',
    `insert into ${schema}.likes (post_id, user_id)
     select (data->>'postId')::uuid, (data->>'userId')::uuid from ${ev} e where type = 'PostLiked'`,
  );
  await step(
    'posts',
    `insert into ${schema}.posts (post_id, author_id, wall_owner_id, body, created_at, edited_at, like_count, comment_count, latest_comments)
     select (p.data->>'postId')::uuid, (p.data->>'authorId')::uuid, (p.data->>'wallOwnerId')::uuid, p.data->>'body', p.occurred_at, null,
            coalesce(l.n, 0), coalesce(c.n, 0), coalesce(lc.latest, '[]'::jsonb)
     from ${ev} p
     left join (select post_id, count(*)::int n from ${schema}.likes group by 1) l on l.post_id = (p.data->>'postId')::uuid
     left join (select post_id, count(*)::int n from ${schema}.comments group by 1) c on c.post_id = (p.data->>'postId')::uuid
     left join (
       select post_id, jsonb_agg(jsonb_build_object('commentId', comment_id, 'authorId', author_id, 'body', body,
                                                    'createdAt', to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
                                 order by created_at desc, comment_id desc) as latest
       from (select c.*, row_number() over (partition by post_id order by created_at desc, comment_id desc) rn from ${schema}.comments c) r
       where rn <= 3 group by post_id) lc on lc.post_id = (p.data->>'postId')::uuid
     where p.type = 'PostPublished'`,
  );
  // The feed of feed.ts for every reader at once: the readers fanOut() gives each post (its author;
  // its wall's owner; the author's friends who are friends of the wall's owner, which on one's own
  // wall is every friend), on the friend graph as of `upTo`, then the newest `feedLimit` per reader,
  // as the trim keeps them. Without removals this is also what recompute() gives a reader.
  await step(
    'feed_entries',
    `insert into ${schema}.feed_entries (reader_id, post_id, created_at)
     select reader_id, post_id, created_at from (
       select reader_id, post_id, created_at,
              row_number() over (partition by reader_id order by created_at desc, post_id desc) as rn
       from (
         select p.author_id as reader_id, p.post_id, p.created_at from ${schema}.posts p
         union
         select p.wall_owner_id, p.post_id, p.created_at from ${schema}.posts p
         union
         select f.friend_id, p.post_id, p.created_at
         from ${schema}.posts p join ${schema}.friends f on f.user_id = p.author_id
         where exists (select 1 from ${schema}.friends g where g.user_id = p.wall_owner_id and g.friend_id = f.friend_id)
       ) candidates
     ) ranked
     where rn <= ${feedLimit}`,
  );
  // Entries per reader, kept by fanOut/recompute for every reader they touched: everyone with an
  // entry, and both people of every accepted friendship (recompute writes a count even when 0).
  await step(
    'feed_sizes',
    `insert into ${schema}.feed_sizes (reader_id, entries)
     select r.reader_id, coalesce(n.entries, 0) from (
       select reader_id from ${schema}.feed_entries
       union select user_id from ${schema}.friends) r
     left join (select reader_id, count(*)::int entries from ${schema}.feed_entries group by 1) n using (reader_id)`,
  );
  await pg.unsafe(`insert into ${schema}.checkpoints (name, position, updated_at) values ('views', ${BigInt(upTo).toString()}, now())`);
  await pg.unsafe(`reset work_mem`);
}

/**
 * Rows in one schema's view tables and not in the other's (either way); empty when they agree.
 * Feeds are compared on what the rule fixes, the newest `feedLimit` entries of each: the projector
 * trims in steps (read/views/feed.ts), so a feed may also hold up to its slack of older ones,
 * which is checked apart.
 */
export async function diffViews(pg: postgres.Sql, a: string, b: string, feedLimit: number): Promise<string[]> {
  const differences: string[] = [];
  for (const t of await viewTables(pg)) {
    if (NOT_BUILT.includes(t)) continue;
    // The views' own checkpoint only: the change log's trim mark goes with the change log (NOT_BUILT).
    const cols = t === 'checkpoints' ? 'name, position' : t === 'feed_sizes' ? `reader_id, least(entries, ${feedLimit})` : '*';
    const rows = (schema: string) =>
      t === 'checkpoints'
        ? `(select * from ${schema}.${t} where name = 'views')`
        : t === 'feed_entries'
          ? `(select reader_id, post_id, created_at from (select *, row_number() over (partition by reader_id order by created_at desc, post_id desc) as n
               from ${schema}.feed_entries) ranked where n <= ${feedLimit})`
          : `${schema}.${t}`;
    const [row] = await pg.unsafe<{ ab: string; ba: string; n: string }[]>(
      `select (select count(*) from (select ${cols} from ${rows(a)} x except all select ${cols} from ${rows(b)} y) x)::text as ab,
              (select count(*) from (select ${cols} from ${rows(b)} x except all select ${cols} from ${rows(a)} y) x)::text as ba,
              (select count(*) from ${rows(a)} x)::text as n`,
    );
    if (row!.ab !== '0' || row!.ba !== '0') differences.push(`${t}: ${row!.ab} rows only in ${a}, ${row!.ba} only in ${b} (of ${row!.n})`);
  }
  for (const schema of [a, b]) {
    const [over] = await pg.unsafe<{ n: string }[]>(
      `select count(*)::text as n from (select reader_id from ${schema}.feed_entries group by 1 having count(*) > ${feedLimit + feedSlack(feedLimit)}) x`,
    );
    if (over!.n !== '0') differences.push(`feed_entries: ${over!.n} feeds in ${schema} hold more than the bound and its slack`);
  }
  return differences;
}

export async function truncateViews(pg: postgres.Sql, schema: string) {
  await pg.unsafe(`truncate ${(await viewTables(pg)).map((t) => `${schema}.${t}`).join(', ')}`);
}
