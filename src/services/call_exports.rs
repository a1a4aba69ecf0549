//! Optico call exports (Data API): switchboard walks Optico's pages for the
//! client.
//!
//! `ExportCalls` streams: a task fetches page 1, 2, … and hands each page to
//! the gRPC stream through a bounded channel. It takes a free slot in the
//! channel *before* requesting a page, so it is never more than
//! [`PREFETCH_PAGES`] pages ahead of what the transport has taken from it;
//! when the client cancels, the channel closes and the task stops — also in
//! the middle of a page request, which is then abandoned. Each page is
//! requested once, in order (a page request may be retried inside the
//! adapter when it failed in a way that is safe to retry).
//!
//! How the stream ends is reported separately from the pages (a oneshot), so
//! an export never ends with OK unless it is complete: a vendor error, an
//! inconsistent answer or the server shutting down end it with an error even
//! when the page channel is full.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio_stream::{Stream, StreamExt, wrappers::ReceiverStream};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info};

use crate::{
    domain::Provider,
    error::{Error, Result},
    vendors::{
        VendorError,
        optico::data::{CallsQuery, DataPage, DayCount, ExportedCall, MAX_LIMIT, OpticoDataApi},
    },
};

/// Pages fetched ahead of what the gRPC transport has taken.
pub const PREFETCH_PAGES: usize = 2;

/// One page of an export, as sent to the client.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportPage {
    pub records: Vec<ExportedCall>,
    /// `total_results` of the first page, repeated on every page.
    pub total_results: i64,
    /// The Optico page, from 1.
    pub page: u32,
}

/// The per-day counts of a range, every page read.
#[derive(Debug, Clone, PartialEq)]
pub struct CallsByDay {
    /// Oldest first.
    pub days: Vec<DayCount>,
    pub calls: i64,
    pub duration_seconds: i64,
    pub revenue: f64,
}

/// Where a walk over Optico's pages stands: which page comes next, and how
/// many records came so far out of the total the first page announced.
#[derive(Debug)]
struct PageWalk {
    next: u32,
    delivered: i64,
    total: Option<i64>,
}

impl PageWalk {
    fn new() -> Self {
        Self {
            next: 1,
            delivered: 0,
            total: None,
        }
    }

    /// Takes page `self.next`'s answer; returns whether another page is
    /// needed. The walk ends once `total_results` records came (Optico may
    /// still name a next page: it would be empty). An answer that would make
    /// the walk skip or repeat a page, loop for ever, or end short of the
    /// total is an error: the client must never believe a partial export is
    /// complete.
    fn advance<T>(&mut self, page: &DataPage<T>) -> std::result::Result<bool, VendorError> {
        let current = self.next;
        let total = *self.total.get_or_insert(page.total_results);
        self.delivered += page.records.len() as i64;
        if self.delivered >= total {
            return Ok(false);
        }
        let short = |why: String| {
            VendorError::bad_response(
                Provider::Optico,
                format!(
                    "{why}, after {} of the {total} records it announced",
                    self.delivered
                ),
            )
        };
        match page.next_page {
            None => Err(short(format!("page {current} named no next page"))),
            Some(_) if page.records.is_empty() => Err(short(format!(
                "page {current} was empty although more records were announced"
            ))),
            Some(next) if next == i64::from(current) + 1 => {
                self.next = current + 1;
                Ok(true)
            }
            Some(next) => Err(short(format!(
                "page {current} named page {next} as the next one instead of {}",
                current + 1
            ))),
        }
    }
}

/// The Optico Data API side of switchboard.
#[derive(Clone)]
pub struct CallExports {
    optico: Option<Arc<dyn OpticoDataApi>>,
    /// Cancelled at shutdown: running exports end with a resumable error.
    shutdown: CancellationToken,
}

impl CallExports {
    pub fn new(optico: Option<Arc<dyn OpticoDataApi>>, shutdown: CancellationToken) -> Self {
        Self { optico, shutdown }
    }

    fn optico(&self) -> Result<Arc<dyn OpticoDataApi>> {
        self.optico.clone().ok_or(Error::NotConfigured {
            what: "the Optico Data API",
            key: "vendors.optico.data_api_key",
        })
    }

