CREATE TABLE "balance_leases" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"instance_id" text NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"amount_micros" bigint NOT NULL,
	"granted_micros" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"closed_at" timestamp with time zone,
	CONSTRAINT "balance_leases_amount_nonneg" CHECK ("balance_leases"."amount_micros" >= 0)
);
--> statement-breakpoint
CREATE INDEX "balance_leases_open_expires_idx" ON "balance_leases" USING btree ("expires_at") WHERE "balance_leases"."status" = 'open';
