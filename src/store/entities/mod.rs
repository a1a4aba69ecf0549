//! sea-orm entities, one per table. Only `store` uses them: the rest of the
//! crate sees domain types.

pub mod call;
pub mod call_event;
pub mod call_leg;
pub mod call_ref;
pub mod idempotency;
