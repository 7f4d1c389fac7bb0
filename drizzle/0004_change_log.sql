CREATE TABLE "read"."changes" (
	"seq" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "read"."changes_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"position" bigint NOT NULL,
	"kind" text NOT NULL,
	"post_id" uuid,
	"wall_id" uuid,
	"reader_id" uuid
);
--> statement-breakpoint
CREATE INDEX "changes_post_idx" ON "read"."changes" USING btree ("post_id","seq") WHERE reader_id is null;--> statement-breakpoint
CREATE INDEX "changes_wall_idx" ON "read"."changes" USING btree ("wall_id","seq") WHERE reader_id is null;--> statement-breakpoint
CREATE INDEX "changes_reader_idx" ON "read"."changes" USING btree ("reader_id","seq") WHERE reader_id is not null;