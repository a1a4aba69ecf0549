//! Calls, their vendor references and legs, the event log, and the dedupe keys
//! of vendor deliveries.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("calls")
                    .if_not_exists()
                    .col(string("id").primary_key())
                    .col(string("direction"))
                    .col(string("provider"))
                    .col(string("status"))
                    .col(string_null("failure_reason"))
                    .col(text_null("status_detail"))
                    .col(string_null("vendor_status"))
                    .col(string_null("caller_phone"))
                    .col(string_null("caller_phone_key"))
                    .col(string_null("destination_phone"))
                    .col(string_null("destination_phone_key"))
                    .col(string_null("agent"))
                    .col(big_integer("started_at"))
                    .col(big_integer_null("scheduled_at"))
                    .col(big_integer("created_at"))
                    .col(big_integer("updated_at"))
                    // Vendor-specific call data (the CCAI call object), JSON text.
                    .col(text_null("vendor_data"))
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            ("idx_calls_started", &["started_at", "id"][..]),
            ("idx_calls_agent", &["agent", "started_at"][..]),
            ("idx_calls_caller_key", &["caller_phone_key"][..]),
            ("idx_calls_destination_key", &["destination_phone_key"][..]),
        ] {
            let mut index = Index::create();
            index.name(name).table("calls").if_not_exists();
            for column in columns {
                index.col(*column);
            }
            manager.create_index(index.to_owned()).await?;
        }

        // The correlation index: one vendor id names exactly one call.
        manager
            .create_table(
                Table::create()
                    .table("call_refs")
                    .if_not_exists()
                    .col(string("vendor"))
                    .col(string("kind"))
                    .col(string("value"))
                    .col(string("call_id"))
                    .col(big_integer("created_at"))
                    .primary_key(Index::create().col("vendor").col("kind").col("value"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_call_refs_call")
                            .from("call_refs", "call_id")
                            .to("calls", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_call_refs_call")
                    .table("call_refs")
                    .col("call_id")
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("call_legs")
                    .if_not_exists()
                    .col(string("call_id"))
                    .col(string("kind"))
                    .col(string_null("focalscope_call_id"))
                    .col(string_null("call_uuid"))
                    .col(string_null("last_event"))
                    .col(integer_null("last_event_code"))
                    // Vendor time order of the latest event, so a late
                    // callback does not overwrite a newer one.
                    .col(big_integer_null("last_event_at"))
                    .col(boolean("recorded"))
                    .col(big_integer("updated_at"))
                    .primary_key(Index::create().col("call_id").col("kind"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_call_legs_call")
                            .from("call_legs", "call_id")
                            .to("calls", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        // The durable log every stream reads. `sequence` is assigned in commit
        // order (see store::WriteTx).
        manager
            .create_table(
                Table::create()
                    .table("call_events")
                    .if_not_exists()
                    .col(big_pk_auto("sequence"))
                    .col(string("call_id"))
                    .col(string_null("agent"))
                    .col(string("kind"))
                    .col(text("payload"))
                    .col(big_integer("occurred_at"))
                    .col(big_integer("received_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_call_events_call")
                            .from("call_events", "call_id")
                            .to("calls", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_call_events_call", "call_id"),
            ("idx_call_events_agent", "agent"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table("call_events")
                        .col(column)
                        .col("sequence")
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }

        // Keys of vendor deliveries already stored; pruned after
        // webhooks.dedupe_retention_hours.
        manager
            .create_table(
                Table::create()
                    .table("dedupe_keys")
                    .if_not_exists()
                    .col(string("key").primary_key())
                    .col(big_integer_null("sequence"))
                    .col(big_integer("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_dedupe_keys_created")
                    .table("dedupe_keys")
                    .col("created_at")
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "dedupe_keys",
            "call_events",
            "call_legs",
            "call_refs",
            "calls",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
