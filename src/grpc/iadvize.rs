//! What the services over iAdvize (AgentsService, StatsService) share: the
//! error when iAdvize is not configured, and the paging of iAdvize lists
//! behind AIP-158 page tokens.

use serde::{Deserialize, Serialize};

use super::paging;
use crate::{
    domain::{FieldViolation, Violations},
    error::Error,
    vendors::iadvize::{MAX_LIMIT, PageRequest},
};

/// iAdvize's own default page size.
const DEFAULT_PAGE_SIZE: u64 = 20;
const MAX_PAGE_SIZE: u64 = MAX_LIMIT as u64;

/// The answer of every iAdvize RPC (after its request was validated) when
/// `vendors.iadvize.api_key` is not set.
pub fn not_configured() -> Error {
    Error::NotConfigured {
        what: "the iAdvize REST API",
        key: "vendors.iadvize.api_key",
    }
}

/// A checked list request: its filter, the iAdvize page to read, and the
/// fingerprint its page tokens carry.
pub struct ListRequest<F> {
    pub filter: F,
    pub page: PageRequest,
    fingerprint: String,
}

impl<F: Serialize> ListRequest<F> {
    /// Checks `page_size` and `page_token` against `filter` (`None` when one
    /// of its fields was refused into `violations`), then answers every
    /// violation at once. `list` names the listing, so that a token of one
    /// list is refused by another.
    pub fn check(
        mut violations: Violations,
        list: &str,
        filter: Option<F>,
        page_size: i32,
        page_token: &str,
    ) -> Result<Self, Error> {
        let fingerprint = paging::fingerprint(&(list, &filter));
        let page = page_request(&mut violations, page_size, page_token, &fingerprint);
        let (filter, page) = violations.finish(crate::all_some!(filter, page))?;
        Ok(Self {
            filter,
            page,
            fingerprint,
        })
    }
}

impl<F> ListRequest<F> {
    /// The token of the page after this one; empty when iAdvize has none.
    pub fn next_page_token(&self, next_page: Option<u32>) -> String {
        next_page_token(next_page, self.page, &self.fingerprint)
    }
}

/// `pagination.count` as a list response's `total_size`: 0 when iAdvize
/// does not say, capped to what an int32 holds.
pub fn total_size(count: Option<i64>) -> i32 {
    count.map_or(0, |count| count.clamp(0, i32::MAX.into()) as i32)
}

/// Where the next page starts, inside a page token.
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    page: u32,
    limit: u32,
}

/// The iAdvize page to read: the token's when given (its page size is kept
/// for the whole listing), else the first with the requested size.
pub fn page_request(
    violations: &mut Violations,
    page_size: i32,
    page_token: &str,
    fingerprint: &str,
) -> Option<PageRequest> {
    let size = violations.check(paging::page_size(
        page_size,
        DEFAULT_PAGE_SIZE,
        MAX_PAGE_SIZE,
    ));
    let cursor = violations.check(paging::decode_token::<Cursor>(page_token, fingerprint))?;
    match cursor {
        Some(Cursor { page, limit }) if page >= 1 && (1..=MAX_LIMIT).contains(&limit) => {
            Some(PageRequest { page, limit })
        }
        Some(_) => {
            violations.push(FieldViolation::new(
                "page_token",
                "is not a token returned by this RPC (pass next_page_token as is)",
            ));
            None
        }
        None => size.map(|size| PageRequest {
            page: 1,
            limit: size as u32,
        }),
    }
}

/// The token of the page after `page`; empty when iAdvize has none.
pub fn next_page_token(next_page: Option<u32>, page: PageRequest, fingerprint: &str) -> String {
    next_page
        .map(|next| {
            paging::encode_token(
                &Cursor {
                    page: next,
                    limit: page.limit,
                },
                fingerprint,
            )
        })
        .unwrap_or_default()
}
