//! Idempotency records of side-effecting RPCs (AIP-155 `request_id`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("idempotency")
                    .if_not_exists()
                    // "<rpc>:<request_id>".
                    .col(string("key").primary_key())
                    // Digest of the request's parameters: the same id with
                    // other parameters is refused.
                    .col(string("fingerprint"))
                    // pending (a request is in flight), done, failed.
                    .col(string("state"))
                    .col(string_null("call_id"))
                    // The gRPC code and message of a definitive refusal,
                    // replayed to retries.
                    .col(string_null("error_code"))
                    .col(text_null("error_message"))
                    .col(big_integer("created_at"))
                    .col(big_integer("updated_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("idempotency").if_exists().to_owned())
            .await
    }
}
