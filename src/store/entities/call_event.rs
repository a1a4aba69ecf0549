use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "call_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub sequence: i64,
    pub call_id: String,
    pub agent: Option<String>,
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub occurred_at: i64,
    pub received_at: i64,
    /// The vendor delivery this event came from (UNIQUE; cleared after the
    /// retention).
    pub dedupe_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
