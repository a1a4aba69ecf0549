//! Index of idempotency records by call: GetDialStats finds the dials of a
//! time range through `calls.started_at` and must then tell, per call,
//! whether a `Dial:<request_id>` record completed with it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_idempotency_call")
                    .table("idempotency")
                    .col("call_id")
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_idempotency_call")
                    .table("idempotency")
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
