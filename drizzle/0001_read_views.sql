CREATE TABLE "read"."comments" (
	"comment_id" uuid PRIMARY KEY NOT NULL,
	"post_id" uuid NOT NULL,
	"author_id" uuid NOT NULL,
	"body" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "read"."feed_entries" (
	"reader_id" uuid NOT NULL,
	"post_id" uuid NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "feed_entries_reader_id_post_id_pk" PRIMARY KEY("reader_id","post_id")
);
--> statement-breakpoint
CREATE TABLE "read"."friend_requests" (
	"to_user_id" uuid NOT NULL,
	"from_user_id" uuid NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "friend_requests_to_user_id_from_user_id_pk" PRIMARY KEY("to_user_id","from_user_id")
);
--> statement-breakpoint
CREATE TABLE "read"."friends" (
	"user_id" uuid NOT NULL,
	"friend_id" uuid NOT NULL,
	"since" timestamp with time zone NOT NULL,
	CONSTRAINT "friends_user_id_friend_id_pk" PRIMARY KEY("user_id","friend_id")
);
--> statement-breakpoint
CREATE TABLE "read"."likes" (
	"post_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	CONSTRAINT "likes_post_id_user_id_pk" PRIMARY KEY("post_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "read"."posts" (
	"post_id" uuid PRIMARY KEY NOT NULL,
	"author_id" uuid NOT NULL,
	"wall_owner_id" uuid NOT NULL,
	"body" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"edited_at" timestamp with time zone,
	"like_count" integer DEFAULT 0 NOT NULL,
	"comment_count" integer DEFAULT 0 NOT NULL,
	"latest_comments" jsonb DEFAULT '[]'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE INDEX "comments_post_idx" ON "read"."comments" USING btree ("post_id","created_at" DESC NULLS LAST,"comment_id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "feed_entries_reader_idx" ON "read"."feed_entries" USING btree ("reader_id","created_at" DESC NULLS LAST,"post_id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "feed_entries_post_idx" ON "read"."feed_entries" USING btree ("post_id");--> statement-breakpoint
CREATE INDEX "friend_requests_to_idx" ON "read"."friend_requests" USING btree ("to_user_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "friends_user_since_idx" ON "read"."friends" USING btree ("user_id","since" DESC NULLS LAST,"friend_id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "posts_wall_idx" ON "read"."posts" USING btree ("wall_owner_id","created_at" DESC NULLS LAST,"post_id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "posts_author_idx" ON "read"."posts" USING btree ("author_id","created_at" DESC NULLS LAST);