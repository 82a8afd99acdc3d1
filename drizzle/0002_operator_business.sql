CREATE TABLE "email_tokens" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"purpose" text NOT NULL,
	"email" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "payment_receipts" (
	"payment_id" text PRIMARY KEY NOT NULL,
	"recipients" integer DEFAULT 0 NOT NULL,
	"sent_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "request_log_daily" (
	"day" text NOT NULL,
	"account_id" text NOT NULL,
	"api_key_id" text DEFAULT '' NOT NULL,
	"model" text DEFAULT '' NOT NULL,
	"requests" bigint DEFAULT 0 NOT NULL,
	"failed" bigint DEFAULT 0 NOT NULL,
	"prompt_tokens" bigint DEFAULT 0 NOT NULL,
	"completion_tokens" bigint DEFAULT 0 NOT NULL,
	"total_tokens" bigint DEFAULT 0 NOT NULL,
	"price_micros" bigint DEFAULT 0 NOT NULL,
	"upstream_cost_micros" bigint DEFAULT 0 NOT NULL,
	"profit_micros" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "request_log_daily_day_account_id_api_key_id_model_pk" PRIMARY KEY("day","account_id","api_key_id","model")
);
--> statement-breakpoint
CREATE TABLE "upstream_customer_keys" (
	"account_id" text PRIMARY KEY NOT NULL,
	"provider" text DEFAULT 'openrouter' NOT NULL,
	"upstream_hash" text NOT NULL,
	"secret_enc" text NOT NULL,
	"limit_usd_micros" bigint,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "email_verified_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tariffs" ADD COLUMN "margin_rule" text;--> statement-breakpoint
ALTER TABLE "email_tokens" ADD CONSTRAINT "email_tokens_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "upstream_customer_keys" ADD CONSTRAINT "upstream_customer_keys_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "email_tokens_user_idx" ON "email_tokens" USING btree ("user_id","purpose");--> statement-breakpoint
CREATE INDEX "request_log_daily_account_idx" ON "request_log_daily" USING btree ("account_id","day");--> statement-breakpoint
CREATE INDEX "request_logs_negative_margin_idx" ON "request_logs" USING btree ("created_at") WHERE "request_logs"."profit_micros" < 0;