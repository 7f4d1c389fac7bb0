CREATE TABLE "read"."feed_sizes" (
	"reader_id" uuid PRIMARY KEY NOT NULL,
	"entries" integer NOT NULL
);
