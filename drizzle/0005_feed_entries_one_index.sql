DROP INDEX "read"."feed_entries_reader_idx";--> statement-breakpoint
ALTER TABLE "read"."feed_entries" DROP CONSTRAINT "feed_entries_reader_id_post_id_pk";--> statement-breakpoint
ALTER TABLE "read"."feed_entries" ADD CONSTRAINT "feed_entries_reader_id_created_at_post_id_pk" PRIMARY KEY("reader_id","created_at","post_id");