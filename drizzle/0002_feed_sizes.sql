CREATE TABLE "read"."feed_sizes" (
	"reader_id" uuid PRIMARY KEY NOT NULL,
	"entries" integer NOT NULL
);
--> statement-breakpoint
INSERT INTO "read"."feed_sizes" ("reader_id", "entries") SELECT "reader_id", count(*) FROM "read"."feed_entries" GROUP BY "reader_id" ON CONFLICT DO NOTHING;
