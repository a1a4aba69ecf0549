//! Schema migrations, run at `serve` start and by `switchboard migrate`. The
//! same migrations serve SQLite and PostgreSQL.
//!
//! Times are stored as Unix microseconds (BIGINT) rather than as the backends'
//! own timestamp types: both backends then compare, sort and page them the
//! same way (SQLite keeps timestamps as text, whose order depends on the
//! format a driver writes).

use sea_orm_migration::prelude::*;

mod m20261123_000001_call_log;
mod m20261123_000002_idempotency;
mod m20261124_000003_idempotency_call_index;
mod m20261202_000004_event_dedupe_key;
mod m20261202_000005_ref_superseded_by;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_call_log::Migration),
            Box::new(m20261123_000002_idempotency::Migration),
            Box::new(m20261124_000003_idempotency_call_index::Migration),
            Box::new(m20261202_000004_event_dedupe_key::Migration),
            Box::new(m20261202_000005_ref_superseded_by::Migration),
        ]
    }
}
