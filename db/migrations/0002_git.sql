CREATE TABLE "git_commits" (
	"app_id" text NOT NULL,
	"sha" text NOT NULL,
	"tree" text NOT NULL,
	"parents" text[] DEFAULT '{}'::text[] NOT NULL,
	CONSTRAINT "git_commits_app_id_sha_pk" PRIMARY KEY("app_id","sha")
);
--> statement-breakpoint
CREATE TABLE "git_objects" (
	"app_id" text NOT NULL,
	"sha" text NOT NULL,
	"pack_id" bigint NOT NULL,
	"type" text NOT NULL,
	"offset" bigint NOT NULL,
	"end" bigint NOT NULL,
	CONSTRAINT "git_objects_app_id_sha_pk" PRIMARY KEY("app_id","sha")
);
--> statement-breakpoint
CREATE TABLE "git_webhooks" (
	"app_id" text PRIMARY KEY NOT NULL,
	"secret" text NOT NULL,
	"clone_url" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "git_commits" ADD CONSTRAINT "git_commits_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "git_objects" ADD CONSTRAINT "git_objects_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "git_objects" ADD CONSTRAINT "git_objects_pack_id_git_packs_id_fk" FOREIGN KEY ("pack_id") REFERENCES "public"."git_packs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "git_webhooks" ADD CONSTRAINT "git_webhooks_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "git_objects_pack_offset_idx" ON "git_objects" USING btree ("pack_id","offset");