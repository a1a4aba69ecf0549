//! What StatsService reads from iAdvize: statistics, conversations,
//! transactions, satisfaction surveys and call meetings. A trait of its own
//! (the same client serves both): AgentsService and the availability
//! pollers need none of it.

use async_trait::async_trait;
use reqwest::Method;

use super::{
    IadvizeClient, Listed, PageRequest,
    records::{self, WireCallMeeting, WireConversation, WireSatisfaction, WireTransaction},
    statistic,
};
use crate::{
    domain::{
        conversation::{
            CallMeeting, CallMeetingFilter, Conversation, ConversationFilter, Satisfaction,
            SatisfactionFilter, Transaction, TransactionFilter,
        },
        statistic::{Statistics, StatisticsQuery},
    },
    vendors::VendorError,
};

/// The conversation path the doc asks for: `json-unicode` and
/// `formatHistory=0` give the history as a list of typed messages rather
/// than a formatted text.
const CONVERSATION_PATH: &str = "conversation.json-unicode";
const FORMAT_HISTORY: (&str, &str) = ("formatHistory", "0");

/// Lists are asked with every field (`full=1`), as the contract promises.
fn full() -> (String, String) {
    ("full".to_owned(), "1".to_owned())
}

#[async_trait]
pub trait IadvizeReports: Send + Sync {
    async fn statistics(&self, query: &StatisticsQuery) -> Result<Statistics, VendorError>;
    async fn list_conversations(
        &self,
        filter: &ConversationFilter,
        page: PageRequest,
    ) -> Result<Listed<Conversation>, VendorError>;
    async fn get_conversation(&self, id: i64) -> Result<Conversation, VendorError>;
    async fn list_transactions(
        &self,
        filter: &TransactionFilter,
        page: PageRequest,
    ) -> Result<Listed<Transaction>, VendorError>;
    async fn get_transaction(&self, id: i64) -> Result<Transaction, VendorError>;
    async fn list_satisfactions(
        &self,
        filter: &SatisfactionFilter,
        page: PageRequest,
    ) -> Result<Listed<Satisfaction>, VendorError>;
    async fn get_satisfaction(&self, id: i64) -> Result<Satisfaction, VendorError>;
    async fn list_call_meetings(
        &self,
        filter: &CallMeetingFilter,
        page: PageRequest,
    ) -> Result<Listed<CallMeeting>, VendorError>;
    async fn get_call_meeting(&self, id: i64) -> Result<CallMeeting, VendorError>;
}

#[async_trait]
impl IadvizeReports for IadvizeClient {
    async fn statistics(&self, query: &StatisticsQuery) -> Result<Statistics, VendorError> {
        let filters = statistic::statistics_filters(query, self.timezone);
        let answer = self.call(Method::GET, "statistic", &filters, None).await?;
        statistic::read_statistics(answer.data.as_ref(), query, self.timezone)
    }

    async fn list_conversations(
        &self,
        filter: &ConversationFilter,
        page: PageRequest,
    ) -> Result<Listed<Conversation>, VendorError> {
        let mut query = vec![(FORMAT_HISTORY.0.to_owned(), FORMAT_HISTORY.1.to_owned())];
        query.extend(records::conversation_filters(filter, self.timezone));
        query.push(full());
        self.list(CONVERSATION_PATH, query, page, |c: WireConversation| {
            c.into_domain(self.timezone)
        })
        .await
    }

    async fn get_conversation(&self, id: i64) -> Result<Conversation, VendorError> {
        let query = [(FORMAT_HISTORY.0.to_owned(), FORMAT_HISTORY.1.to_owned())];
        let conversation: WireConversation = self
            .get(&format!("{CONVERSATION_PATH}/{id}"), &query)
            .await?;
        Ok(conversation.into_domain(self.timezone))
    }

    async fn list_transactions(
        &self,
        filter: &TransactionFilter,
        page: PageRequest,
    ) -> Result<Listed<Transaction>, VendorError> {
        let mut query = records::transaction_filters(filter, self.timezone);
        query.push(full());
        self.list("transaction", query, page, |t: WireTransaction| {
            t.into_domain(self.timezone)
        })
        .await
    }

    async fn get_transaction(&self, id: i64) -> Result<Transaction, VendorError> {
        let transaction: WireTransaction = self.get(&format!("transaction/{id}"), &[]).await?;
        Ok(transaction.into_domain(self.timezone))
    }

    async fn list_satisfactions(
        &self,
        filter: &SatisfactionFilter,
        page: PageRequest,
    ) -> Result<Listed<Satisfaction>, VendorError> {
        let mut query = records::satisfaction_filters(filter, self.timezone);
        query.push(full());
        self.list("satisfaction", query, page, |s: WireSatisfaction| {
            s.into_domain(self.timezone)
        })
        .await
    }

    async fn get_satisfaction(&self, id: i64) -> Result<Satisfaction, VendorError> {
        let satisfaction: WireSatisfaction = self.get(&format!("satisfaction/{id}"), &[]).await?;
        Ok(satisfaction.into_domain(self.timezone))
    }

    async fn list_call_meetings(
        &self,
        filter: &CallMeetingFilter,
        page: PageRequest,
    ) -> Result<Listed<CallMeeting>, VendorError> {
        let mut query = records::call_meeting_filters(filter, self.timezone);
        query.push(full());
        self.list("callmeeting", query, page, |m: WireCallMeeting| {
            m.into_domain(self.timezone)
        })
        .await
    }

    async fn get_call_meeting(&self, id: i64) -> Result<CallMeeting, VendorError> {
        let meeting: WireCallMeeting = self.get(&format!("callmeeting/{id}"), &[]).await?;
        Ok(meeting.into_domain(self.timezone))
    }
}
