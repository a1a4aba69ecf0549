//! `call_refs.superseded_by`: a vendor id that a vendor handed out again for
//! a different call (a FocalScope `RequestID` after a PBX restart or counter
//! wrap) stays owned by its first call, and points at the newest call that
//! reused it, so the vendor's later callbacks reach that one. See
//! `store::calls::supersede`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("call_refs")
                    .add_column(ColumnDef::new("superseded_by").string().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("call_refs")
                    .drop_column("superseded_by")
                    .to_owned(),
            )
            .await
    }
}
