//! The dedupe key of a vendor delivery moves onto the event it became
//! (`call_events.dedupe_key`, UNIQUE), replacing the `dedupe_keys` table.
//!
//! One row then holds the claim and the event, so a webhook's claim, insert
//! and sequence are one `INSERT … ON CONFLICT (dedupe_key) DO NOTHING
//! RETURNING sequence` instead of an insert into each table and an update of
//! the first (see `store::events`). Retention clears the key (the event stays
//! in the log); a partial index over the events that still carry one keeps
//! that hourly sweep from reading the whole log.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        manager
            .alter_table(
                Table::alter()
                    .table("call_events")
                    .add_column(ColumnDef::new("dedupe_key").string().null())
                    .to_owned(),
            )
            .await?;
        if manager.has_table("dedupe_keys").await? {
            // Keys still within their retention keep protecting their event.
            db.execute_unprepared(
                "UPDATE call_events SET dedupe_key = \
                 (SELECT d.key FROM dedupe_keys d WHERE d.sequence = call_events.sequence) \
                 WHERE sequence IN (SELECT sequence FROM dedupe_keys WHERE sequence IS NOT NULL)",
            )
            .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_call_events_dedupe_key")
                    .table("call_events")
                    .col("dedupe_key")
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        // Same syntax on SQLite and PostgreSQL; sea-query's index builder has
        // no partial indexes.
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS idx_call_events_dedupe_received \
             ON call_events (received_at) WHERE dedupe_key IS NOT NULL",
        )
        .await?;
        manager
            .drop_table(Table::drop().table("dedupe_keys").if_exists().to_owned())
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("dedupe_keys")
                    .if_not_exists()
                    .col(ColumnDef::new("key").string().not_null().primary_key())
                    .col(ColumnDef::new("sequence").big_integer().null())
                    .col(ColumnDef::new("created_at").big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO dedupe_keys (key, sequence, created_at) \
             SELECT dedupe_key, sequence, received_at FROM call_events WHERE dedupe_key IS NOT NULL",
        )
        .await?;
        db.execute_unprepared("DROP INDEX IF EXISTS idx_call_events_dedupe_received")
            .await?;
        db.execute_unprepared("DROP INDEX IF EXISTS idx_call_events_dedupe_key")
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("call_events")
                    .drop_column("dedupe_key")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
