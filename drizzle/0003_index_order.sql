DROP INDEX "read"."comments_post_idx";--> statement-breakpoint
DROP INDEX "read"."feed_entries_reader_idx";--> statement-breakpoint
DROP INDEX "read"."friend_requests_to_idx";--> statement-breakpoint
DROP INDEX "read"."friends_user_since_idx";--> statement-breakpoint
DROP INDEX "read"."posts_wall_idx";--> statement-breakpoint
DROP INDEX "read"."posts_author_idx";--> statement-breakpoint
CREATE INDEX "comments_post_idx" ON "read"."comments" USING btree ("post_id","created_at" DESC NULLS FIRST,"comment_id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "feed_entries_reader_idx" ON "read"."feed_entries" USING btree ("reader_id","created_at" DESC NULLS FIRST,"post_id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "friend_requests_to_idx" ON "read"."friend_requests" USING btree ("to_user_id","created_at" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "friends_user_since_idx" ON "read"."friends" USING btree ("user_id","since" DESC NULLS FIRST,"friend_id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "posts_wall_idx" ON "read"."posts" USING btree ("wall_owner_id","created_at" DESC NULLS FIRST,"post_id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "posts_author_idx" ON "read"."posts" USING btree ("author_id","created_at" DESC NULLS FIRST);