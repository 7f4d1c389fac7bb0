DROP INDEX "read"."feed_entries_post_idx";--> statement-breakpoint
DROP INDEX "read"."posts_author_idx";