use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calls")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub direction: String,
    pub provider: String,
    pub status: String,
    pub failure_reason: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub status_detail: Option<String>,
    pub vendor_status: Option<String>,
    pub caller_phone: Option<String>,
    pub caller_phone_key: Option<String>,
    pub destination_phone: Option<String>,
    pub destination_phone_key: Option<String>,
    pub agent: Option<String>,
    pub started_at: i64,
    pub scheduled_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    #[sea_orm(column_type = "Text", nullable)]
    pub vendor_data: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
