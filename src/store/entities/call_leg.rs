use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "call_legs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub call_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: String,
    pub focalscope_call_id: Option<String>,
    pub call_uuid: Option<String>,
    pub last_event: Option<String>,
    pub last_event_code: Option<i32>,
    pub last_event_at: Option<i64>,
    pub recorded: bool,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