    /// Starts an export of `query`, `limit` records per page (already
    /// validated). The stream ends after the last page, or with an error.
    pub fn export(
        &self,
        query: CallsQuery,
        limit: u32,
    ) -> Result<impl Stream<Item = Result<ExportPage>> + Send + 'static> {
        let optico = self.optico()?;
        let (pages, pages_out) = mpsc::channel(PREFETCH_PAGES);
        let (end, end_out) = oneshot::channel();
        let shutdown = self.shutdown.clone();
        // In the RPC's span: its page requests belong to its trace.
        tokio::spawn(
            async move {
                let outcome = walk_export(optico.as_ref(), &query, limit, pages, &shutdown).await;
                // The client may be gone already: nobody to tell.
                let _ = end.send(outcome);
            }
            .instrument(tracing::Span::current()),
        );
        let end = futures::stream::once(async move {
            match end_out.await {
                Ok(Ok(())) => None,
                Ok(Err(error)) => Some(Err(error)),
                // The task ended without a word (it panicked, or the runtime
                // is stopping): the export is not known to be complete.
                Err(_) => Some(Err(Error::ShuttingDown(
                    "the export stopped before its end; run it again".to_owned(),
                ))),
            }
        })
        .filter_map(|end| end);
        Ok(ReceiverStream::new(pages_out).map(Ok).chain(end))
    }

    /// Every page of the per-day counts of `query`, with totals.
    pub async fn calls_by_day(&self, query: &CallsQuery) -> Result<CallsByDay> {
        let optico = self.optico()?;
        let mut walk = PageWalk::new();
        let mut days = Vec::new();
        loop {
            // The largest page Optico allows: a range rarely has more days.
            let page = optico.calls_by_day(query, walk.next, MAX_LIMIT).await?;
            let more = walk.advance(&page)?;
            days.extend(page.records);
            if !more {
                break;
            }
        }
        // Optico's order is expected oldest first; sorting makes it so (dates
        // are YYYY-MM-DD, so text order is date order).
        days.sort_by(|a, b| a.date.cmp(&b.date));
        Ok(CallsByDay {
            calls: days.iter().map(|d| d.calls).sum(),
            duration_seconds: days.iter().map(|d| d.duration_seconds).sum(),
            revenue: days.iter().map(|d| d.revenue).sum(),
            days,
        })
    }
}

/// Fetches and sends every page of an export (see the module docs). `Ok`
/// means complete, or that the client went away.
async fn walk_export(
    optico: &dyn OpticoDataApi,
    query: &CallsQuery,
    limit: u32,
    pages: mpsc::Sender<ExportPage>,
    shutdown: &CancellationToken,
) -> Result<()> {
    let mut walk = PageWalk::new();
    let shutting_down = |walk: &PageWalk| {
        Error::ShuttingDown(format!(
            "the server is shutting down; the export ended after {} records: run it again",
            walk.delivered
        ))
    };
    loop {
        // A slot first: a page is only requested when there is room for it.
        let slot = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return Err(shutting_down(&walk)),
            slot = pages.reserve() => match slot {
                Ok(slot) => slot,
                Err(_) => {
                    debug!(next_page = walk.next, "export cancelled by the client");
                    return Ok(());
                }
            },
        };
        let page_number = walk.next;
        let page = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return Err(shutting_down(&walk)),
            _ = pages.closed() => {
                debug!(page = page_number, "export cancelled by the client during a page request");
                return Ok(());
            }
            page = optico.calls(query, page_number, limit) => page?,
        };
        let more = walk.advance(&page);
        // The records of this page are valid even when the walk cannot go on.
        slot.send(ExportPage {
            records: page.records,
            total_results: walk.total.unwrap_or(page.total_results),
            page: page_number,
        });
        if !more? {
            info!(
                pages = page_number,
                records = walk.delivered,
                "optico call export complete"
            );
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(records: usize, total: i64, next_page: Option<i64>) -> DataPage<()> {
        DataPage {
            records: vec![(); records],
            total_results: total,
            next_page,
        }
    }

    #[test]
    fn walks_until_the_total_arrived() {
        let mut walk = PageWalk::new();
        assert!(walk.advance(&page(10, 25, Some(2))).unwrap());
        assert_eq!(walk.next, 2);
        assert!(walk.advance(&page(10, 25, Some(3))).unwrap());
        // The last page: a next_page after it is not followed.
        assert!(!walk.advance(&page(5, 25, Some(4))).unwrap());
        assert_eq!(walk.delivered, 25);
    }

    #[test]
    fn an_empty_export_is_one_page() {
        assert!(!PageWalk::new().advance(&page(0, 0, None)).unwrap());
    }

    #[test]
    fn refuses_answers_that_would_skip_repeat_loop_or_stop_short() {
        for (answer, says) in [
            (page(10, 25, Some(3)), "named page 3"),
            (page(10, 25, Some(1)), "named page 1"),
            (page(0, 25, Some(2)), "was empty"),
            (page(10, 25, None), "named no next page"),
        ] {
            let error = PageWalk::new().advance(&answer).unwrap_err();
            assert!(error.message.contains(says), "{}", error.message);
            assert!(
                error.message.contains("of the 25 records"),
                "{}",
                error.message
            );
        }
    }
}
