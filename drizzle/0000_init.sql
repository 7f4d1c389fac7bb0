CREATE SCHEMA "write";
--> statement-breakpoint
CREATE SCHEMA "read";
--> statement-breakpoint
CREATE TYPE "write"."friendship_status" AS ENUM('none', 'pending', 'accepted');--> statement-breakpoint
CREATE TABLE "write"."commands" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"actor_id" uuid,
	"scope" text NOT NULL,
	"idempotency_key" text,
	"fingerprint" text NOT NULL,
	"receipt" jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "write"."comments" (
	"id" uuid PRIMARY KEY NOT NULL,
	"post_id" uuid NOT NULL,
	"author_id" uuid NOT NULL,
	"body" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"version" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "write"."events" (
	"seq" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "write"."events_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"tx_id" "xid8" DEFAULT pg_current_xact_id() NOT NULL,
	"aggregate_type" text NOT NULL,
	"aggregate_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"type" text NOT NULL,
	"data" jsonb NOT NULL,
	"metadata" jsonb NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "write"."friendships" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_low" uuid NOT NULL,
	"user_high" uuid NOT NULL,
	"status" "write"."friendship_status" NOT NULL,
	"requested_by" uuid,
	"requested_at" timestamp with time zone,
	"accepted_at" timestamp with time zone,
	"version" integer NOT NULL,
	CONSTRAINT "friendships_ordered_pair" CHECK ("write"."friendships"."user_low" < "write"."friendships"."user_high")
);
--> statement-breakpoint
CREATE TABLE "write"."likes" (
	"post_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "likes_post_id_user_id_pk" PRIMARY KEY("post_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "write"."posts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"author_id" uuid NOT NULL,
	"wall_owner_id" uuid NOT NULL,
	"body" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"edited_at" timestamp with time zone,
	"version" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "write"."users" (
	"id" uuid PRIMARY KEY NOT NULL,
	"handle" text NOT NULL,
	"display_name" text NOT NULL,
	"password_hash" text NOT NULL,
	"friend_count" integer DEFAULT 0 NOT NULL,
	"version" integer NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "read"."checkpoints" (
	"name" text PRIMARY KEY NOT NULL,
	"position" bigint NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "read"."profiles" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"handle" text NOT NULL,
	"display_name" text NOT NULL,
	"friend_count" integer DEFAULT 0 NOT NULL,
	"post_count" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "write"."comments" ADD CONSTRAINT "comments_post_id_posts_id_fk" FOREIGN KEY ("post_id") REFERENCES "write"."posts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "write"."comments" ADD CONSTRAINT "comments_author_id_users_id_fk" FOREIGN KEY ("author_id") REFERENCES "write"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "write"."friendships" ADD CONSTRAINT "friendships_user_low_users_id_fk" FOREIGN KEY ("user_low") REFERENCES "write"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "write"."friendships" ADD CONSTRAINT "friendships_user_high_users_id_fk" FOREIGN KEY ("user_high") REFERENCES "write"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "write"."friendships" ADD CONSTRAINT "friendships_requested_by_users_id_fk" FOREIGN KEY ("requested_by") REFERENCES "write"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "write"."likes" ADD CONSTRAINT "likes_post_id_posts_id_fk" FOREIGN KEY ("post_id") REFERENCES "write"."posts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "write"."likes" ADD CONSTRAINT "likes_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "write"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "write"."posts" ADD CONSTRAINT "posts_author_id_users_id_fk" FOREIGN KEY ("author_id") REFERENCES "write"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "write"."posts" ADD CONSTRAINT "posts_wall_owner_id_users_id_fk" FOREIGN KEY ("wall_owner_id") REFERENCES "write"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "commands_idempotency_key" ON "write"."commands" USING btree ("scope","idempotency_key") WHERE "write"."commands"."idempotency_key" is not null;--> statement-breakpoint
CREATE INDEX "comments_post_idx" ON "write"."comments" USING btree ("post_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "events_aggregate_version_key" ON "write"."events" USING btree ("aggregate_id","version");--> statement-breakpoint
CREATE INDEX "events_tx_seq_idx" ON "write"."events" USING btree ("tx_id","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "friendships_pair_key" ON "write"."friendships" USING btree ("user_low","user_high");--> statement-breakpoint
CREATE INDEX "friendships_user_high_idx" ON "write"."friendships" USING btree ("user_high");--> statement-breakpoint
CREATE INDEX "posts_wall_owner_idx" ON "write"."posts" USING btree ("wall_owner_id","created_at");--> statement-breakpoint
CREATE INDEX "posts_author_idx" ON "write"."posts" USING btree ("author_id");--> statement-breakpoint
CREATE UNIQUE INDEX "users_handle_lower_key" ON "write"."users" USING btree (lower("handle"));--> statement-breakpoint
CREATE INDEX "profiles_handle_lower_idx" ON "read"."profiles" USING btree (lower("handle"));