ALTER TABLE "request_logs" ALTER COLUMN "prompt_tokens" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "request_logs" ALTER COLUMN "completion_tokens" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "request_logs" ALTER COLUMN "cached_tokens" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "request_logs" ALTER COLUMN "reasoning_tokens" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "request_logs" ALTER COLUMN "total_tokens" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "holds" ADD COLUMN "progress_prompt_tokens" integer;--> statement-breakpoint
ALTER TABLE "holds" ADD COLUMN "progress_completion_tokens" integer;--> statement-breakpoint
ALTER TABLE "holds" ADD COLUMN "progress_at" timestamp with time zone;